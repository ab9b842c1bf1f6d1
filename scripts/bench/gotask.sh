#!/usr/bin/env bash
# gotask.sh CACHE: prints the path of go-task (the peer the benches time
# dtask against), installing the pinned version into CACHE/bin with
# `go install` when it is missing or another version. Prints nothing when
# it cannot be installed (offline without a module proxy): the callers
# then leave go-task's rows out.
set -uo pipefail
version=v3.53.1
task=$1/bin/task
if ! "$task" --version 2>/dev/null | grep -q "${version#v}"; then
	echo "== installing go-task $version into $1/bin" >&2
	GOBIN=$1/bin GOFLAGS= go install "github.com/go-task/task/v3/cmd/task@$version" >&2 ||
		echo "note: go-task could not be installed; its rows are skipped" >&2
fi
"$task" --version >/dev/null 2>&1 && echo "$task"
exit 0
