#!/usr/bin/env bash
# CI image cache benchmark: a CI job on a fresh engine with the cache folder
# restored, on every engine of the matrix. A two-stage build whose
# dependency stage is slow (RUN sleep 8) and whose final stage copies from
# it and from src/.
#
#   seeds' recipe: docker load the image saved by the last job; docker build
#                  --cache-from it; docker run the tests; docker save it.
#   buildx:        docker buildx build with a local cache folder (mode=max),
#                  where the engine's docker driver can export cache (the
#                  containerd image store); "-" elsewhere.
#   dtask:         dtask test, with its cache folder (XDG_CACHE_HOME) and
#                  .dtask/ restored.
#
# "Fresh engine": every image the benchmark built is removed and its build
# cache records pruned before each measured run (only its own: tests and
# CI may use the same engines meanwhile); the cache folders are kept. The
# base image stays, as a CI runner's pull would. Each figure is the median
# of RUNS runs (default 3).
# Cases: no change and one source change (cache folders restored), and a
# cold start: a first CI job, fresh engine and every cache folder empty
# (dtask's .dtask/ and user cache folder, the recipe's saved archive,
# buildx's cache folder), each side saving what the next job would load.
# Goals: no change <= 0.07x the recipe; one source change <= 0.12x; cold
# start <= 1.0x.
# floor_s is one `docker run --rm` of the built image on that engine (the
# test alone), and fl_ratio its share of the recipe: a goal below it is
# below what the engine takes to run the test at all. efloor_s adds the
# build of the one changed step with every other step in the engine's own
# build cache (buildx, no cache import): what the engine takes for the
# whole job at best.
#
# OLD=binary times an older dtask beside the new one (each with cache
# folders of its own, in turn on a fresh engine): old_s, old_ratio.
#
# Engines: the machine's (DOCKER_HOST as set), and those scripts/engines.sh
# reports up (or ENGINES="name=DOCKER_HOST ..." to choose).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
RUNS="${RUNS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/dtask" ./cmd/dtask)

# shellcheck source=lib.sh
source "$here/lib.sh"
mapfile -t engines < <(bench_engines "$root")
buildx=""
if [ -x "$root/scripts/engines.sh" ]; then buildx="$("$root/scripts/engines.sh" buildx 2>/dev/null || true)"; fi

results=()
for spec in "${engines[@]}"; do
  name="${spec%%=*}" host="${spec#*=}"
  echo "=== engine $name (${host:-default})"
  # Not tee /dev/stderr: with stderr sent to a file, tee opens it again
  # from the start and writes over what came before (the rows of the
  # engines measured first).
  line=$(DOCKER_HOST="$host" BUILDX="$buildx" WORK="$work" RUNS="$RUNS" OLD="${OLD:-}" "$here/engine.sh" "$name" | tail -1)
  echo "$line" >&2
  results+=("$line")
done
echo; uptime
printf '%-20s %-10s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n' engine case recipe_s dtask_s ratio buildx_s bx_ratio goal floor_s fl_ratio efloor_s ef_ratio old_s old_ratio
for r in "${results[@]}"; do echo "$r" | tr ';' '\n'; done

# Each figure, with its buildx and floor figures, as rows of RESULTS
# (results.tsv's format: times in microseconds).
RESULTS="${RESULTS:-$root/scripts/bench/results.tsv}"
stamp="$(date -u +%Y-%m-%dT%H:%M:%SZ)" rev="$(git -C "$root" rev-parse --short HEAD)"
load="$(cut -d' ' -f1 /proc/loadavg)"
for r in "${results[@]}"; do
  echo "$r" | tr ';' '\n' | while read -r eng c1 c2 rec dt ratio bxs bxr goal fls flr efs efr olds oldr; do
    result_row "ci fresh-engine $c1 $c2, $eng, median of $RUNS, load $load (us)" "$dt" "$rec" "$ratio" "<= $goal"
    result_row "ci fresh-engine $c1 $c2, $eng, buildx local cache (us)" "$bxs" "$rec" "$bxr" -
    result_row "ci fresh-engine $c1 $c2, $eng, floor: one docker run --rm (us)" "$fls" "$rec" "$flr" -
    result_row "ci fresh-engine $c1 $c2, $eng, engine floor: warm one-step buildx build + docker run --rm (us)" "$efs" "$rec" "$efr" -
    result_row "ci fresh-engine $c1 $c2, $eng, old dtask ${OLD:-} beside (us)" "$olds" "$rec" "$oldr" -
  done
done
echo "(appended to $RESULTS)"
