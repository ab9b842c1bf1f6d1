#!/usr/bin/env bash
# Team cache benchmark (docs/team-cache.md): machine A (the matrix's Docker
# 28.5 overlay2 engine of scripts/engines.sh, or BENCH_A_HOST) runs a
# pipeline with the remote cache on the local registry; machine B (a second,
# empty engine of the same version, started here with its own data root and
# removed at the end, or BENCH_B_HOST) runs it from a fresh copy of the
# sources with no .dtask/.
#
#   B cold:  the pipeline on B without the team cache (median of BENCH_RUNS)
#   B warm:  the pipeline on B with it: every target a remote hit, no
#            container started (median of BENCH_RUNS)            goal <= 0.05x
#   growth:  what the registry repository gains when B runs after a
#            one-file change (the deps stage writes a 20 MB layer) goal <= 2 MB
#   deploy:  A deploys the image to B's engine (a remote engine, as ssh://
#            or tcp:// ones are), then again after a change of one 4 MB
#            layer: the bytes B's engine pulled from the registry (the
#            registry's access log) / that layer's size       goal <= 1.2x
#
# A and B run the same Docker version: BuildKit's cache keys differ between
# versions (20.10's and 28.5's), so a B of another version runs the 8 s
# deps step again, and it writes 20 MB of new random bytes (new content, which
# no content addressing can spare). BENCH_A_HOST= (empty: the machine's own
# engine) measures that case.
#
# The pipeline: a two-stage build whose deps stage sleeps 8 s and writes a
# 20 MB layer, a container test, and an sh target with sources.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
runs="${BENCH_RUNS:-3}"
reg="${BENCH_REGISTRY:-127.0.0.1:5000}"
storage="${BENCH_REGISTRY_STORAGE:-${DTASK_REGISTRY_DIR:-${TMPDIR:-/tmp}/dtask-registry}/storage-plain}"
base="${BENCH_BASE:-busybox:latest}"
engines="$root/scripts/engines.sh"
[ -x "$engines" ] || engines="/work/wt/engines/scripts/engines.sh"
A_HOST="${BENCH_A_HOST-$("$engines" env overlay2 | sed -n 's/^DOCKER_HOST=//p')}"
B_HOST="${BENCH_B_HOST:-}"
curl -fsS -m 3 "http://$reg/v2/" >/dev/null || "$root/scripts/fixtures/registry.sh" start

tok="$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d)"
repo="dtask-bench/team-$tok"
apptag="bench-team/app-$tok:test"
dockerA() { DOCKER_HOST="$A_HOST" /usr/bin/docker "$@"; }
dockerB() { DOCKER_HOST="$B_HOST" /usr/bin/docker "$@"; }
if [ -z "$A_HOST" ]; then dockerA() { env -u DOCKER_HOST /usr/bin/docker "$@"; }; fi

fresh() { # $1: A or B — remove what the bench built, prune the builder cache
  local d="docker$1"
  $d image ls -q --filter "label=dtask.bench=$tok" | sort -u | xargs -r $d rmi -f >/dev/null 2>&1 || true
  $d image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "(bench-team/app-$tok|$repo)" | xargs -r $d rmi -f >/dev/null 2>&1 || true
  $d builder prune -af >/dev/null 2>&1 || true
}
cleanup() {
  dockerB rm -f "bench-team-$tok" >/dev/null 2>&1 || true
  fresh A; [ -n "${bpid:-}" ] || fresh B
  stop_b
  rm -rf "$work" "$storage/docker/registry/v2/repositories/$repo"
}
trap cleanup EXIT

