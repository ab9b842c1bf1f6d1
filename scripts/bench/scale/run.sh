#!/usr/bin/env bash
# Scale benchmark: each figure beside its peer, medians of RUNS (5), in
# one run, appended to scripts/bench/results.tsv so that regressions show.
#
#   RUNS=5 scripts/bench/scale/run.sh            (make bench: 10k, 100k, 300k)
#   FILES="300000" ...                           (one tree size only)
#   CYCLES=300 TARGETS=10000     (defaults; 0 leaves the part out)
#   FILES=" "                    (no tree sizes: the other parts only)
#   FIRST=0                      (one untimed first run of the targets)
#   OLD=/path/to/dtask           (also time that binary's no-op and RSS,
#                                 each run beside the new one's: A/B)
#
# Figures: no-op at each tree size against `find -newer`, `git status` and
# go-task (time and peak RSS); one edit against a no-op, with the bytes of
# .dtask/ written; .dtask/ size after CYCLES edit-and-run cycles at 10k
# files; TARGETS up-to-date sh targets against `make -r`, -n against
# `make -n`, and a first run against `make -r -j`.
set -euo pipefail
[ -n "${EPOCHREALTIME:-}" ] || { echo "needs bash 5" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
RUNS=${RUNS:-5}
FILES=${FILES:-10000 100000 300000}
CYCLES=${CYCLES:-300}
TARGETS=${TARGETS:-10000}
FIRST=${FIRST:-1}
results=${RESULTS:-$root/scripts/bench/results.tsv}
cache=${DTASK_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dtask-bench}
work=$(mktemp -d "${TMPDIR:-/tmp}/dtask-bench-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
(cd "$root" && go build -o "$work/bin/dtask" ./cmd/dtask && go build -o "$work/bin/gentree" ./scripts/bench/noop/gentree)
dtask=$work/bin/dtask
task=$("$here/../gotask.sh" "$cache")
rev=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ms CMD...: wall time of one run in microseconds.
us() { local s=$EPOCHREALTIME; "$@" >/dev/null 2>&1 || true; local e=$EPOCHREALTIME; echo $((${e/./} - ${s/./})); }
# rss CMD...: peak RSS in KB, median of RUNS.
rss1() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n1; }
rss() { local m=""; for _ in $(seq "$RUNS"); do m+="$(rss1 "$@") "; done; echo "$m" | median; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timed NAME CMD...: median of RUNS into med[NAME] (microseconds).
declare -A med
timed() { local n=$1; shift; local t=""; for _ in $(seq "$RUNS"); do t+="$(us "$@") "; done; med[$n]=$(echo "$t" | median); }
# row FIGURE VALUE PEER PEERVALUE GOAL: print and keep one figure.
row() {
	local r
	r=$(awk -v a="$2" -v b="$4" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
	printf '%-34s %12s  %-22s %12s  ratio %6s  goal %s\n' "$1" "$2" "$3" "$4" "$r" "$5"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$rev" "$1" "$2" "$3" "$4" "$r" "$5" >>"$results"
}
[ -s "$results" ] || printf 'when\trev\tfigure\tdtask\tpeer\tpeer_value\tratio\tgoal\n' >"$results"

tree() { # tree DIR N
	mkdir -p "$1"
	"$work/bin/gentree" -out "$1" -files "$2" -mean 200 >/dev/null
	cat >"$1/Taskfile.toml" <<'TOML'
version = 1
[targets.noop]
sh = "true"
sources = ["src/**/*"]
TOML
	printf "version: '3'\ntasks:\n  noop:\n    sources: ['src/**/*']\n    cmds: ['true']\n" >"$1/Taskfile.yml"
	(cd "$1" && git init -q && git config gc.auto 0 && git add -A && git -c user.email=b@b -c user.name=b commit -qm tree)
}

# written DIR: bytes of DIR's files whose content is new or changed since
# the copy snap made (an appended log counts what was appended; a file
# only touched counts nothing).
snap() { rm -rf "$1.snap" && cp -a "$1" "$1.snap"; }
written() {
	local n=0 f old size osize
	while IFS= read -r -d '' f; do
		old=$1.snap/${f#"$1"/}
		size=$(stat -c %s "$f")
		if [ ! -f "$old" ]; then
			n=$((n + size))
		elif ! cmp -s "$f" "$old"; then
			osize=$(stat -c %s "$old")
			if [[ $f == *.log ]] && ((size >= osize)) && cmp -s -n "$osize" "$f" "$old"; then
				n=$((n + size - osize))
			else
				n=$((n + size))
			fi
		fi
	done < <(find "$1" -type f -newer "$1.snap" -print0)
	echo "$n"
}

echo "== scale bench, RUNS=$RUNS, rev $rev ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
for n in $FILES; do
	d=$work/t$n
	tree "$d" "$n"
	cd "$d"
	touch "$work/STAMP"
	for _ in 1 2; do "$dtask" noop >/dev/null 2>&1; done
	[ -n "$task" ] && "$task" noop >/dev/null 2>&1 && "$task" noop >/dev/null 2>&1
	timed dtask "$dtask" noop
	timed find find src -type f -newer "$work/STAMP"
	timed git git status --porcelain
	row "noop ${n} files (us)" "${med[dtask]}" "find -newer" "${med[find]}" "<= 1.5"
	row "noop ${n} files vs git status (us)" "${med[dtask]}" "git status" "${med[git]}" "-"
	if [ -n "$task" ]; then
		timed task "$task" noop
		row "noop ${n} files vs go-task (us)" "${med[dtask]}" "go-task" "${med[task]}" "<= 0.2"
	fi
	row "noop ${n} files RSS (KB)" "$(rss "$dtask" noop)" "git status RSS" "$(rss git status --porcelain)" "<= 1.2"
	if [ -n "${OLD:-}" ]; then
		"$OLD" noop >/dev/null 2>&1 || true
		a="" b="" ra="" rb=""
		for _ in $(seq "$RUNS"); do
			a+="$(us "$dtask" noop) " b+="$(us "$OLD" noop) "
			ra+="$(rss1 "$dtask" noop) " rb+="$(rss1 "$OLD" noop) "
		done
		row "noop ${n} files vs old (us)" "$(echo "$a" | median)" "old $(basename "$OLD")" "$(echo "$b" | median)" "-"
		row "noop ${n} files RSS vs old (KB)" "$(echo "$ra" | median)" "old $(basename "$OLD")" "$(echo "$rb" | median)" "-"
	fi
	# One edit: a different file each time. Each edit's run is timed beside
	# the no-op run right after it, so that both see the same load.
	t=""
	nt=""
	w=""
	mapfile -t pick < <(find src -type f | awk -v r="$RUNS" 'NR % 37 == 0 && n++ < r')
	for i in $(seq "$RUNS"); do
		echo "edit $i" >>"${pick[$((i - 1))]}"
		snap .dtask
		t+="$(us "$dtask" noop) "
		w+="$(written .dtask) "
		nt+="$(us "$dtask" noop) "
	done
	row "one edit ${n} files (us)" "$(echo "$t" | median)" "no-op after it" "$(echo "$nt" | median)" "<= 1.1"
	row "one edit ${n} files .dtask written (B)" "$(echo "$w" | median)" "64 KB" 65536 "<= 1"
	cd "$work"
	rm -rf "$d" "$d.snap" || true
	echo "(load $(cut -d' ' -f1-3 /proc/loadavg))"
done

if ((CYCLES > 0)); then
echo "== .dtask/ after $CYCLES edit-and-run cycles, 10,000 files"
d=$work/cycles
tree "$d" 10000
cd "$d"
mapfile -t all < <(find src -type f | head -n 500)
for i in $(seq "$CYCLES"); do
	echo "cycle $i" >>"${all[$((i % 500))]}"
	"$dtask" noop >/dev/null 2>&1
done
row ".dtask after $CYCLES cycles (B)" "$(du -sb .dtask | cut -f1)" "30 MB" 30000000 "<= 1"
cd "$work"
rm -rf "$d" || true
fi

((TARGETS > 0)) || { echo "(numbers appended to $results)"; exit 0; }
echo "== $TARGETS sh targets"
d=$work/graph
mkdir -p "$d/in" "$d/out"
cd "$d"
{
	echo 'version = 1'
	echo '[targets.all]'
	printf 'deps = ['
	for i in $(seq "$TARGETS"); do printf '"t%d",' "$i"; done
	echo ']'
	for i in $(seq "$TARGETS"); do
		printf '[targets.t%d]\nsh = "touch out/%d"\nsources = ["in/%d"]\n' "$i" "$i" "$i"
	done
} >Taskfile.toml
{
	printf 'all:'
	for i in $(seq "$TARGETS"); do printf ' out/%d' "$i"; done
	echo
	echo 'out/%: in/%'
	printf '\ttouch $@\n'
} >Makefile
for i in $(seq "$TARGETS"); do echo "$i" >"in/$i"; done
first=""
mfirst=""
for _ in $(seq "$((FIRST ? RUNS : 1))"); do
	rm -rf .dtask out && mkdir out
	first+="$(us "$dtask" all) "
	rm -rf out && mkdir out
	mfirst+="$(us make -r -j"$(nproc)" all) "
done
((FIRST)) && row "first run $TARGETS targets (us)" "$(echo "$first" | median)" "make -r -j" "$(echo "$mfirst" | median)" "<= 2"
"$dtask" all >/dev/null 2>&1 # the first run's state complete (the decoded task file kept)
# Each dtask run is timed beside a make run, so that both see the same load.
paired() { # paired FIGURE PEER DTASK-ARGS -- MAKE-ARGS
	local fig=$1 peer=$2 a=() b=() t="" m=""
	shift 2
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	for _ in $(seq "$RUNS"); do
		t+="$(us "$dtask" "${a[@]}") "
		m+="$(us make "${b[@]}") "
	done
	row "$fig" "$(echo "$t" | median)" "$peer" "$(echo "$m" | median)" "<= 3"
}
paired "$TARGETS up-to-date targets (us)" "make -r" all -- -r all
paired "$TARGETS targets -n (us)" "make -r -n" -n all -- -r -n all
echo "(load $(cut -d' ' -f1-3 /proc/loadavg); numbers appended to $results)"
