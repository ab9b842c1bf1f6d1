#!/usr/bin/env bash
# Extra Docker engines beside the machine's own, for dtask's engine matrix:
# Docker 28.5 from Debian sid, unpacked into a folder of its own (nothing is
# installed over the system's engine), in two modes:
#
#   overlay2     the classic image store (overlay2 graph driver)
#   containerd   the containerd image store ("containerd-snapshotter")
#
#   scripts/engines.sh start [MODE...]    start them (default both); no-op when up
#   scripts/engines.sh stop [MODE...]     stop them; images and volumes are kept
#   scripts/engines.sh status [MODE...]   one line each; exit 3 when one is down
#   scripts/engines.sh env MODE           print DOCKER_HOST=unix://... for MODE
#   scripts/engines.sh clean [MODE...]    stop and delete their data (images, volumes)
#   scripts/engines.sh bin                print the folders of the engines' programs, to put
#                                         first on PATH (dockerd, containerd, ...)
#   scripts/engines.sh buildx             print the path of a docker-buildx binary
#                                         (a CLI plugin; also runs on its own)
#
# Each engine has its own bridge (created with ip link), address pool, data
# root, exec root, pid file, socket and a containerd that dockerd supervises.
# It runs with --iptables=false: the machine's engine sets FORWARD to DROP, so
# this script adds FORWARD ACCEPT rules for the engine's bridge and pool and
# MASQUERADE rules for their traffic out (removed again by stop).
#
#   DTASK_ENGINES_CACHE  downloaded packages and the unpacked tree
#                        (default /var/cache/dtask-engines)
#   DTASK_ENGINES_STATE  data roots and logs (default /var/lib/dtask-engines)
#   DTASK_ENGINES_RUN    sockets, exec roots, pid files (default /run/dtask-engines)
#
# Delete the cache folder to fetch the packages again. Needs root.
set -euo pipefail

CACHE="${DTASK_ENGINES_CACHE:-/var/cache/dtask-engines}"
STATE="${DTASK_ENGINES_STATE:-/var/lib/dtask-engines}"
RUN="${DTASK_ENGINES_RUN:-/run/dtask-engines}"
ROOT="$CACHE/root"
MODES=(overlay2 containerd)
# Packages unpacked into $ROOT. sid's runc needs a newer glibc than bookworm
# has, so the machine's runc is used (not fetched); tini-static is docker-init.
PACKAGES=(docker.io containerd tini-static docker-buildx)
START_TIMEOUT=60

log() { printf '[engines] %s\n' "$*" >&2; }
die() { printf '[engines] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

# Per-mode network: a bridge with its own address and a pool for the
# networks the engine creates; neither overlaps docker0's 172.17.0.0/16 or
# the default pools of the machine's engine.
bridge_of() { case "$1" in overlay2) echo dtask-ov0 ;; containerd) echo dtask-cd0 ;; esac; }
bridge_cidr_of() { case "$1" in overlay2) echo 10.230.0.1/24 ;; containerd) echo 10.232.0.1/24 ;; esac; }
bridge_net_of() { case "$1" in overlay2) echo 10.230.0.0/24 ;; containerd) echo 10.232.0.0/24 ;; esac; }
pool_of() { case "$1" in overlay2) echo 10.231.0.0/16 ;; containerd) echo 10.233.0.0/16 ;; esac; }
snapshotter_of() { case "$1" in overlay2) echo false ;; containerd) echo true ;; esac; }
socket_of() { echo "$RUN/$1/docker.sock"; }

check_mode() {
  case "$1" in overlay2|containerd) ;; *) die "unknown mode '$1' (want: ${MODES[*]})" ;; esac
}

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (starting dockerd, bridges, iptables rules)"; }

# answers MODE: the engine's socket answers /_ping.
answers() {
  local sock
  sock="$(socket_of "$1")"
  [ -S "$sock" ] || return 1
  [ "$(curl -s -m 3 --unix-socket "$sock" http://d/_ping 2>/dev/null || true)" = OK ]
}

# ---------------------------------------------------------------- packages
apt_opts() {
  printf '%s\n' -o "Dir::Etc::sourcelist=$CACHE/apt/sources.list" -o Dir::Etc::sourceparts=- \
    -o "Dir::State::Lists=$CACHE/apt/lists" -o "Dir::Cache=$CACHE/apt/cache" \
    -o APT::Get::List-Cleanup=0 -o Acquire::Languages=none
}

