#!/bin/sh
# Kill trials: runs a target of each kind (sh, build, run), kills dtask with
# SIGKILL at a random moment, and checks what is left:
#   - no orphan process of the killed run (checked 2 s after the kill),
#   - no stale record (a dry run calls the target up to date although its
#     command never printed "finished"),
#   - no container or network of the project once the next run's sweep
#     (dtask --clean) is done.
# Usage: scripts/killtrials/run.sh [TRIALS] [KINDS]   (default 30 "sh build run")
# Needs bin/dtask (make build) and the busybox fixture image (make fixtures).
set -eu
trials=${1:-30}
kinds=${2:-sh build run}
root=$(cd "$(dirname "$0")/../.." && pwd)
dtask=${DTASK:-$root/bin/dtask}
work=$(mktemp -d)
token="dtask-killtrial-$$"
nap="6$$" # a unique sleep, to find the orphans by
cleanup() {
	(cd "$work" && "$dtask" --clean >/dev/null 2>&1) || true
	docker rmi -f "$token:latest" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/ctx"
cat >"$work/ctx/Dockerfile" <<DOCKERFILE
FROM busybox
ARG TRIAL
RUN echo "\$TRIAL" > /trial && sleep 2
DOCKERFILE
cat >"$work/Taskfile.toml" <<TOML
version = 1
[services.side]
image = "busybox"
cmd = ["sleep", "600"]
ready = { cmd = "true" }

[targets.sh]
sh = ["echo \${TRIAL}; (sleep $nap; true) & sleep 2; echo finished"]
sources = ["trial.txt"]

[targets.build]
build = { context = "ctx", tags = ["$token:latest"], args = { TRIAL = "\${TRIAL}" } }

[targets.run]
services = ["side"]
run = { image = "busybox", cmd = ["sh", "-c", "sleep 2; echo finished"], env = { TRIAL = "\${TRIAL}" } }
TOML
project=$(printf '%s' "$work/Taskfile.toml" | sha256sum | cut -c1-12)
cd "$work"

fail=0
for kind in $kinds; do
	orphans=0 stale=0 containers=0 networks=0
	i=1
	while [ "$i" -le "$trials" ]; do
		trial="$kind-$i-$$"
		echo "$trial" >trial.txt
		"$dtask" --output plain "$kind" TRIAL="$trial" >out.txt 2>&1 &
		pid=$!
		# Somewhere between start-up and the end of the action (~2 s).
		sleep "$(awk -v s="$i$$" 'BEGIN { srand(s); printf "%.2f", 0.1 + rand() * 3 }')"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		sleep 2
		n=$(pgrep -f "sleep $nap" | wc -l)
		orphans=$((orphans + n))
		pkill -KILL -f "sleep $nap" 2>/dev/null || true
		if ! grep -q finished out.txt && ! grep -q "^$kind .*ran" out.txt; then
			if "$dtask" --output plain -n "$kind" TRIAL="$trial" 2>&1 | grep -q "^$kind .*cached"; then
				stale=$((stale + 1))
			fi
		fi
		"$dtask" --clean >/dev/null 2>&1 || true
		c=$(docker ps -aq --filter "label=dev.dtask.project=$project" | wc -l)
		n=$(docker network ls -q --filter "label=dev.dtask.project=$project" | wc -l)
		containers=$((containers + c)) networks=$((networks + n))
		i=$((i + 1))
	done
	echo "$kind: $trials trials: $stale stale records, $containers containers, $networks networks, $orphans orphan processes"
	[ $((stale + containers + networks + orphans)) -eq 0 ] || fail=1
done
exit "$fail"
