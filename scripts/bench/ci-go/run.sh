#!/usr/bin/env bash
# Go project CI bench: a Go module with 300 tests (20 packages x 15), some
# of which talk to a Redis service, after a one-line change.
#
#   recipe: what a hand-written CI script does on a warm machine: start
#           redis (docker run -p), `go test ./...` on the host with warm
#           Go caches, docker build, docker push, remove redis.
#   dtask:  `dtask ci`: the tests in a container (Debian's Go, the
#           fixture-built dtask-bench/golang image) with run.caches for the
#           Go build cache, the redis service shared by the run, the image
#           build and the push to the local registry.
#
# Each side is warmed once, then RUNS (default 3) times a different line of
# one package changes before each measured run; medians and the ratio
# dtask/recipe are printed. Goal: <= 1.0x. Needs the local registry
# (scripts/fixtures/registry.sh start) and the fixture images redis:7 and
# debian:bookworm; the Go image is built here once if missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runs="${RUNS:-3}"
registry="${REGISTRY:-127.0.0.1:5000}"
goimg="dtask-bench/golang:bookworm"
tok="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d)"
app="$work/app"
redis=""

cleanup() {
  [ -n "$redis" ] && docker rm -f "$redis" >/dev/null 2>&1 || true
  (cd "$app" 2>/dev/null && "$work/dtask" --cache clear >/dev/null 2>&1) || true
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "bench-go-(r|d)-$tok" | xargs -r docker rmi -f >/dev/null 2>&1 || true
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
printf '.dtask\nDockerfile\nTaskfile.toml\n' >"$app/.dockerignore"
cat >"$app/Taskfile.toml" <<TOML
version = 1
[services.kv]
image = "redis:7"
ready = { tcp = 6379 }

[targets.test]
services = ["kv"]
run = { image = "$goimg", workdir = "/src", volumes = ["./:/src"],
        env = { REDIS_ADDR = "kv:6379", CGO_ENABLED = "0" }, caches = ["/root/.cache/go-build"],
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
  redis="$(docker run -d -p 127.0.0.1::6379 redis:7)"
  until docker exec "$redis" redis-cli ping >/dev/null 2>&1; do sleep 0.1; done
  local port
  port="$(docker port "$redis" 6379/tcp | head -1 | sed 's/.*://')"
  (cd "$app" && CGO_ENABLED=0 REDIS_ADDR="127.0.0.1:$port" go test ./... >/dev/null)
  docker build -q -t "$registry/bench-go-r-$tok:latest" "$app" >/dev/null
  docker push -q "$registry/bench-go-r-$tok:latest" >/dev/null
  docker rm -f "$redis" >/dev/null
  redis=""
}
dtask_ci() { (cd "$app" && "$work/dtask" --output plain ci >"$work/dtask.log" 2>&1) || { cat "$work/dtask.log"; exit 1; }; }

change() { # one line of one package, different each time
  printf '\nfunc changed%s() int { return len("%s") }\n' "$1" "$1" >>"$app/pkg/p07/p07.go"
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
  echo "run $i: recipe ${r[-1]}s, dtask ${d[-1]}s"
done
rm="$(printf '%s\n' "${r[@]}" | median)"
dm="$(printf '%s\n' "${d[@]}" | median)"
printf 'go project, one-line change (median of %d): recipe %.2fs  dtask ci %.2fs  ratio %.2fx (goal <= 1.0x)\n' \
  "$runs" "$rm" "$dm" "$(echo "$dm / $rm" | bc -l)"
