#!/usr/bin/env bash
# Watch-mode latency: from a file write to the start of the re-run (the sh
# target writes `date +%s%N`), median and p95 of RUNS edits on trees of
# 10,000 and 100,000 files, for `dtask -w` (default settings) beside
# go-task v3.53.1's `task -w` on the same tree; appended to
# scripts/bench/results.tsv. Then the start-up time of `dtask -w` on
# 10,000 and 100,000 files: launch to first run finished and watches
# registered (dtask -v prints it; also measured from outside), and for
# go-task launch to its first run.
#   scripts/bench/watch/run.sh [RUNS]
# With OLD=path/to/an/older/dtask (OLD_NAME names it in the rows, default
# dtask-old) the two dtask binaries are measured in alternating blocks,
# old, new, old, new, of RUNS edits each, and a row compares them.
# Goal: dtask median <= 50 ms at 10k files, <= 150 ms at 100k.
set -euo pipefail

RUNS="${1:-20}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
RESULTS="${RESULTS:-$ROOT/scripts/bench/results.tsv}"
REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
STAMP="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/dtask-bench"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$CACHE"
DTASK="$WORK/dtask"
(cd "$ROOT" && go build -o "$DTASK" ./cmd/dtask)
TASK=$("$ROOT/scripts/bench/gotask.sh" "$CACHE")
[ -n "$TASK" ] || { echo "go-task is needed for this bench" >&2; exit 1; }

echo "inotify: max_user_watches=$(cat /proc/sys/fs/inotify/max_user_watches)" \
  "max_user_instances=$(cat /proc/sys/fs/inotify/max_user_instances)" \
  "max_queued_events=$(cat /proc/sys/fs/inotify/max_queued_events)"

