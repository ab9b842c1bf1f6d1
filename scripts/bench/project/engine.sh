#!/usr/bin/env bash
# One engine's part of scripts/bench/project/run.sh (DOCKER_HOST, WORK,
# RUNS set): engine.sh NAME [PROJECT], PROJECT a folder beside this script
# (default shop) with a bench.sh saying what a change and a passing run
# are. Its last line is its result rows, ';'-separated.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../ci/lib.sh
source "$here/../ci/lib.sh"
name="$1" project="${2:-shop}"
tok="rp$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
dir="$WORK/$name-$tok"
proj="$dir/$project"
mkdir -p "$dir/recipe-cache"
cp -r "$here/$project" "$proj"
# shellcheck source=shop/bench.sh
source "$proj/bench.sh"
# The token names this bench's build cache records (the first RUN of each
# chain of steps, which every later step is built on) and images (a label).
find "$proj" -name Dockerfile -exec sed -i "s/@TOKEN@/$tok/g" {} +
git -C "$proj" init -q -b main
git -C "$proj" -c user.name=bench -c user.email=bench@localhost commit -q --allow-empty -m init
git -C "$proj" add -A
git -C "$proj" -c user.name=bench -c user.email=bench@localhost commit -q -m "the shop"

# Fresh engine: this bench's images and build cache records go; the base
# images stay (a CI runner's would be pulled or preinstalled), and so do
# the staging containers (staging is another machine) and their images.
fresh() {
  docker image ls -q --filter "label=org.opencontainers.image.vendor=$tok" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "(^|/)$tok-" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  prune_own_records "$tok"
}
cleanup() {
  docker ps -aq --filter "name=^$tok-" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker network ls -q --filter "name=^$tok-" | xargs -r docker network rm >/dev/null 2>&1 || true
  fresh
}
trap cleanup EXIT

# Each side has its own app name (images, registry repo, staging
# container) and staging port; a cold start takes a new name, so that its
# push finds no layer in the registry either.
port_of() { echo $((20000 + $(echo "$1" | cksum | cut -d' ' -f1) % 20000)); }
recipe() {
  (cd "$proj" && APP="$tok-r$1" STAGING_PORT="$(port_of "$tok-r$1")" CACHE="$dir/recipe-cache" ./ci.sh >"$dir/recipe.log" 2>&1) ||
    { cat "$dir/recipe.log" >&2; exit 1; }
}
# dtask's state folder is outside the checkout, so that the recipe's
# build context (and OLD's) does not hold it. -v: the image cache's
# phases, in the log LOGS keeps.
dtaskside() { # bin side app
  (cd "$proj" && APP="$tok-$2$3" STAGING_PORT="$(port_of "$tok-$2$3")" CI=true DTASK_CACHE_DIR="$dir/state-$2" \
    "$1" -v --output plain ci >"$dir/$2.log" 2>&1) || { cat "$dir/$2.log" >&2; exit 1; }
}
dtaskrun() { dtaskside "$WORK/dtask" d "$1"; }
oldrun() { dtaskside "$OLD" o "$1"; }
commit_change() { # one line of the app (bench.sh's change), a new commit
  (cd "$proj" && change "$1")
  git -C "$proj" -c user.name=bench -c user.email=bench@localhost commit -q -am "change $1"
}

check() { # case log
  if [ "$1" = same ] && [ "$2" != recipe ]; then
    grep -q "$ALL_CACHED" "$dir/$2.log" || { echo "$2 did not find every target cached:" >&2; tail -20 "$dir/$2.log" >&2; }
  else
    grep -q "$TESTS_RAN" "$dir/$2.log" || { echo "$2 ran no tests" >&2; cat "$dir/$2.log" >&2; exit 1; }
  fi
  [ -z "${LOGS:-}" ] || cp "$dir/$2.log" "$LOGS/$project-$name-$1-$3-$2.log"
}

measure() { # case: prints "recipe dtask old" medians (old "-" without OLD)
  local r=() d=() o=() i app sides
  for i in $(seq 1 "$RUNS"); do
    app="${2:-}"
    if [ "$1" = cold ]; then
      app="c$i"
      rm -rf "$dir/recipe-cache" "$dir/state-d" "$dir/state-o"
    fi
    [ "$1" != change ] || commit_change "$i"
    # Each side on a fresh engine, in an order that turns each time.
    sides=(recipe dtask); [ -z "${OLD:-}" ] || sides+=(old)
    sides=("${sides[@]:$((i % ${#sides[@]}))}" "${sides[@]:0:$((i % ${#sides[@]}))}")
    for side in "${sides[@]}"; do
      # A cold run starts without the staging containers too: with one
      # up, whose image holds the dependency step's snapshot, the
      # containerd engine kept that step's build cache record through
      # the prune, and only the first side of a cold round paid for it.
      [ "$1" != cold ] || docker ps -aq --filter "name=^$tok-" | xargs -r docker rm -f >/dev/null 2>&1 || true
      fresh
      case "$side" in
        recipe) r+=("$(timeit recipe "$app")"); check "$1" recipe "$i" ;;
        dtask) d+=("$(timeit dtaskrun "$app")"); check "$1" d "$i" ;;
        old) o+=("$(timeit oldrun "$app")"); check "$1" o "$i" ;;
      esac
    done
    echo "  $1 $i: recipe ${r[-1]}s, dtask ${d[-1]}s${OLD:+, old ${o[-1]}s}, load $(cut -d' ' -f1 /proc/loadavg)" >&2
  done
  local om=-
  [ -z "${OLD:-}" ] || om=$(printf '%s\n' "${o[@]}" | median)
  echo "$(printf '%s\n' "${r[@]}" | median) $(printf '%s\n' "${d[@]}" | median) $om"
}
ratio() { if [ "$1" = - ]; then echo -; else printf '%.3f' "$(echo "$1 / $2" | bc -l)"; fi; }
secs2() { if [ "$1" = - ]; then echo -; else printf '%.2f' "$1"; fi; }
row() { # name case recipe dtask old
  printf '%-20s %-10s %9.2f %9.2f %9.3f %9s %9s %9s' "$1" "$2" "$3" "$4" "$(ratio "$4" "$3")" 1.0 "$(secs2 "$5")" "$(ratio "$5" "$3")"
}

echo "base images: $(docker image inspect -f '{{.Id}}' debian:bookworm mariadb:10.11 redis:7 busybox | cut -c8-19 | paste -sd' ')" >&2
# Cold first: its last run leaves the cache folders the next cases restore
# (the same commit, app name c$RUNS).
read -r r0 d0 o0 < <(measure cold)
# The last cold round removed the staging container of the side that went
# first (so that the other side's start was cold too): put it back, as
# the last job on that branch left it, before timing no change.
restage() { # side-letter run-function
  [ -n "$(docker ps -q --filter "name=^$tok-$1c$RUNS-staging\$")" ] || "$2" "c$RUNS"
}
restage d dtaskrun
[ -z "${OLD:-}" ] || restage o oldrun
read -r r1 d1 o1 < <(measure same "c$RUNS")
read -r r2 d2 o2 < <(measure change "c$RUNS")
du -sh "$dir/state-d" "$dir/recipe-cache" 2>/dev/null | sed 's/^/  /' >&2
echo "$(row "$name" "cold start" "$r0" "$d0" "$o0");$(row "$name" "no change" "$r1" "$d1" "$o1");$(row "$name" "one change" "$r2" "$d2" "$o2")"
