#!/usr/bin/env bash
# One engine's part of scripts/bench/ci/run.sh (DOCKER_HOST set). Its last
# line is its result rows, ';'-separated.
set -euo pipefail
name="$1"
tok="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
dir="$WORK/$name-$tok"
base="${BENCH_BASE:-}"
if [ -z "$base" ]; then
  base=busybox:latest
  if docker image inspect debian:bookworm >/dev/null 2>&1; then base=debian:bookworm; fi
fi
seedtag="bench-ci/seed-$tok:latest"
apptag="bench-ci/app-$tok:test"
app="$dir/app-$tok" # its project name, in the image cache's names
export XDG_CACHE_HOME="$dir/xdg"
mkdir -p "$app/src" "$dir/seedcache" "$dir/bxcache"

# "Fresh engine" without touching what others build on the same engine
# (tests and CI run beside the benchmark): only this benchmark's images
# and build cache records go. Its records are those whose description
# names the token (the RUN steps of both stages) and every record built on
# one of them (see prune_own_records). The base image's record stays, as a
# CI runner's pulled base image would, and so do the records of the
# context transfers (a few hundred bytes here).
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fresh() {
  docker image ls -q --filter "label=dtask.bench=$tok" | sort -u | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^(bench-ci/.*-$tok|dtask-cache/app-$tok)" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  prune_own_records "$tok"
}
trap 'fresh; rm -rf "$dir"' EXIT

# The final stage's first step changes nothing in the image (BuildKit
# exports no empty layer) but names the token, so that the final stage's
# build cache records are found as built on it (see fresh).
cat >"$app/Dockerfile" <<DOCKERFILE
FROM $base AS deps
LABEL dtask.bench=$tok
RUN sleep 8 && echo "dependencies $tok" > /deps.txt
FROM $base
LABEL dtask.bench=$tok
RUN echo "bench $tok" >/dev/null
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

# The recipe's build: the classic builder's --cache-from of the loaded
# image, as the seeds wrote it. On the containerd image store that build
# fails ("failed to restore cached image ... InvalidArgument"), so there the
# recipe is the form that works: BuildKit with inline cache metadata and
# --cache-from (which that store ignores: every stage builds again).
# A failed build stops the benchmark: its time would be no recipe's.
containerd_store=""
if docker info --format '{{json .DriverStatus}}' | grep -q io.containerd.snapshotter; then containerd_store=1; fi
recipe_build() {
  if [ -n "$containerd_store" ]; then
    "$BUILDX" build -q --build-arg BUILDKIT_INLINE_CACHE=1 --cache-from "$seedtag" --load -t "$seedtag" . >"$dir/recipe.log" 2>&1
  else
    DOCKER_BUILDKIT=0 docker build -q --cache-from "$seedtag" -t "$seedtag" . >"$dir/recipe.log" 2>&1
  fi
}
recipe() {
  (
    cd "$app"
    if [ -f "$dir/seedcache/app.tar" ]; then docker load -i "$dir/seedcache/app.tar" >/dev/null; fi
    recipe_build || { echo "recipe: the build failed:" >&2; cat "$dir/recipe.log" >&2; touch "$dir/recipe.failed"; exit 1; }
    docker run --rm "$seedtag" >/dev/null
    docker save -o "$dir/seedcache/app.tar" "$seedtag"
  )
}

bx() {
  (
    cd "$app"
    "$BUILDX" build -q --cache-from "type=local,src=$dir/bxcache" --cache-to "type=local,dest=$dir/bxcache.new,mode=max" \
      --load -t "$seedtag-bx" . >/dev/null 2>&1
    rm -rf "$dir/bxcache" && mv "$dir/bxcache.new" "$dir/bxcache"
    docker run --rm "$seedtag-bx" >/dev/null
  )
}
buildx_ok=""
if [ -n "${BUILDX:-}" ] && [ -n "$containerd_store" ]; then buildx_ok=1; fi

# CI=true: a CI job, which waits at exit for its saves into the cache folder.
dtaskrun() { (cd "$app" && CI=true "$WORK/dtask" --output plain test >"$dir/dtask.log" 2>&1) || { cat "$dir/dtask.log" >&2; exit 1; }; }
# OLD=binary: an older dtask timed beside, in a copy of the project with
# cache folders of its own (the same Dockerfile and token).
old="$dir/old/$(basename "$app")"
if [ -n "${OLD:-}" ]; then mkdir -p "$dir/old" && cp -r "$app" "$old"; fi
oldrun() { (cd "$old" && XDG_CACHE_HOME="$dir/xdg-old" CI=true "$OLD" --output plain test >"$dir/old.log" 2>&1) || { cat "$dir/old.log" >&2; exit 1; }; }


echo "base $base; priming every cache (a first CI job)..." >&2
recipe
dtaskrun
[ -z "${OLD:-}" ] || oldrun
[ -z "$buildx_ok" ] || bx

# The engine's floor after a change: one `docker run --rm` of the image
# dtask built (the test alone, no build, no cache). A goal below
# floor/recipe cannot be met on this engine by any tool that runs the test
# in a container. (A no-change run need not run it: "-".)
floor() { docker run --rm "$apptag" >/dev/null; }
# The engine's whole floor after a change (efloor): the build of the one
# changed step with every other step in the engine's own build cache
# (warm: no cache import at all), through buildx, then the test's docker
# run --rm. No tool does less on a fresh engine. "-" without buildx.
efloor() {
  (cd "$app" && "$BUILDX" build -q -t "$apptag-floor" . >/dev/null 2>&1)
  docker run --rm "$apptag-floor" >/dev/null
}