# start_b: B, a second Docker engine of A's version with nothing in it but
# the base image: its own data root, exec root, socket and bridge.
start_b() {
  local bin i
  bin="$("$engines" bin)"
  bdir="$work/b-engine"; bbr="dtb$tok"
  mkdir -p "$bdir"
  ip link add "$bbr" type bridge && ip addr add "10.214.$((RANDOM % 250 + 1)).1/24" dev "$bbr" && ip link set "$bbr" up
  echo '{}' >"$bdir/daemon.json"
  PATH="$bin:$PATH" setsid dockerd --config-file "$bdir/daemon.json" --host "unix://$bdir/docker.sock" \
    --data-root "$bdir/data" --exec-root "$bdir/exec" --pidfile "$bdir/dockerd.pid" --storage-driver overlay2 \
    --bridge "$bbr" --iptables=false --ip6tables=false --ip-masq=false >"$bdir/dockerd.log" 2>&1 &
  bpid=$!
  B_HOST="unix://$bdir/docker.sock"
  for i in $(seq 120); do
    if dockerB version >/dev/null 2>&1; then
      dockerA save "$base" | dockerB load -q >/dev/null
      return 0
    fi
    sleep 0.5
  done
  cat "$bdir/dockerd.log"; echo "B's engine did not start"; exit 1
}
stop_b() {
  [ -n "${bpid:-}" ] || return 0
  kill "$bpid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$bpid" 2>/dev/null || true
  ip link del "$bbr" 2>/dev/null || true
  bpid=
}
[ -n "$B_HOST" ] || start_b

if [ -n "${BENCH_DTASK:-}" ]; then cp "$BENCH_DTASK" "$work/dtask"; else (cd "$root" && go build -o "$work/dtask" ./cmd/dtask); fi
app="$work/app"
mkdir -p "$app/src"
cat >"$app/Dockerfile" <<DOCKERFILE
FROM $base AS deps
LABEL dtask.bench=$tok
RUN sleep 8 && head -c 20971520 /dev/urandom > /deps.bin
FROM $base
LABEL dtask.bench=$tok
COPY --from=deps /deps.bin /deps.bin
COPY src/ /app/
DOCKERFILE
echo "version 1" >"$app/src/main.txt"
cat >"$app/Taskfile.toml" <<TOML
version = 1
default = "ci"
[cache]
remote = "$reg/$repo"
[targets.image]
build = { context = ".", tags = ["$apptag"] }
[targets.test]
deps = ["image"]
run = { image = "$apptag", cmd = ["sh", "-c", "test -s /deps.bin && cat /app/main.txt"] }
[targets.lint]
sh = "grep -q version src/main.txt"
sources = ["src/**"]
[targets.ci]
deps = ["test", "lint"]
[targets.deploy]
deps = ["image"]
deploy = { host = "$B_HOST", image = "$apptag", name = "bench-team-$tok", cmd = ["sleep", "3600"] }
TOML

