#!/usr/bin/env bash
# No-op benchmark: a tree of 10,000 files (~43 MB) and one sh target whose
# sources are src/**/*. Times, interleaved, a no-op `dtask noop`, go-task's
# no-op (method: checksum), `find src -type f -newer STAMP`, and the cache
# package alone as a process (hashbench noop); prints medians, the ratios
# and the cold hashing throughput.
#
#   N=15 scripts/bench/noop/run.sh      (make bench)
#
# go-task is installed with `go install` into $DTASK_BENCH_CACHE/bin
# (default ~/.cache/dtask-bench) when missing. Until ./cmd/dtask builds, the
# dtask row is skipped and the other rows still run.
set -euo pipefail

if [ -z "${EPOCHREALTIME:-}" ]; then
	echo "run.sh needs bash 5 (EPOCHREALTIME)" >&2
	exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
N=${N:-15}
cache=${DTASK_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dtask-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/dtask-bench-noop.XXXXXX")
trap 'rm -rf "$work"' EXIT
bin=$work/bin
mkdir -p "$bin" "$cache/bin"

echo "== building"
(cd "$root" && go build -o "$bin/gentree" ./scripts/bench/noop/gentree &&
	go build -o "$bin/hashbench" ./scripts/bench/noop/hashbench)
have_dtask=0
if (cd "$root" && go build -o "$bin/dtask" ./cmd/dtask) >"$work/dtask-build.log" 2>&1; then
	have_dtask=1
else
	echo "note: ./cmd/dtask does not build yet; the dtask row is skipped:"
	head -n 5 "$work/dtask-build.log" | sed 's/^/  /'
fi

task=$("$here/../gotask.sh" "$cache")
have_task=0
[ -n "$task" ] && have_task=1

echo "== generating the tree"
tree=$work/tree
"$bin/gentree" -out "$tree"
cp "$here/Taskfile.toml" "$here/Taskfile.yml" "$tree/"
touch "$work/STAMP"
cd "$tree"

run_dtask() { "$bin/dtask" noop >/dev/null 2>&1; }
run_task() { "$task" noop >/dev/null 2>&1; }
run_find() { find src -type f -newer "$work/STAMP" >/dev/null; }
run_cache() { "$bin/hashbench" noop . >/dev/null; }
run_cachepar() { "$bin/hashbench" -par noop . >/dev/null; }

names=()
((have_dtask)) && names+=(dtask)
((have_task)) && names+=(task)
names+=(find cache cachepar)

# The first runs hash everything and record the success; later ones are
# no-ops. A command that fails is dropped.
ok=()
for name in "${names[@]}"; do
	good=1
	for _ in 1 2 3; do
		if ! "run_$name"; then
			echo "note: $name failed in $tree; its row is skipped"
			[ "$name" = dtask ] && "$bin/dtask" noop 2>&1 | tail -n 5 | sed 's/^/  /'
			good=0
			break
		fi
	done
	((good)) && ok+=("$name")
done
names=("${ok[@]}")

declare -A times
echo "== timing, interleaved, N=$N"
for ((i = 0; i < N; i++)); do
	for name in "${names[@]}"; do
		s=$EPOCHREALTIME
		"run_$name"
		e=$EPOCHREALTIME
		times[$name]+="$(((${e/./} - ${s/./}))) "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med
printf '\n%-9s %12s %12s %12s\n' what median_ms min_ms max_ms
for name in "${names[@]}"; do
	m=$(echo "${times[$name]}" | median)
	lo=$(echo "${times[$name]}" | tr ' ' '\n' | grep . | sort -n | head -n1)
	hi=$(echo "${times[$name]}" | tr ' ' '\n' | grep . | sort -n | tail -n1)
	med[$name]=$m
	awk -v n="$name" -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {printf "%-9s %12.2f %12.2f %12.2f\n", n, m/1000, lo/1000, hi/1000}'
done
echo "(dtask: the CLI's no-op run; task: $([ -n "$task" ] && "$task" --version | head -n1), method: checksum;"
echo " find: find src -type f -newer STAMP; cache: the cache package alone as a process,"
echo " a Hash per file as engine.Plan.Files does; cachepar: the same with Index.HashAll)"
echo

ratio() { # ratio A B LIMIT
	[ -n "${med[$1]:-}" ] && [ -n "${med[$2]:-}" ] || return 0
	awk -v a="${med[$1]}" -v b="${med[$2]}" -v l="$3" -v n="$1/$2" \
		'BEGIN {r = a/b; printf "%-15s %6.2f  (goal <= %s: %s)\n", n, r, l, (r <= l ? "met" : "NOT met")}'
}
ratio dtask task 0.3
ratio dtask find 2.5
ratio cache task 0.3
ratio cache find 2.5
ratio cachepar task 0.3
ratio cachepar find 2.5

echo
echo "== the cache package's no-op, step by step, in one process"
"$bin/hashbench" -n 5 steps .

echo
echo "== cold hashing (empty index, files in the page cache)"
"$bin/hashbench" -n 5 cold .
if ((have_dtask)) && [ -d .dtask ]; then
	s=$EPOCHREALTIME
	rm -f .dtask/index
	run_dtask || true
	e=$EPOCHREALTIME
	awk -v t="$(((${e/./} - ${s/./})))" 'BEGIN {printf "dtask noop with its index removed: %.1f ms\n", t/1000}'
fi
