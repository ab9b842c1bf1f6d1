#!/usr/bin/env bash
# Benchmarks dtask's build action against `docker build` (classic builder:
# the docker CLI here has no buildx) on the same cold context, and dtask's
# peak memory while it sends a 1 GB context.
#   scripts/bench/build/run.sh [RUNS]
# Goals: dtask time <= 1.05x docker build; peak RSS <= 100 MB for 1 GB.
set -euo pipefail

RUNS="${1:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
WORK="$(mktemp -d)"
BIN="$WORK/dtask-build-bench"
TAG_CLI="dtask-test/bench-cli:latest"
TAG_DTASK="dtask-test/bench-dtask:latest"
# rmimages removes the bench's images and the untagged layers under them.
rmimages() { docker image rm -f "$TAG_CLI" "$TAG_DTASK" >/dev/null 2>&1 || true; }
cleanup() {
  rmimages
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$BIN" ./scripts/bench/build)

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# BUILD_PART=200 runs only the 200 MB comparison at the end.
if [ "${BUILD_PART:-all}" = all ]; then

# A source-tree-like context: 3000 files of 4-64 KB in 60 folders, plus
# ignored junk, about 100 MB sent.
CTX="$WORK/ctx"
mkdir -p "$CTX"
for d in $(seq 1 60); do
  mkdir -p "$CTX/src/pkg$d" "$CTX/node_modules/m$d"
  for f in $(seq 1 50); do
    head -c $(( (RANDOM % 60 + 4) * 1024 )) /dev/urandom > "$CTX/src/pkg$d/f$f.bin"
  done
  head -c 65536 /dev/urandom > "$CTX/node_modules/m$d/ignored.bin"
done
printf 'node_modules\n*.log\n' > "$CTX/.dockerignore"
printf 'FROM busybox\nCOPY . /ctx\nRUN du -s /ctx\n' > "$CTX/Dockerfile"


cli_times=(); dtask_times=(); bk_times=()
for i in $(seq 1 "$RUNS"); do
  # A new nonce each time makes COPY (and what follows) cold for both.
  echo "$RANDOM$RANDOM" > "$CTX/nonce"
  cli_times+=("$(DOCKER_BUILDKIT=0 secs docker build -q -t "$TAG_CLI" "$CTX")")
  rmimages
  echo "$RANDOM$RANDOM" > "$CTX/nonce"
  dtask_times+=("$(secs "$BIN" -q -builder classic -context "$CTX" -tag "$TAG_DTASK")")
  rmimages
  echo "$RANDOM$RANDOM" > "$CTX/nonce"
  bk_times+=("$(secs "$BIN" -q -builder buildkit -context "$CTX" -tag "$TAG_DTASK")")
  rmimages
done
cli=$(printf '%s\n' "${cli_times[@]}" | median)
dt=$(printf '%s\n' "${dtask_times[@]}" | median)
bk=$(printf '%s\n' "${bk_times[@]}" | median)
echo "cold build, ~100 MB / 3000-file context, median of $RUNS:"
echo "  docker build (classic):  ${cli}s"
echo "  dtask (classic):         ${dt}s   ratio $(echo "scale=3; $dt / $cli" | bc)x (goal <= 1.05x)"
echo "  dtask (buildkit):        ${bk}s"

# 1 GB context: peak RSS of the process sending it.
BIG="$WORK/big"
mkdir -p "$BIG"
for i in $(seq 1 8); do head -c $((128 * 1024 * 1024)) /dev/urandom > "$BIG/blob$i"; done
printf 'FROM busybox\nRUN true\n' > "$BIG/Dockerfile"
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {print int($2/1024)}'; }
dt_rss=$(rss "$BIN" -q -builder classic -context "$BIG" -tag "$TAG_DTASK"); rmimages
bk_rss=$(rss "$BIN" -q -builder buildkit -context "$BIG" -tag "$TAG_DTASK"); rmimages
cli_rss=$(DOCKER_BUILDKIT=0 rss docker build -q -t "$TAG_CLI" "$BIG"); rmimages
echo "1 GB context, peak RSS:"
echo "  dtask (classic):  ${dt_rss} MB (goal <= 100 MB)"
echo "  dtask (buildkit): ${bk_rss} MB"
echo "  docker build:     ${cli_rss} MB"
fi

# dtask build (the CLI, image cache on, saving into it before it exits)
# against docker build with BuildKit, on a ~200 MB context: cold (builder
# cache pruned, new content) and after a one-file change.
# Goal: <= 1.05x docker build in both cases. Outside CI dtask does not wait
# at exit for its save into the image cache; the CI=true line shows the cost
# when it does.
# The docker CLI when it has buildx, else the docker-buildx binary that
# scripts/engines.sh fetched (run on its own it is `docker buildx`).
if [ -z "${BK_DOCKER:-}" ]; then
  BK_DOCKER=docker
  if ! docker buildx version >/dev/null 2>&1 && bx="$("$ROOT/scripts/engines.sh" buildx 2>/dev/null)" && [ -x "$bx" ]; then BK_DOCKER="$bx"; fi
fi
C2="$WORK/ctx200"
mkdir -p "$C2/src"
for d in $(seq 1 40); do
  mkdir -p "$C2/src/pkg$d"
  for f in $(seq 1 40); do head -c $(( 128 * 1024 )) /dev/urandom > "$C2/src/pkg$d/f$f.bin"; done
done
printf 'FROM busybox\nCOPY . /ctx\nRUN du -s /ctx\n' > "$C2/Dockerfile"
printf 'version = 1\ndefault = "image"\n[targets.image]\nbuild = { context = ".", tags = ["%s"] }\n' "$TAG_DTASK" > "$C2/Taskfile.toml"
printf 'Taskfile.toml\n.dtask\n' > "$C2/.dockerignore"
(cd "$ROOT" && go build -o "$WORK/dtask" ./cmd/dtask)
export XDG_CACHE_HOME="$WORK/xdg"
dtask_build() { (cd "$C2" && "$WORK/dtask" --output plain image); }
docker_build() { DOCKER_BUILDKIT=1 "$BK_DOCKER" build -q -t "$TAG_CLI" "$C2"; }
docker_build >/dev/null || { echo "no BuildKit docker build (set BK_DOCKER)" >&2; exit 1; }
cold() { docker builder prune -af >/dev/null 2>&1 || true; echo "$RANDOM$RANDOM" > "$C2/nonce"; }
change() { echo "$RANDOM$RANDOM" > "$C2/src/pkg7/f3.bin"; }
dtask_build >/dev/null 2>&1; docker_build >/dev/null 2>&1 # warm the base image, the store
c_cli=(); c_dt=(); o_cli=(); o_dt=(); o_ci=()
for i in $(seq 1 "$RUNS"); do
  cold; c_cli+=("$(secs docker_build)"); rmimages
  cold; c_dt+=("$(secs dtask_build)"); rmimages
  docker_build >/dev/null 2>&1; dtask_build >/dev/null 2>&1
  change; o_cli+=("$(secs docker_build)")
  change; o_dt+=("$(secs dtask_build)")
  change; o_ci+=("$(CI=true secs dtask_build)")
  rmimages
done
m_ccli=$(printf '%s\n' "${c_cli[@]}" | median); m_cdt=$(printf '%s\n' "${c_dt[@]}" | median)
m_ocli=$(printf '%s\n' "${o_cli[@]}" | median); m_odt=$(printf '%s\n' "${o_dt[@]}" | median)
m_oci=$(printf '%s\n' "${o_ci[@]}" | median)
echo "~200 MB context, dtask build (image cache on) vs docker build (BuildKit: $BK_DOCKER), median of $RUNS; load average $(cut -d" " -f1-3 /proc/loadavg):"
echo "  cold:            docker ${m_ccli}s  dtask ${m_cdt}s  ratio $(echo "scale=3; $m_cdt / $m_ccli" | bc)x (goal <= 1.05x)"
echo "  one-file change: docker ${m_ocli}s  dtask ${m_odt}s  ratio $(echo "scale=3; $m_odt / $m_ocli" | bc)x (goal <= 1.05x)"
echo "  one-file change, CI=true (waits for the save into the layout): dtask ${m_oci}s  ratio $(echo "scale=3; $m_oci / $m_ocli" | bc)x"
du -sh "$XDG_CACHE_HOME" 2>/dev/null | sed 's/^/  cache folder: /'