# tree DIR FILES: FILES small files, 100 per folder, two levels deep.
tree() {
  local dir=$1 n=$2 per=100
  python3 - "$dir" "$n" "$per" <<'PY'
import os, sys
d, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(d, "src", "g%d" % (i // (per * 10)), "d%d" % (i // per))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%d.txt" % i), "w") as f:
        f.write("file %d\n" % i)
PY
}

# project DIR FILES: a tree with a dtask and a go-task file whose target
# appends a timestamp to DIR.stamps.
project() {
  local dir=$1
  mkdir -p "$dir"
  tree "$dir" "$2"
  cat > "$dir/Taskfile.toml" <<TOML
version = 1
[targets.t]
sh = "date +%s%N >> $dir.stamps"
sources = ["src/**"]
TOML
  cat > "$dir/Taskfile.yml" <<YML
version: '3'
tasks:
  t:
    sources: ["src/**/*"]
    cmds: ["date +%s%N >> $dir.stamps"]
YML
}

now() { date +%s%N; }
lines() { if [[ -f $1 ]]; then wc -l < "$1"; else echo 0; fi; }
# waitlines FILE N: wait (up to 30s) until FILE has N lines.
waitlines() {
  local i
  for i in $(seq 1 3000); do
    (( $(lines "$1") >= $2 )) && return 0
    sleep 0.01
  done
  echo "timed out waiting for $2 runs in $1" >&2
  return 1
}
# Integers: awk would print a large mean as 1.5e+06.
median() { sort -n | awk '{a[NR]=$1} END {printf "%d\n", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
p95() { sort -n | awk '{a[NR]=$1} END {i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; print a[i]}'; }
# row FIGURE DTASK PEER PEERVALUE GOAL: one line of results.tsv.
row() {
  local r
  r=$(awk -v a="$2" -v b="$4" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  printf '%-40s %10s  %-10s %10s  ratio %5s  goal %s\n' "$1" "$2" "$3" "$4" "$r" "$5"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$STAMP" "$REV" "$1" "$2" "$3" "$4" "$r" "$5" >>"$RESULTS"
}
declare -A MED P95 ALLMS

# latency NAME DIR CMD...: start the watcher, then RUNS edits; prints the
# median write-to-run-start in ms.
latency() {
  local name=$1 dir=$2; shift 2
  local stamps="$dir.stamps"
  rm -f "$stamps"
  # So that the first run is not up to date (another binary's block ran it).
  echo "$name $(now)" >> "$dir/src/g0/d0/f1.txt"
  (cd "$dir" && exec "$@" >"$WORK/$name.log" 2>&1) &
  local pid=$!
  PIDS+=("$pid")
  waitlines "$stamps" 1
  sleep 1 # let it settle: watches registered, first run reported
  local ms=() i t0 t1
  for i in $(seq 1 "$RUNS"); do
    local k=$(( (i * 7 % 100 * 100 + 3) * FILES / 10000 )) # a different file each time
    local f="$dir/src/g$((k / 1000))/d$((k / 100))/f$k.txt"
    t0=$(now)
    echo "edit $i $t0" >> "$f"
    waitlines "$stamps" $((i + 1))
    t1=$(tail -1 "$stamps")
    ms+=("$(( (t1 - t0) / 1000 ))")
    sleep 0.4
  done
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ALLMS[$name]="${ALLMS[$name]:-} ${ms[*]}"
  summarize "$name"
}

# summarize NAME: median and p95 of every edit measured so far for NAME.
summarize() {
  local name=$1 med p
  read -r -a all <<<"${ALLMS[$name]}"
  med=$(printf '%s\n' "${all[@]}" | median)
  p=$(printf '%s\n' "${all[@]}" | p95)
  MED[$name]=${med%.*} P95[$name]=$p
  printf '%-10s write->run median %6.1f ms, p95 %6.1f ms over %d edits (load %s)  (us: %s)\n' "$name" "$(echo "$med / 1000" | bc -l)" \
    "$(echo "$p / 1000" | bc -l)" "${#all[@]}" "$(cut -d' ' -f1-3 /proc/loadavg)" "${ms[*]:-}"
}

# startup NAME DIR CMD...: launch to first run (outside), plus dtask's own
# "ready" line (first run finished and watches registered).
startup() {
  local name=$1 dir=$2; shift 2
  local stamps="$dir.stamps"
  rm -f "$stamps"
  echo "$name" >> "$dir/src/g0/d0/f0.txt" # so that the first run is not up to date
  local t0; t0=$(now)
  (cd "$dir" && exec "$@" >"$WORK/$name.log" 2>&1) &
  local pid=$!
  PIDS+=("$pid")
  waitlines "$stamps" 1
  local first=$(( ($(now) - t0) / 1000000 ))
  local ready=""
  for _ in $(seq 1 3000); do
    ready=$(grep -o 'ready [0-9.]*[mµ]*s' "$WORK/$name.log" || true)
    [[ -n $ready || $name != dtask* ]] && break
    sleep 0.01
  done
  local seen=$(( ($(now) - t0) / 1000000 ))
  kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf '%-16s first run after %5d ms; %s (seen outside after %d ms) %s\n' "$name" "$first" "${ready:-}" "$seen" \
    "$(grep -o 'watching [0-9]* folders.*files' "$WORK/$name.log" || true)"
}

# lat N DIR GOAL: dtask and go-task on a tree of N files, as rows.
lat() {
  FILES=$1
  echo "== latency, $1 files, $RUNS edits (load $(cut -d' ' -f1 /proc/loadavg))"
  ALLMS=()
  if [[ -n ${OLD:-} ]]; then
    local round
    for round in 1 2; do
      latency dtask-old "$2" "$OLD" -w t
      latency dtask "$2" "$DTASK" -w t
    done
  else
    latency dtask "$2" "$DTASK" -w t
  fi
  latency go-task "$2" "$TASK" -w t
  row "watch save->run $1 files median (us)" "${MED[dtask]}" go-task "${MED[go-task]}" "$3"
  row "watch save->run $1 files p95 (us)" "${P95[dtask]}" go-task "${P95[go-task]}" "-"
  if [[ -n ${OLD:-} ]]; then
    row "watch save->run $1 files median (us)" "${MED[dtask]}" "${OLD_NAME:-dtask-old}" "${MED[dtask-old]}" "$3"
    row "watch save->run $1 files p95 (us)" "${P95[dtask]}" "${OLD_NAME:-dtask-old}" "${P95[dtask-old]}" "-"
  fi
}

P10="$WORK/p10k"
project "$P10" 10000
lat 10000 "$P10" "<= 50 ms"
P100="$WORK/p100k"
project "$P100" 100000
lat 100000 "$P100" "<= 150 ms"

echo "== start-up"
# A warm stat index (.dtask/) is the usual case; the first, cold, run hashes every file.
rm -rf "$P10/.dtask"
startup dtask-10k-cold "$P10" "$DTASK" -w -v t
startup dtask-10k "$P10" "$DTASK" -w -v t
startup go-task-10k "$P10" "$TASK" -w t
rm -rf "$P100/.dtask"
startup dtask-100k-cold "$P100" "$DTASK" -w -v t
startup dtask-100k "$P100" "$DTASK" -w -v t
startup go-task-100k "$P100" "$TASK" -w t
