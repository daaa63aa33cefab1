#!/usr/bin/env bash
# A shaped "fleet" on one machine: N+1 hosts, each a network namespace with one veth link to a
# switch (a Linux bridge in a namespace of its own), every link shaped with tbf in both
# directions. Nothing gets an address in the root namespace, so benchmark traffic cannot leave
# the namespaces.
#
#   topology.sh up --nodes N [--rate 100mbit] [--dcs K --wan-rate 200mbit]
#                  [--queue-ms 100] [--cc cubic|bbr|host]
#   topology.sh check [--size 64M]     # measure one link's HTTP goodput (writes goodput file)
#   topology.sh run --nodes N ... -- CMD ARGS   # up, run CMD, always down (EXIT/INT/TERM)
#   topology.sh exec I CMD ARGS         # run CMD in host I's namespace
#   topology.sh status                  # the hosts, addresses and qdiscs
#   topology.sh down                    # remove everything named shoal-b-* (idempotent)
#
# Hosts: 0 = origin (seeder + tracker), 1..N = nodes; namespaces "shoal-b-<i>" ("shoal-b-br" is
# the switch), addresses 198.18.0.1 + i (/15). Shaping: tbf on eth0 inside the host namespace
# (egress = the host's upload) and on the switch-side end h<i> (egress = the host's download).
#
# Queue and congestion control (the network model):
#   --queue-ms MS: the depth of each link's tbf FIFO in time at the link rate (tbf latency;
#     default TBF_LATENCY or 10 ms; 100 ms before 2026-11-29). This kernel has no fq_codel, fq, sfq or codel (only tbf,
#     htb and the FIFOs), so a fair queue with a ~5 ms standing queue, what a real host's default
#     qdisc keeps, cannot be built; a short FIFO is the nearest available model. With a deep
#     FIFO, a host whose upload saturates its link queues its own download flows' ACKs behind
#     that much data; BBR then holds those flows' cwnd near 2 x bw x min_rtt and the host's
#     download slows while it uploads.
#   --cc cubic|bbr|reno: the congestion control of every host's route to the fleet (default
#     cubic, Linux's default); --cc host: what a new namespace inherits (here bbr, the model
#     before 2026-11-29).
# Datacenters (--dcs K > 1): nodes are split into K contiguous groups dc1..dcK (the origin is in
# dc1); each DC has its own bridge, joined to a core bridge by a "WAN" veth pair shaped with tbf
# at --wan-rate in both directions. This kernel has no netem, so inter-DC *latency* cannot be
# emulated with tc; the inter-DC cost is modelled as scarce shared bandwidth only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

TBF_BURST=${TBF_BURST:-64kb}
TBF_LATENCY=${TBF_LATENCY:-10ms}
CC=cubic

die() {
  echo "topology: $*" >&2
  exit 2
}
[[ $(id -u) -eq 0 ]] || die "needs root (network namespaces and tc)"

shape() { # shape NS DEV RATE
  ip -n "$1" link set "$2" up
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "$3" burst "$TBF_BURST" \
    latency "$TBF_LATENCY"
}

cmd_down() {
  local ns all
  all=$(ip netns list | awk '{print $1}' | grep "^${SHOAL_NS_PREFIX}" || true)
  # shellcheck disable=SC2086
  [[ -n $all ]] && kill_ns_procs $all
  for ns in $all; do
    ip netns del "$ns" 2>/dev/null || true
  done
  # Nothing is created in the root namespace, but an older or foreign run might have: remove any
  # link carrying our prefix there too.
  for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${SHOAL_NS_PREFIX}" \
    || true); do
    ip link del "$l" 2>/dev/null || true
  done
  for cg in "$SHOAL_CG_ROOT/${SHOAL_NS_PREFIX}"*; do
    [[ -d $cg ]] && rmdir "$cg" 2>/dev/null || true
  done
  rm -f "$SHOAL_STATE_DIR/topology.env"
}

new_ns() {
  ip netns add "$1"
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link set lo up
}

