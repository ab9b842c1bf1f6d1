#!/usr/bin/env bash
# make bench: every benchmark in one go. Each prints its own table and
# ratios; BENCH=noop,watch limits the set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
want="${BENCH:-scale,noop,build,watch,ci,ci-go,project,teamcache,interrupt}"
for b in scale noop build watch ci ci-go project teamcache interrupt; do
  case ",$want," in *",$b,"*) ;; *) continue ;; esac
  if [ -x "$b/run.sh" ]; then
    echo "=== bench $b"
    "$b/run.sh"
  fi
done
