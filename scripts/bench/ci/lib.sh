# Helpers shared by the CI benchmarks (ci/, project/): sourced, not run.

# own_records TOKEN: the IDs of the engine's build cache records whose
# description names TOKEN (the RUN steps that name it) and of every record
# built on one of them, found through the API (DOCKER_HOST as set).
own_records() {
  local sock="${DOCKER_HOST:-unix:///var/run/docker.sock}" df i
  # The engine runs one disk usage query at a time and refuses a second
  # (others' benches and tests ask too): try again.
  for i in $(seq 1 60); do
    df="$(curl -sf --unix-socket "${sock#unix://}" 'http://engine/system/df?type=build-cache')" && break
    sleep 0.5
  done
  [ -n "$df" ] || { echo "own_records: the engine's disk usage query kept failing" >&2; return 1; }
  printf '%s' "$df" | jq -r --arg tok "$1" '
    def parents: [.Parent // empty] + (.Parents // []) | map(select(. != ""));
    (.BuildCache // []) as $all
    | reduce range(0; 16) as $i ([$all[] | select((.Description // "") | contains($tok)) | .ID];
        . as $s | ($s + [$all[] | select(any(parents[]; . as $p | any($s[]; . == $p))) | .ID] | unique))
    | .[]'
}

# prune_own_records TOKEN: prune those records by ID, and nothing else
# (tests and CI may build on the same engine meanwhile).
prune_own_records() {
  local ids i
  # A record a child holds goes on a later pass, as does one whose prune
  # the engine refused (one disk usage operation at a time).
  for i in 1 2 3 4 5 6; do
    ids="$(own_records "$1" | paste -sd'|')"
    [ -n "$ids" ] || break
    docker builder prune -af --filter "id=^($ids)\$" >/dev/null 2>&1 || true
  done
}

# bench_engines ROOT: "name=DOCKER_HOST" for each engine to measure: those
# of $ENGINES, else the machine's (DOCKER_HOST as set) and the extra
# engines scripts/engines.sh reports up.
bench_engines() {
  if [ -n "${ENGINES:-}" ]; then printf '%s\n' $ENGINES; return; fi
  echo "machine=${DOCKER_HOST:-}"
  [ -x "$1/scripts/engines.sh" ] || return 0
  local m h
  for m in overlay2 containerd; do
    if h=$("$1/scripts/engines.sh" env "$m" 2>/dev/null) && "$1/scripts/engines.sh" status "$m" >/dev/null 2>&1; then
      echo "28.5-$m=${h#DOCKER_HOST=}"
    fi
  done
}

now() { date +%s.%N; }
timeit() { local s e; s=$(now); "$@"; e=$(now); echo "$e - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# result_row WHAT SECONDS PEER_SECONDS RATIO GOAL: one row of $RESULTS
# (results.tsv's format: times in microseconds) about a dtask figure
# beside the recipe's; needs stamp and rev set. "-" seconds: no row.
result_row() {
  [ "$2" != - ] || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$stamp" "$rev" "$1" "$(echo "$2 * 1000000 / 1" | bc)" recipe \
    "$(echo "$3 * 1000000 / 1" | bc)" "$4" "$5" >>"$RESULTS"
}
