#!/usr/bin/env bash
# A real project's pipeline beside its hand-written CI recipe.
# PROJECTS="shop hits" picks the projects (default shop). shop/ is a Python service over MariaDB and Redis with a multi-stage
# Dockerfile on debian:bookworm (its dependency stage installs Debian
# packages with apt), tests against both services, the app image built
# with a build arg, tagged branch-sha, pushed to the local registry and
# deployed to "staging" (a container on the same engine, replaced each
# time). hits/ is a shell service (busybox httpd CGI over Redis, archived
# to MariaDB) with no apt step: its services come from a compose file,
# one of them built (compose:cache), its tests run in a stage FROM
# mariadb:10.11, and its app image takes a build arg; its cold start
# measures the engines and dtask rather than a Debian mirror. Each
# project's Taskfile.toml was written from dtask's user docs only; ci.sh
# is the same pipeline as a CI shell script: docker run the services,
# docker build --cache-from the images it saved last time, docker run the
# tests, tag, push, replace the container, docker save. bench.sh says
# what one change is and what a passing run prints.
#
# Cases, each a CI job on a fresh engine (this bench's images and build
# cache records removed; base images and the staging containers stay,
# except before a cold start):
#   cold start  every cache folder empty (dtask's, the recipe's); each
#               side saves what the next job would restore
#   no change   the same commit again, cache folders restored
#   one change  a new commit that changes one line of the app
# dtask runs `dtask ci` with CI=true and DTASK_CACHE_DIR=.dtask (as the
# CI templates do). The recipe's `docker build` is BuildKit (buildx as the
# docker CLI plugin, from scripts/engines.sh buildx) where that is found,
# else the classic builder. The two sides take turns going first.
#
# The cold start's dependency stage downloads Debian packages: its time
# follows the mirror's speed, which swings by minutes between runs; use
# RUNS >= 3 and read the per-run lines. Each figure is the median of RUNS
# runs (default 3); ratio = dtask/recipe,
# goal <= 1.0 in every case. Rows go to scripts/bench/results.tsv.
# OLD=binary times an older dtask beside (its own state folder, app name
# and staging container; old_s, old_ratio). LOGS=folder keeps each run's
# log there (dtask's with -v: the image cache's phases).
# Engines: ENGINES="name=DOCKER_HOST ..." or the machine's and those
# scripts/engines.sh reports up. Needs the fixture images (debian:bookworm,
# mariadb:10.11, redis:7; hits: busybox too) on each engine, the local registry
# (scripts/fixtures/registry.sh start) and, for shop, apt access from containers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=../ci/lib.sh
source "$here/../ci/lib.sh"
RUNS="${RUNS:-3}"
REGISTRY="${REGISTRY:-127.0.0.1:5000}"
export REGISTRY
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/dtask" ./cmd/dtask)
"$root/scripts/fixtures/registry.sh" start >/dev/null

# `docker build` as a CI machine's docker CLI has it: BuildKit through the
# buildx plugin.
mkdir -p "$work/docker/cli-plugins"
if bx="$("$root/scripts/engines.sh" buildx 2>/dev/null)" && [ -x "$bx" ]; then
  ln -s "$bx" "$work/docker/cli-plugins/docker-buildx"
fi
export DOCKER_CONFIG="$work/docker"

mapfile -t engines < <(bench_engines "$root")
# A LOGS folder that does not exist yet is made, not found missing after
# the first measured run.
[ -z "${LOGS:-}" ] || mkdir -p "$LOGS"
results=()
for project in ${PROJECTS:-shop}; do
  for spec in "${engines[@]}"; do
    name="${spec%%=*}" host="${spec#*=}"
    echo "=== $project on engine $name (${host:-default})"
    line=$(DOCKER_HOST="$host" WORK="$work" RUNS="$RUNS" OLD="${OLD:-}" LOGS="${LOGS:-}" "$here/engine.sh" "$name" "$project" | tail -1)
    results+=("$project|$line")
  done
done
echo; uptime
printf '%-8s %-20s %-10s %9s %9s %9s %9s %9s %9s\n' project engine case recipe_s dtask_s ratio goal old_s old_ratio
for r in "${results[@]}"; do echo "${r#*|}" | tr ';' '\n' | sed "s/^/$(printf '%-8s ' "${r%%|*}")/"; done

RESULTS="${RESULTS:-$root/scripts/bench/results.tsv}"
stamp="$(date -u +%Y-%m-%dT%H:%M:%SZ)" rev="$(git -C "$root" rev-parse --short HEAD)"
load="$(cut -d' ' -f1 /proc/loadavg)"
for r in "${results[@]}"; do
  p="${r%%|*}"
  echo "${r#*|}" | tr ';' '\n' | while read -r eng c1 c2 rec dt ratio goal olds oldr; do
    result_row "project $p ci $c1 $c2, $eng, median of $RUNS, load $load (us)" "$dt" "$rec" "$ratio" "<= $goal"
    result_row "project $p ci $c1 $c2, $eng, old dtask ${OLD:-} beside (us)" "$olds" "$rec" "$oldr" -
  done
done
echo "(appended to $RESULTS)"