# fetch_packages: apt-get download from sid with a private sources list and
# unpack with dpkg -x; the system's apt state is never touched.
fetch_packages() {
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg mirror opts
  [ -s "$keyring" ] || die "$keyring is missing (apt-get install debian-archive-keyring)"
  mirror="${DTASK_ENGINES_MIRROR:-http://deb.debian.org/debian}"
  mkdir -p "$CACHE/apt/lists/partial" "$CACHE/apt/cache/archives/partial" "$CACHE/debs"
  echo "deb [signed-by=$keyring] $mirror sid main" >"$CACHE/apt/sources.list"
  mapfile -t opts < <(apt_opts)
  log "fetching ${PACKAGES[*]} from Debian sid (once; cached in $CACHE)"
  apt-get "${opts[@]}" -qq update >"$CACHE/apt.log" 2>&1 || { tail -n 20 "$CACHE/apt.log" >&2; die "apt-get update (sid) failed"; }
  rm -f "$CACHE"/debs/*.deb
  (cd "$CACHE/debs" && apt-get "${opts[@]}" -qq download "${PACKAGES[@]}") >>"$CACHE/apt.log" 2>&1 ||
    { tail -n 20 "$CACHE/apt.log" >&2; die "apt-get download failed"; }
  rm -rf "$ROOT.tmp"
  local deb
  for deb in "$CACHE"/debs/*.deb; do dpkg -x "$deb" "$ROOT.tmp"; done
  # PATH must find the machine's runc (sid's needs glibc 2.38).
  rm -f "$ROOT.tmp/usr/sbin/runc" "$ROOT.tmp/usr/bin/runc"
  rm -rf "$ROOT"
  mv "$ROOT.tmp" "$ROOT"
}

ensure_packages() {
  [ -x "$ROOT/usr/sbin/dockerd" ] && [ -x "$ROOT/usr/bin/containerd" ] &&
    [ -x "$ROOT/usr/bin/docker-init" ] && return 0
  command -v runc >/dev/null 2>&1 || die "no runc on PATH (apt-get install runc)"
  fetch_packages
  "$ROOT/usr/sbin/dockerd" --version >/dev/null || die "the unpacked dockerd does not run"
}

# ---------------------------------------------------------------- network
ensure_bridge() {
  local br cidr
  br="$(bridge_of "$1")"; cidr="$(bridge_cidr_of "$1")"
  ip link show "$br" >/dev/null 2>&1 || ip link add "$br" type bridge
  ip -4 addr show dev "$br" | grep -q "inet $cidr " || ip addr add "$cidr" dev "$br"
  ip link set "$br" up
}

# nat_rules MODE / forward_rules MODE: the engine's iptables rules, one per
# line (iptables arguments after the chain). Containers reach each other
# and the host through FORWARD (the machine's engine sets its policy to
# DROP) and the outside through MASQUERADE (builds run apt-get).
forward_rules() {
  local br pool tag="dtask-engines-$1"
  br="$(bridge_of "$1")"; pool="$(pool_of "$1")"
  printf '%s\n' "-i $br -m comment --comment $tag -j ACCEPT" "-o $br -m comment --comment $tag -j ACCEPT" \
    "-s $pool -m comment --comment $tag -j ACCEPT" "-d $pool -m comment --comment $tag -j ACCEPT"
}
nat_rules() {
  local net tag="dtask-engines-$1"
  for net in "$(bridge_net_of "$1")" "$(pool_of "$1")"; do
    echo "-s $net ! -d $net -m comment --comment $tag -j MASQUERADE"
  done
}

# ensure_rules MODE / drop_rules MODE: add (once) or remove them all.
ensure_rules() {
  local rule
  # shellcheck disable=SC2086  # a rule is several words
  while read -r rule; do
    iptables -C FORWARD $rule 2>/dev/null || iptables -I FORWARD 1 $rule
  done < <(forward_rules "$1")
  # shellcheck disable=SC2086
  while read -r rule; do
    iptables -t nat -C POSTROUTING $rule 2>/dev/null || iptables -t nat -A POSTROUTING $rule
  done < <(nat_rules "$1")
}

drop_rules() {
  local rule
  # shellcheck disable=SC2086
  while read -r rule; do
    while iptables -C FORWARD $rule 2>/dev/null; do iptables -D FORWARD $rule; done
  done < <(forward_rules "$1")
  # shellcheck disable=SC2086
  while read -r rule; do
    while iptables -t nat -C POSTROUTING $rule 2>/dev/null; do iptables -t nat -D POSTROUTING $rule; done
  done < <(nat_rules "$1")
}

# ---------------------------------------------------------------- daemons
write_config() {
  local mode="$1" dir="$RUN/$1"
  mkdir -p "$dir" "$STATE/$mode"
  cat >"$STATE/$mode/daemon.json" <<EOF
{
  "hosts": ["unix://$(socket_of "$mode")"],
  "data-root": "$STATE/$mode/data",
  "exec-root": "$dir/exec",
  "pidfile": "$dir/dockerd.pid",
  "bridge": "$(bridge_of "$mode")",
  "iptables": false,
  "ip6tables": false,
  "mtu": $(cat "/sys/class/net/$(ip route show default | awk '{ print $5; exit }')/mtu" 2>/dev/null || echo 1500),
  "default-address-pools": [{ "base": "$(pool_of "$mode")", "size": 24 }],
$([ "$mode" = overlay2 ] && echo '  "storage-driver": "overlay2",')
  "features": { "containerd-snapshotter": $(snapshotter_of "$mode") },
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "3" }
}
EOF
}

# forget_networks MODE: drop the engine's stored networks before it starts.
# A dockerd that finds its old default "bridge" network in its store, and has
# default-address-pools set, deletes the link named docker0 on start-up
# (moby's configureNetworking) -- whatever bridge it was told to use. That
# link is the machine engine's, so a restart of an extra engine broke every
# container start on the machine engine ("could not find bridge docker0").
# The extra engines keep no networks worth keeping across restarts.
forget_networks() {
  rm -f "$STATE/$1/data/network/files/local-kv.db"
}

# docker0_guard MODE HAD: fail loudly if starting MODE removed the machine's docker0.
docker0_guard() {
  [ "$2" = yes ] || return 0
  ip link show docker0 >/dev/null 2>&1 && return 0
  die "$1: starting the engine removed the machine engine's docker0 bridge; restart the machine's dockerd to get it back"
}

dockerd_pid() {
  local f="$RUN/$1/dockerd.pid" pid
  [ -s "$f" ] || return 1
  pid="$(cat "$f")"
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$STATE/$1/daemon.json" || return 1
  echo "$pid"
}

start_one() {
  local mode="$1" log="$STATE/$1/dockerd.log" pid i had_docker0=no
  ip link show docker0 >/dev/null 2>&1 && had_docker0=yes
  ensure_bridge "$mode"
  ensure_rules "$mode"
  if answers "$mode"; then
    printf 'engine %-10s up       %s\n' "$mode" "DOCKER_HOST=unix://$(socket_of "$mode")"
    return 0
  fi
  if pid="$(dockerd_pid "$mode")"; then
    log "$mode: dockerd (pid $pid) runs but does not answer yet; waiting"
  else
    write_config "$mode"
    forget_networks "$mode"
    # 9>&-: the daemon must not hold the lock. PATH: the unpacked containerd, shim, docker-init and docker-proxy
    # first, then the machine's runc.
    PATH="$ROOT/usr/bin:$ROOT/usr/sbin:$ROOT/usr/libexec/docker:$PATH" \
      setsid nohup "$ROOT/usr/sbin/dockerd" --config-file "$STATE/$mode/daemon.json" \
      >>"$log" 2>&1 </dev/null 9>&- &
    pid=$!
  fi
  for ((i = 0; i < START_TIMEOUT * 5; i++)); do
    answers "$mode" && break
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$mode: dockerd exited during start-up (log: $log)"; }
    sleep 0.2
  done
  answers "$mode" || die "$mode: dockerd did not answer within ${START_TIMEOUT}s (log: $log)"
  docker0_guard "$mode" "$had_docker0"
  printf 'engine %-10s started  %s (pid %s)\n' "$mode" "DOCKER_HOST=unix://$(socket_of "$mode")" "$pid"
}

stop_one() {
  local mode="$1" pid i br
  if pid="$(dockerd_pid "$mode")"; then
    kill "$pid" 2>/dev/null || true
    # dockerd stops its containers first (up to their stop timeout).
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    printf 'engine %-10s stopped (pid %s)\n' "$mode" "$pid"
  else
    printf 'engine %-10s not running\n' "$mode"
  fi
  drop_rules "$mode"
  br="$(bridge_of "$mode")"
  if ip link show "$br" >/dev/null 2>&1; then ip link del "$br" || true; fi
}

status_one() {
  local mode="$1" sock v
  sock="$(socket_of "$mode")"
  if answers "$mode"; then
    v="$(curl -s -m 3 --unix-socket "$sock" http://d/version | sed -n 's/.*"Version":"\([^"]*\)".*"ApiVersion".*/\1/p' | head -n 1)"
    printf 'engine %-10s up       %s (Docker %s)\n' "$mode" "DOCKER_HOST=unix://$sock" "${v:-?}"
  else
    printf 'engine %-10s down\n' "$mode"
    return 3
  fi
}