cmd_up() {
  local nodes="" rate=100mbit dcs=1 wan_rate=""
  while (($#)); do
    case $1 in
      --nodes) nodes=$2; shift 2 ;;
      --rate) rate=$2; shift 2 ;;
      --dcs) dcs=$2; shift 2 ;;
      --wan-rate) wan_rate=$2; shift 2 ;;
      --queue-ms) TBF_LATENCY=${2}ms; shift 2 ;;
      --cc) CC=$2; shift 2 ;;
      *) die "up: unknown option $1" ;;
    esac
  done
  [[ $nodes =~ ^[0-9]+$ && $nodes -ge 1 ]] || die "up: --nodes N (N >= 1) is required"
  [[ $dcs =~ ^[0-9]+$ && $dcs -ge 1 && $dcs -le $nodes ]] || die "up: --dcs must be 1..N"
  rate_to_bytes "$rate" >/dev/null || die "up: bad --rate"
  [[ $TBF_LATENCY =~ ^[0-9]+ms$ ]] || die "up: --queue-ms MS"
  [[ $CC == host ]] || grep -qw "$CC" /proc/sys/net/ipv4/tcp_available_congestion_control ||
    die "up: --cc $CC is not available here"
  if ((dcs > 1)); then
    [[ -n $wan_rate ]] || die "up: --dcs > 1 needs --wan-rate"
    rate_to_bytes "$wan_rate" >/dev/null || die "up: bad --wan-rate"
  fi
  if ip netns list | grep -q "^${SHOAL_NS_PREFIX}"; then
    die "a topology already exists (run: $0 down)"
  fi
  # A half-built topology is worse than none: tear down on any failure or signal during set-up.
  trap 'cmd_down; exit 130' INT TERM
  trap 'rc=$?; if ((rc != 0)); then cmd_down; fi' EXIT

  new_ns "$SHOAL_BR_NS"
  local d
  if ((dcs == 1)); then
    ip -n "$SHOAL_BR_NS" link add br0 type bridge
    ip -n "$SHOAL_BR_NS" link set br0 up
  else
    ip -n "$SHOAL_BR_NS" link add core type bridge
    ip -n "$SHOAL_BR_NS" link set core up
    for ((d = 1; d <= dcs; d++)); do
      ip -n "$SHOAL_BR_NS" link add "dc$d" type bridge
      ip -n "$SHOAL_BR_NS" link set "dc$d" up
      ip -n "$SHOAL_BR_NS" link add "wan$d" type veth peer name "core$d"
      ip -n "$SHOAL_BR_NS" link set "wan$d" master "dc$d"
      ip -n "$SHOAL_BR_NS" link set "core$d" master core
      shape "$SHOAL_BR_NS" "wan$d" "$wan_rate"   # egress toward the core: DC d's WAN upload
      shape "$SHOAL_BR_NS" "core$d" "$wan_rate"  # egress toward DC d: its WAN download
    done
  fi

  mkdir -p "$SHOAL_STATE_DIR"
  local env="$SHOAL_STATE_DIR/topology.env.tmp" i ns dc bridge
  {
    echo "TOPO_NODES=$nodes"
    echo "TOPO_RATE=$rate"
    echo "TOPO_DCS=$dcs"
    echo "TOPO_WAN_RATE=$wan_rate"
    echo "TOPO_QUEUE=$TBF_LATENCY"
    echo "TOPO_CC=$CC"
  } >"$env"
  for ((i = 0; i <= nodes; i++)); do
    ns=$(ns_name "$i")
    # Contiguous groups: nodes 1..N/K in dc1, and so on; the origin sits in dc1.
    dc=$((i == 0 ? 1 : (i - 1) * dcs / nodes + 1))
    bridge=$([[ $dcs -eq 1 ]] && echo br0 || echo "dc$dc")
    new_ns "$ns"
    ip link add "h$i" netns "$SHOAL_BR_NS" type veth peer name eth0 netns "$ns"
    ip -n "$SHOAL_BR_NS" link set "h$i" master "$bridge"
    ip -n "$ns" addr add "$(host_ip "$i")/15" dev eth0
    shape "$ns" eth0 "$rate"             # upload
    shape "$SHOAL_BR_NS" "h$i" "$rate"   # download
    if [[ $CC != host ]]; then
      # Per route, not per netns sysctl: a namespace may only pick a congestion control listed
      # in the host's tcp_allowed_congestion_control (here "reno bbr"), and the host's settings
      # are not the benchmark's to change. A route's congctl is the default for its sockets.
      ip -n "$ns" route replace 198.18.0.0/15 dev eth0 proto kernel scope link \
        src "$(host_ip "$i")" congctl "$CC"
    fi
    echo "HOST_DC_$i=dc$dc" >>"$env"
  done
  mv "$env" "$SHOAL_STATE_DIR/topology.env"
  trap - INT TERM EXIT
  echo "topology: origin + $nodes nodes at $rate per link (queue $TBF_LATENCY, cc $CC)$( ((dcs > 1)) &&
    echo ", $dcs DCs joined by $wan_rate WAN links")"
}

