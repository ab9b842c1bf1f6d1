#!/usr/bin/env bash
# Ctrl-C with a hung engine: the time from SIGINT to dtask's exit while a
# stuck engine (internal/stuckengine) holds, never answering, dtask's first
# ping, its image inspect or its container create, or that create and
# everything after it (the clean-up's ping too); median and max of RUNS of
# each, appended to scripts/bench/results.tsv. The CLI's tests check
# only that dtask then exits 130 at all (a time bound in a test fails on a
# loaded machine); this says how soon.
#   scripts/bench/interrupt/run.sh [RUNS]
# With OLD=path/to/an/older/dtask (OLD_NAME names it in the rows) the two
# binaries alternate, old then new, in each run.
# Goal: <= 3 s in every case (nothing waits for a hung engine's answer once
# Ctrl-C is pressed).
set -euo pipefail

RUNS="${1:-5}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$WORK/dtask" ./cmd/dtask && go build -o "$WORK/stuck" ./scripts/bench/interrupt)
printf 'version = 1\n[targets.r]\nrun = { image = "busybox", cmd = ["true"] }\n' >"$WORK/Taskfile.toml"
export XDG_CACHE_HOME="$WORK/xdg"

# waitfor FILE TEXT: until FILE holds TEXT, for a minute at most.
waitfor() {
  for _ in $(seq 1 6000); do grep -qs "$2" "$1" && return 0; sleep 0.01; done
  echo "gave up waiting for $2 in $1" >&2; return 1
}

# once DTASK AT [-all]: milliseconds from SIGINT to the exit of DTASK run
# against an engine that holds the request AT names (and all after it).
once() {
  local sock="$WORK/engine.sock" s e rc=0
  rm -f "$sock" "$WORK/engine.out"
  "$WORK/stuck" -sock "$sock" -at "$2" ${3:-} >"$WORK/engine.out" &
  local engine=$!; PIDS+=("$engine")
  for _ in $(seq 1 6000); do [ -S "$sock" ] && break; sleep 0.01; done
  (cd "$WORK" && DOCKER_HOST="unix://$sock" exec "$1" --output plain r >/dev/null 2>"$WORK/err") &
  local dtask=$!; PIDS+=("$dtask")
  waitfor "$WORK/engine.out" reached
  s=$(date +%s%N); kill -INT "$dtask"; wait "$dtask" || rc=$?; e=$(date +%s%N)
  kill "$engine"; wait "$engine" || true
  [ "$rc" = 130 ] || { echo "$1 exited $rc, not 130: $(cat "$WORK/err")" >&2; exit 1; }
  echo $(((e - s) / 1000000))
}

median() { sort -n | awk '{a[NR]=$1} END {printf "%d\n", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
max() { sort -n | tail -1; }
RESULTS="${RESULTS:-$ROOT/scripts/bench/results.tsv}"
REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
STAMP="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# row FIGURE MS PEER PEER_MS GOAL: a line here and one in RESULTS.
row() {
  local r; r=$(awk -v a="$2" -v b="$4" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  printf '%-58s %6s  %-10s %6s  ratio %5s  goal %s\n' "$1" "$2" "$3" "$4" "$r" "$5"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$STAMP" "$REV" "$1" "$2" "$3" "$4" "$r" "$5" >>"$RESULTS"
}

OLD_NAME="${OLD_NAME:-dtask-old}"
echo "Ctrl-C to exit with a hung engine, $RUNS runs each; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for point in ping /images/busybox/json /containers/create "/containers/create and after"; do
  at="${point% and after}"; [ "$point" = ping ] && at=""
  all=""; [ "$at" != "$point" ] && all=-all
  new=(); old=()
  for _ in $(seq 1 "$RUNS"); do
    [ -n "${OLD:-}" ] && old+=("$(once "$OLD" "$at" $all)")
    new+=("$(once "$WORK/dtask" "$at" $all)")
  done
  m=$(printf '%s\n' "${new[@]}" | median)
  echo "  hung at $point: median ${m} ms, max $(printf '%s\n' "${new[@]}" | max) ms (${new[*]})"
  peer=-; pm=0
  if [ -n "${OLD:-}" ]; then
    peer="$OLD_NAME"; pm=$(printf '%s\n' "${old[@]}" | median)
    echo "    $OLD_NAME: median ${pm} ms, max $(printf '%s\n' "${old[@]}" | max) ms (${old[*]})"
  fi
  row "Ctrl-C, engine hung at $point, median of $RUNS, load $(cut -d' ' -f1 /proc/loadavg) (ms)" "$m" "$peer" "$pm" "<= 3000"
done
