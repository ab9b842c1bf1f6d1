#!/usr/bin/env bash
# The engine matrix: dtask's Docker tests (./targets/... ./cmd/...) and the
# example pipeline, once per engine, each selected by DOCKER_HOST:
#
#   machine      the machine's own engine (DOCKER_HOST as set, or the default socket)
#   overlay2     Docker 28.5, classic overlay2 image store  (scripts/engines.sh)
#   containerd   Docker 28.5, containerd image store        (scripts/engines.sh)
#
#   scripts/test-engines.sh [ENGINE...]     default: machine overlay2 containerd
#
# It starts what it needs (the extra engines, the local registries), loads the
# fixture images into each engine, runs with CI=true (nothing skips), goes on
# to the next engine after a failure, prints one line per engine and exits 1
# when any failed. Logs: ${DTASK_MATRIX_LOGS:-${TMPDIR:-/tmp}/dtask-engines-test}/ENGINE.log
#
#   DTASK_MATRIX_GO_TESTS="overlay2 containerd"   the engines to run the Go
#       tests on (default: all named); the others run the example only. CI
#       sets it: `make test` has just run them on the machine engine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ENGINES=("$@")
[ "${#ENGINES[@]}" -gt 0 ] || ENGINES=(machine overlay2 containerd)
LOGS="${DTASK_MATRIX_LOGS:-${TMPDIR:-/tmp}/dtask-engines-test}"
GO="${GO:-go}"
mkdir -p "$LOGS"

log() { printf '[test-engines] %s\n' "$*" >&2; }

# What each engine needs in the environment: its DOCKER_HOST, and for the
# extra engines their folder first on PATH (the deploy tests start a second
# dockerd of the same kind from PATH).
engine_env() {
  case "$1" in
    machine) echo "DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}" ;;
    overlay2|containerd)
      scripts/engines.sh env "$1"
      echo "PATH=$(scripts/engines.sh bin):$PATH" ;;
    *) log "unknown engine '$1' (want machine, overlay2, containerd)"; exit 2 ;;
  esac
}

# run_engine NAME: fixtures, Go tests, example; output to its log.
run_engine() {
  local name="$1" envs state
  mapfile -t envs < <(engine_env "$name")
  state="$(mktemp -d "${TMPDIR:-/tmp}/dtask-matrix-$name.XXXXXX")"
  # shellcheck disable=SC2064  # expand now: the folder of this engine
  trap "rm -rf '$state'" RETURN
  env "${envs[@]}" scripts/fixtures/images.sh || return 1
  if [[ " ${DTASK_MATRIX_GO_TESTS:-$name} " == *" $name "* ]]; then
    env "${envs[@]}" CI=true "$GO" test -count=1 -timeout 30m ./targets/... ./cmd/... || return 1
  fi
  # A state folder of its own: records made on another engine must not
  # stand in for this one's run.
  env "${envs[@]}" CI=true DTASK_CACHE_DIR="$state" bin/dtask -f Taskfile.example.toml ci || return 1
}

need_extra=0
for e in "${ENGINES[@]}"; do [ "$e" = machine ] || need_extra=1; done
scripts/fixtures/registry.sh start >/dev/null
if [ "$need_extra" -eq 1 ]; then
  # The extra engines must never take the machine engine's bridge with them.
  scripts/engines-restart-test.sh overlay2 >&2
  scripts/engines.sh start >/dev/null
fi
[ -x bin/dtask ] || "$GO" build -o bin/dtask ./cmd/dtask

failed=0
summary=()
for e in "${ENGINES[@]}"; do
  start=$SECONDS
  log "$e: tests and example (log: $LOGS/$e.log)"
  if run_engine "$e" >"$LOGS/$e.log" 2>&1; then
    summary+=("$(printf '%-11s pass  %4ss' "$e" "$((SECONDS - start))")")
  else
    failed=1
    summary+=("$(printf '%-11s FAIL  %4ss  (see %s)' "$e" "$((SECONDS - start))" "$LOGS/$e.log")")
    # Each failure with what it printed (subtests included), so that a CI
    # record that keeps only the tail still says why.
    grep -E -A 12 '^\s*--- FAIL|^panic:|FAILED' "$LOGS/$e.log" | head -n 120 >&2 || true
    grep -E '^(FAIL|ok )' "$LOGS/$e.log" | head -n 20 >&2 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$failed"
