#!/usr/bin/env bash
# Regression test for scripts/engines.sh: restarting an extra engine must
# leave the machine engine's docker0 bridge alone. (A dockerd that finds its
# old default network in its store, with default-address-pools set, deletes
# the link named docker0 on start-up; engines.sh forgets the stored networks
# before each start.)
#
# It runs engines.sh start, stop, start, stop for one mode inside a network
# namespace of its own that holds a stand-in docker0, with throw-away state and
# run folders, so the machine's network and engines are never touched.
#   scripts/engines-restart-test.sh [MODE]     (default overlay2; needs root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODE="${1:-overlay2}"
[ "$(id -u)" -eq 0 ] || { echo "engines-restart-test: needs root" >&2; exit 2; }

if [ "${DTASK_IN_NETNS:-}" != 1 ]; then
  tmp="$(mktemp -d /tmp/dtask-engines-restart.XXXXXX)"
  trap 'rm -rf "$tmp"' EXIT
  DTASK_IN_NETNS=1 DTASK_ENGINES_STATE="$tmp/state" DTASK_ENGINES_RUN="$tmp/run" \
    unshare --net "${BASH_SOURCE[0]}" "$MODE"
  exit
fi

ip link set lo up
ip link add docker0 type bridge
trap 'scripts/engines.sh stop "$MODE" >/dev/null 2>&1 || true' EXIT
for round in first second; do
  scripts/engines.sh start "$MODE" >/dev/null
  scripts/engines.sh stop "$MODE" >/dev/null
  if ! ip link show docker0 >/dev/null 2>&1; then
    echo "engines-restart-test: FAIL: the $round start of $MODE deleted docker0" >&2
    exit 1
  fi
done
echo "engines-restart-test: ok ($MODE restarted, docker0 kept)"