# dtaskon HOST DIR ARGS...: run dtask in DIR against HOST's engine.
dtaskon() {
  local host="$1" dir="$2"; shift 2
  if [ -z "$host" ]; then (cd "$dir" && env -u DOCKER_HOST "$work/dtask" --output plain "$@"); else
    (cd "$dir" && DOCKER_HOST="$host" "$work/dtask" --output plain "$@"); fi
}
copy() { rm -rf "$2"; mkdir -p "$2"; cp -r "$1/Dockerfile" "$1/Taskfile.toml" "$1/src" "$2/"; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
repo_bytes() { # bytes of the distinct blobs (by digest) the repository links to
  local d="$storage/docker/registry/v2/repositories/$repo"
  [ -d "$d" ] || { echo 0; return; }
  find "$d" -name link -path '*/_layers/*' -o -name link -path '*/_manifests/revisions/*' | while read -r l; do
    cut -d: -f2 <"$l"; echo
  done | sort -u | while read -r h; do
    [ -n "$h" ] && stat -c %s "$storage/docker/registry/v2/blobs/sha256/${h:0:2}/$h/data" 2>/dev/null || true
  done | awk '{s+=$1} END {print s+0}'
}

echo "machine A: first run, publishing to $reg/$repo"
dtaskon "$A_HOST" "$app" ci >"$work/a.log" 2>&1 || { cat "$work/a.log"; exit 1; }
grep -q 'remote cache .*published' "$work/a.log" || { cat "$work/a.log"; echo "A published nothing"; exit 1; }

cold=() warm=()
for i in $(seq "$runs"); do
  copy "$app" "$work/b$i"; fresh B
  s=$(now); dtaskon "$B_HOST" "$work/b$i" --remote-cache= ci >"$work/bcold.log" 2>&1 || { cat "$work/bcold.log"; exit 1; }; e=$(now)
  cold+=("$(echo "$e - $s" | bc)")
  copy "$app" "$work/w$i"; fresh B
  since=$(date +%s)
  s=$(now); dtaskon "$B_HOST" "$work/w$i" ci >"$work/bwarm.log" 2>&1 || { cat "$work/bwarm.log"; exit 1; }; e=$(now)
  warm+=("$(echo "$e - $s" | bc)")
  hits=$(grep -cE "^[a-z]+ +cached" "$work/bwarm.log" || true)
  # Other users of B's engine start containers too: count this run's.
  started=$(dockerB events --since "$since" --until "$(date +%s)" --filter type=container --filter event=start --format '{{.Actor.Attributes.image}}' | grep -c "$tok" || true)
  if grep -q 'running' "$work/bwarm.log" || [ "$started" != 0 ]; then
    cat "$work/bwarm.log"; echo "B warm run ran something ($started containers started)"; exit 1
  fi
done
mc=$(printf '%s\n' "${cold[@]}" | median); mw=$(printf '%s\n' "${warm[@]}" | median)
printf '%-44s %8.2fs\n' "B cold (no team cache), median of $runs" "$mc"
printf '%-44s %8.2fs  ratio %.3f (goal <= 0.05); %s hits, 0 containers started\n' "B warm from the team cache, median of $runs" "$mw" "$(echo "$mw / $mc" | bc -l)" "$hits"

before=$(repo_bytes)
echo "version 2" >"$work/w1/src/main.txt"
s=$(now); dtaskon "$B_HOST" "$work/w1" -v ci >"$work/bchange.log" 2>&1 || { cat "$work/bchange.log"; exit 1; }; e=$(now)
after=$(repo_bytes)
ran=$(grep -c 'running' "$work/bchange.log" || true)
deps=$(grep -A1 'deps 2/2' "$work/bchange.log" | grep -q CACHED && echo 'reused from the team cache' || echo 'ran again')
printf '%-44s %8.2fs  %s targets ran; deps stage %s\n' "B after a one-file change" "$(echo "$e - $s" | bc)" "$ran" "$deps"
printf '%-44s %8.2f MB (goal <= 2 MB; the deps layer is 20 MB)\n' "registry growth after the change" "$(echo "($after - $before) / 1048576" | bc -l)"
grep -E '^(pushed|pulled) |remote cache .*published' "$work/bchange.log" || true

# Deploy to B's engine through the team cache: a one-layer change.
reglog="${BENCH_REGISTRY_LOG:-${DTASK_REGISTRY_DIR:-${TMPDIR:-/tmp}/dtask-registry}/plain.log}"
pulled() { # bytes of blobs served to GET requests for the repository since line $1 of the log
  tail -n +"$1" "$reglog" | grep -E "\"GET /v2/$repo/blobs/sha256:[0-9a-f]+ HTTP/1.1\" 200 " | awk '{s+=$10} END {print s+0}'
}
head -c 4194304 /dev/urandom >"$app/src/data.bin"
dtaskon "$A_HOST" "$app" deploy >"$work/d1.log" 2>&1 || { cat "$work/d1.log"; exit 1; }
head -c 4194304 /dev/urandom >"$app/src/data.bin"
dtaskon "$A_HOST" "$app" image >"$work/d2a.log" 2>&1 || { cat "$work/d2a.log"; exit 1; }
layer=$(dockerA image inspect "$apptag" --format '{{json .RootFS.Layers}}' >/dev/null && dockerA history --format '{{.Size}} {{.CreatedBy}}' --human=false "$apptag" | awk '/COPY|copy/ && $1 > 1000000 {print $1; exit}')
mark=$(($(wc -l <"$reglog") + 1))
dtaskon "$A_HOST" "$app" deploy >"$work/d2.log" 2>&1 || { cat "$work/d2.log"; exit 1; }
got=$(pulled "$mark")
printf '%-44s %8.2f MB pulled by B for a %.2f MB layer: ratio %.3f (goal <= 1.2)\n' "deploy of a one-layer change to B" \
  "$(echo "$got / 1048576" | bc -l)" "$(echo "${layer:-0} / 1048576" | bc -l)" "$(echo "$got / ${layer:-1}" | bc -l)"
grep -E '^(pushed|pulled) |copying' "$work/d2.log" || true
