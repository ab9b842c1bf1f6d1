#!/usr/bin/env bash
# CI image cache benchmark (docs/caching.md, image cache): a CI job on a fresh engine with the
# cache folder restored. A two-stage build whose dependency stage is slow
# (RUN sleep 8) and whose final stage copies from it and from src/.
#
#   seeds' recipe: docker load the final image saved by the last job;
#                  DOCKER_BUILDKIT=0 docker build --cache-from it; docker run
#                  the tests; docker save the final image into the cache.
#   dtask:         dtask test, with .dtask/ restored.
#
# "Fresh engine": every image the benchmark built is removed and the builder
# cache pruned before each measured run; the cache folders are kept. The
# fixture base image (debian:bookworm) stays, as a CI runner's pull would.
# Goals: no change <= 0.3x the recipe; one source change <= 0.5x.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
base="${BENCH_BASE:-debian:bookworm}"
tok="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d)"
seedtag="bench-ci/seed-$tok:latest"
apptag="bench-ci/app-$tok:test"

cleanup() {
  docker image ls -q --filter "label=dtask.bench=$tok" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^(bench-ci/.*-$tok|dtask-cache/app-$tok/)" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/dtask" ./cmd/dtask)
app="$work/app-$tok"
mkdir -p "$app/src" "$work/seedcache"
cat >"$app/Dockerfile" <<DOCKERFILE
FROM $base AS deps
LABEL dtask.bench=$tok
RUN sleep 8 && echo "dependencies $tok" > /deps.txt
FROM $base
LABEL dtask.bench=$tok
COPY --from=deps /deps.txt /deps.txt
COPY src/ /app/
CMD ["sh", "-c", "cat /app/main.txt /deps.txt"]
DOCKERFILE
echo "version 1" >"$app/src/main.txt"
cat >"$app/Taskfile.toml" <<TOML
version = 1
default = "test"
[targets.image]
build = { context = ".", tags = ["$apptag"] }
[targets.test]
deps = ["image"]
run = { image = "$apptag", cmd = ["sh", "-c", "cat /app/main.txt /deps.txt"] }
TOML

fresh() {
  docker image ls -q --filter "label=dtask.bench=$tok" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^(bench-ci/.*-$tok|dtask-cache/app-$tok/)" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker builder prune -af >/dev/null 2>&1 || true
}

recipe() {
  (
    cd "$app"
    if [ -f "$work/seedcache/app.tar" ]; then docker load -i "$work/seedcache/app.tar" >/dev/null; fi
    DOCKER_BUILDKIT=0 docker build -q --cache-from "$seedtag" -t "$seedtag" . >/dev/null 2>&1
    docker run --rm "$seedtag" >/dev/null
    docker save -o "$work/seedcache/app.tar" "$seedtag"
  )
}

dtaskrun() { (cd "$app" && "$work/dtask" --output plain test >"$work/dtask.log" 2>&1) || { cat "$work/dtask.log"; exit 1; }; }

now() { date +%s.%N; }
timeit() { local s e; s=$(now); "$@"; e=$(now); echo "$e - $s" | bc; }

echo "priming both caches (a first CI job)..."
recipe
dtaskrun

fresh; r0=$(timeit recipe)
fresh; d0=$(timeit dtaskrun)
grep -q "2 cached" "$work/dtask.log" || { echo "dtask did not find both targets cached:"; cat "$work/dtask.log"; }
echo "version 2" >"$app/src/main.txt"
fresh; r1=$(timeit recipe)
fresh; d1=$(timeit dtaskrun)
grep -q "version 2" "$work/dtask.log" || { echo "the dtask test did not see the change:"; cat "$work/dtask.log"; exit 1; }

printf '\n%-22s %10s %10s %8s %6s\n' "fresh engine" "recipe s" "dtask s" "ratio" "goal"
printf '%-22s %10.2f %10.2f %8.3f %6s\n' "no change" "$r0" "$d0" "$(echo "$d0 / $r0" | bc -l)" "0.3"
printf '%-22s %10.2f %10.2f %8.3f %6s\n' "one source change" "$r1" "$d1" "$(echo "$d1 / $r1" | bc -l)" "0.5"
echo
echo "dtask's cache:"; (cd "$app" && "$work/dtask" --cache list)
du -sh "$app/.dtask/images" "$work/seedcache" | sed 's/^/  /'