cmd_status() {
  [[ -f $SHOAL_STATE_DIR/topology.env ]] || { echo "no topology"; return 0; }
  cat "$SHOAL_STATE_DIR/topology.env"
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^${SHOAL_NS_PREFIX}" | sort -V); do
    echo "== $ns"
    ip -n "$ns" -br addr show | grep -v '^lo' || true
    ip netns exec "$ns" tc qdisc show | grep tbf || true
    ip -n "$ns" route show | grep -v '^$' || true
  done
}

# check: HTTP goodput of one link (origin -> node 1), the figure the distribution bound uses.
cmd_check() {
  local size=64M
  while (($#)); do
    case $1 in
      --size) size=$2; shift 2 ;;
      *) die "check: unknown option $1" ;;
    esac
  done
  [[ -f $SHOAL_STATE_DIR/topology.env ]] || die "check: no topology (run up first)"
  # shellcheck disable=SC1091
  source "$SHOAL_STATE_DIR/topology.env"
  local dir
  dir=$(mktemp -d "/tmp/${SHOAL_NS_PREFIX}check.XXXXXX")
  # shellcheck disable=SC2064  # expand $dir now: it is local and gone when the trap runs
  trap "kill_ns_procs '$(ns_name 0)'; rm -rf '$dir'" EXIT
  head -c "$(size_to_bytes "$size")" /dev/urandom >"$dir/blob"
  nsx 0 python3 -m http.server --bind "$(host_ip 0)" --directory "$dir" 8000 \
    >/dev/null 2>&1 &
  wait_for "tcp_listening 0 8000" 10 "http.server on host 0"
  local speed nominal
  speed=$(nsx 1 curl -s -o /dev/null -w '%{speed_download}' "http://$(host_ip 0):8000/blob")
  speed=${speed%.*}
  nominal=$(rate_to_bytes "$TOPO_RATE")
  mkdir -p "$SHOAL_STATE_DIR"
  echo "$speed" >"$SHOAL_STATE_DIR/goodput-$TOPO_RATE"
  awk -v s="$speed" -v n="$nominal" -v r="$TOPO_RATE" 'BEGIN {
    printf "link check: one %s link carries %.2f MB/s of HTTP goodput (%.1f%% of nominal %.2f MB/s)\n",
      r, s / 1e6, 100 * s / n, n / 1e6 }'
}

cmd_run() {
  local up_args=()
  while (($#)) && [[ $1 != -- ]]; do up_args+=("$1"); shift; done
  [[ ${1:-} == -- ]] || die "run: usage: run UP-OPTIONS -- CMD ARGS"
  shift
  cmd_up "${up_args[@]}"
  trap 'cmd_down' EXIT
  trap 'exit 130' INT TERM
  "$@"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  check) shift; cmd_check "$@" ;;
  status) cmd_status ;;
  run) shift; cmd_run "$@" ;;
  exec)
    shift
    i=${1:?host index}
    shift
    nsx "$i" "$@"
    ;;
  *)
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