# with_lock CMD...: one start/stop at a time (helpers call start in parallel).
with_lock() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  "$@"
}

modes_from_args() {
  local m
  if [ "$#" -eq 0 ]; then set -- "${MODES[@]}"; fi
  for m in "$@"; do check_mode "$m"; echo "$m"; done
}

main() {
  local cmd="${1:-}" m rc=0
  [ "$#" -gt 0 ] && shift
  case "$cmd" in
    start)
      need_root
      with_lock ensure_packages
      for m in $(modes_from_args "$@"); do with_lock start_one "$m"; done ;;
    stop)
      need_root
      for m in $(modes_from_args "$@"); do with_lock stop_one "$m"; done ;;
    clean)
      need_root
      for m in $(modes_from_args "$@"); do with_lock stop_one "$m"; rm -rf "${STATE:?}/$m"; done ;;
    status)
      for m in $(modes_from_args "$@"); do status_one "$m" || rc=3; done
      return "$rc" ;;
    env)
      [ "$#" -eq 1 ] || die "usage: engines.sh env MODE"
      check_mode "$1"
      echo "DOCKER_HOST=unix://$(socket_of "$1")" ;;
    bin)
      [ -x "$ROOT/usr/sbin/dockerd" ] || die "not fetched yet: run engines.sh start"
      echo "$ROOT/usr/bin:$ROOT/usr/sbin" ;;
    buildx)
      need_root
      with_lock ensure_packages
      echo "$ROOT/usr/libexec/docker/cli-plugins/docker-buildx" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
