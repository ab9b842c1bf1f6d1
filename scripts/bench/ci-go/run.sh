#!/usr/bin/env bash
# Go project CI bench: a Go module with 300 tests (20 packages x 15), some
# of which talk to a MariaDB service, after a one-line change.
#
#   recipe: what a hand-written CI script does on a warm machine: start
#           mariadb (docker run -p) and wait for it, `go test ./...` on the
#           host with warm Go caches, docker build, docker push, remove
#           mariadb. (The docker CLI here has no buildx, so its build is
#           the classic builder; dtask talks BuildKit to the engine's API.)
#   dtask:  `dtask ci`: the tests in a container (Debian's Go, the
#           fixture-built dtask-bench/golang image) with run.caches for the
#           Go build and module caches, the db service shared by the run,
#           the image build (overlapping the tests) and the push to the
#           local registry.
#
# Each side is warmed once, then RUNS (default 3) times a different line of
# one package changes before each measured run; medians and the ratio
# dtask/recipe are printed, with dtask's phases (from --output json): when
# the tests and the build ended, and the wait after the last target for the
# image cache's save into the user cache folder. Goal: <= 1.0x. Needs the
# local registry (scripts/fixtures/registry.sh start) and the fixture images
# mariadb:10.11 and debian:bookworm; the Go image is built here once if
# missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runs="${RUNS:-3}"
registry="${REGISTRY:-127.0.0.1:5000}"
goimg="dtask-bench/golang:bookworm"
tok="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d)"
app="$work/app"
db=""

cleanup() {
  [ -n "$db" ] && docker rm -f "$db" >/dev/null 2>&1 || true
  (cd "$app" 2>/dev/null && "$work/dtask" --cache clear >/dev/null 2>&1) || true
  # by ID: a tag moved by a later run leaves the earlier image untagged
  docker image ls --format '{{.Repository}} {{.ID}}' | awk -v t="$tok" '$1 ~ "bench-go-(r|d)-" t "$" {print $2}' |
    sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

docker image inspect "$goimg" >/dev/null 2>&1 ||
  docker build -q -t "$goimg" -f "$here/Dockerfile.golang" "$here" >/dev/null
(cd "$root" && go build -o "$work/dtask" ./cmd/dtask)
"$here/gen.sh" "$app" 20 15

cat >"$app/Dockerfile" <<DOCKERFILE
FROM $goimg AS build
COPY . /src
RUN go build -o /app ./cmd/app
FROM debian:bookworm
COPY --from=build /app /app
CMD ["/app"]
DOCKERFILE
printf '.dtask\nTaskfile.toml\n' >"$app/.dockerignore"
cat >"$app/Taskfile.toml" <<TOML
version = 1
[services.db]
image = "mariadb:10.11"
env   = { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD = "1" }
ready = { cmd = "mariadb-admin ping -h 127.0.0.1", interval = "100ms", timeout = "120s" }

[targets.test]
services = ["db"]
run = { image = "$goimg", workdir = "/src", volumes = ["./:/src"],
        env = { DB_ADDR = "db:3306", CGO_ENABLED = "0" }, caches = ["/root/.cache/go-build", "/go/pkg/mod"],
        cmd = ["go", "test", "./..."] }

[targets.image]
build = { context = ".", tags = ["$registry/bench-go-d-$tok:latest"] }

[targets.publish]
deps = ["test", "image"]
push = { image = "$registry/bench-go-d-$tok:latest", tags = ["$registry/bench-go-d-$tok:ci"] }

[targets.ci]
deps = ["publish"]
TOML

recipe() {
  db="$(docker run -d -e MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1 -p 127.0.0.1::3306 mariadb:10.11)"
  until docker exec "$db" mariadb-admin ping -h 127.0.0.1 >/dev/null 2>&1; do sleep 0.1; done
  local port
  port="$(docker port "$db" 3306/tcp | head -1 | sed 's/.*://')"
  (cd "$app" && CGO_ENABLED=0 DB_ADDR="127.0.0.1:$port" go test ./... >/dev/null)
  docker build -q -t "$registry/bench-go-r-$tok:latest" "$app" >/dev/null 2>&1
  docker push -q "$registry/bench-go-r-$tok:latest" >/dev/null
  docker rm -f "$db" >/dev/null
  db=""
}
dtask_ci() {
  (cd "$app" && "$work/dtask" --output json ci >"$work/dtask.json" 2>&1) || { cat "$work/dtask.json"; exit 1; }
}
# phases: seconds from the first event to the end of test, of image and of
# the last target, and to the summary (the wait between the last two is the
# image cache's save into the user cache folder).
phases() {
  jq -rs 'def t: .time | sub("\\.[0-9]+"; "") | fromdate;
    (map(select(.time)) | .[0] | t) as $t0
    | def at(f): (map(select(.time and f)) | last | t) - $t0;
    [at(.event == "finished" and .target == "test"), at(.event == "finished" and .target == "image"),
     at(.event == "finished"), at(.event == "summary")] | @tsv' "$work/dtask.json"
}

change() { # one line of one package, different each time and in each bench
  # run: the engine's build caches outlive a run, and a change seen before
  # would be a cache hit for one side only
  printf '\nfunc changed%s() int { return len("%s-%s") }\n' "$1" "$1" "$tok" >>"$app/pkg/p07/p07.go"
}

secs() { local s=$EPOCHREALTIME; "$@"; echo "$EPOCHREALTIME - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "warming up (first runs fill the Go caches and the image cache)"
recipe
dtask_ci
r=() d=()
for i in $(seq 1 "$runs"); do
  change "r$i"; r+=("$(secs recipe)")
  change "d$i"; d+=("$(secs dtask_ci)")
  read -r pt pi pl ps < <(phases)
  echo "run $i: recipe ${r[-1]}s, dtask ${d[-1]}s (test done at ${pt}s, image at ${pi}s, last target at ${pl}s, image cache save until ${ps}s)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
done
rm="$(printf '%s\n' "${r[@]}" | median)"
dm="$(printf '%s\n' "${d[@]}" | median)"
printf 'go project, one-line change (median of %d): recipe %.2fs  dtask ci %.2fs  ratio %.2fx (goal <= 1.0x)\n' \
  "$runs" "$rm" "$dm" "$(echo "$dm / $rm" | bc -l)"