# A cold run (a first CI job): every cache folder empty as well as the
# engine fresh; the recipe has nothing saved to load and saves afterwards.
cold() {
  rm -rf "$dir/seedcache" "$dir/bxcache" "$XDG_CACHE_HOME" "$app/.dtask" "$dir/xdg-old" "$old/.dtask"
  mkdir -p "$dir/seedcache" "$dir/bxcache"
}

measure() { # case: prints "recipe dtask buildx floor efloor old" medians
  local r=() d=() b=() f=() ef=() o=() i
  for i in $(seq 1 "$RUNS"); do
    if [ "$1" = cold ]; then
      echo "version cold.$i $RANDOM" >"$app/src/main.txt"
      [ -z "${OLD:-}" ] || cp "$app/src/main.txt" "$old/src/main.txt"
      cold
    fi
    if [ "$1" = change ]; then
      echo "version 2.$i $RANDOM" >"$app/src/main.txt"
      [ -z "${OLD:-}" ] || cp "$app/src/main.txt" "$old/src/main.txt"
    fi
    fresh; r+=("$(timeit recipe)")
    [ ! -e "$dir/recipe.failed" ] || exit 1
    if [ -n "$buildx_ok" ]; then fresh; b+=("$(timeit bx)"); fi
    # Old and new in turn, each on a fresh engine; which goes first
    # alternates, so that neither always follows the same work.
    if [ -n "${OLD:-}" ] && [ $((i % 2)) = 0 ]; then fresh; o+=("$(timeit oldrun)"); fi
    fresh; d+=("$(timeit dtaskrun)")
    if [ -n "${OLD:-}" ] && [ $((i % 2)) = 1 ]; then fresh; o+=("$(timeit oldrun)"); fi
    if [ "$1" = cold ] && ! grep -q "version cold.$i" "$dir/dtask.log"; then echo "the cold dtask test did not see its source:" >&2; cat "$dir/dtask.log" >&2; exit 1; fi
    if [ "$1" = change ]; then
      f+=("$(timeit floor)")
      if [ -n "${BUILDX:-}" ]; then echo "version 2.$i floor $RANDOM" >"$app/src/main.txt"; ef+=("$(timeit efloor)"); fi
    fi
    if [ "$1" = same ] && ! grep -q "2 cached" "$dir/dtask.log"; then echo "dtask did not find both targets cached:" >&2; cat "$dir/dtask.log" >&2; fi
    if [ "$1" = change ] && ! grep -q "version 2.$i" "$dir/dtask.log"; then echo "the dtask test did not see the change:" >&2; cat "$dir/dtask.log" >&2; exit 1; fi
    if [ "$1" = change ] && grep -q "RUN sleep 8" "$dir/dtask.log" && ! grep -A2 "RUN sleep 8" "$dir/dtask.log" | grep -q CACHED; then echo "dtask ran the dependency stage again" >&2; fi
  done
  local bm="-" fm="-" efm="-" om="-"
  if [ -n "$buildx_ok" ]; then bm=$(printf '%s\n' "${b[@]}" | median); fi
  if [ "${#f[@]}" -gt 0 ]; then fm=$(printf '%s\n' "${f[@]}" | median); fi
  if [ "${#ef[@]}" -gt 0 ]; then efm=$(printf '%s\n' "${ef[@]}" | median); fi
  if [ "${#o[@]}" -gt 0 ]; then om=$(printf '%s\n' "${o[@]}" | median); fi
  echo "$(printf '%s\n' "${r[@]}" | median) $(printf '%s\n' "${d[@]}" | median) $bm $fm $efm $om"
}
ratio() { if [ "$1" = - ]; then echo -; else printf '%.3f' "$(echo "$1 / $2" | bc -l)"; fi; }
secs2() { if [ "$1" = - ]; then echo -; else printf '%.2f' "$1"; fi; }
row() { # name case recipe dtask buildx goal floor efloor old
  printf '%-20s %-10s %9.2f %9.2f %9.3f %9s %9s %9s %9s %9s %9s %9s %9s %9s' "$1" "$2" "$3" "$4" "$(ratio "$4" "$3")" \
    "$(secs2 "$5")" "$(ratio "$5" "$3")" "$6" "$(secs2 "$7")" "$(ratio "$7" "$3")" \
    "$(secs2 "$8")" "$(ratio "$8" "$3")" "$(secs2 "$9")" "$(ratio "$9" "$3")"
}
read -r r0 d0 b0 f0 ef0 o0 < <(measure same)
[ ! -e "$dir/recipe.failed" ] || exit 1
read -r r1 d1 b1 f1 ef1 o1 < <(measure change)
[ ! -e "$dir/recipe.failed" ] || exit 1
du -sh "$XDG_CACHE_HOME" "$dir/seedcache" 2>/dev/null | sed 's/^/  /' >&2
# Last: it empties the cache folders the other cases start from.
read -r r2 d2 b2 f2 ef2 o2 < <(measure cold)
[ ! -e "$dir/recipe.failed" ] || exit 1
echo "$(row "$name" "no change" "$r0" "$d0" "$b0" 0.07 "$f0" "$ef0" "$o0");$(row "$name" "one change" "$r1" "$d1" "$b1" 0.12 "$f1" "$ef1" "$o1");$(row "$name" "cold start" "$r2" "$d2" "$b2" 1.0 "$f2" "$ef2" "$o2")"
