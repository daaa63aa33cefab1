# shellcheck shell=bash
# Shared helpers for the network-namespace benchmarks (sourced, not run).
#
# Naming contract (topology.sh creates, everything else relies on it):
#   host i (0 = origin, 1..N = nodes)  -> network namespace "shoal-b-<i>", interface eth0,
#                                          address host_ip i (inside 198.18.0.0/15)
#   the switch                          -> namespace "shoal-b-br" holding the bridge(s)
# Every namespace, cgroup and scratch directory the benchmarks create starts with the prefix
# below, so `topology.sh down` can always find and remove what an interrupted run left.

SHOAL_NS_PREFIX="shoal-b-"
SHOAL_BR_NS="${SHOAL_NS_PREFIX}br"
SHOAL_CG_ROOT="/sys/fs/cgroup/cpuacct"
SHOAL_STATE_DIR="${SHOAL_STATE_DIR:-/run/shoal-bench}"

ns_name() { echo "${SHOAL_NS_PREFIX}$1"; }

# host_ip I: 198.18.0.1 + I, spilling into the third octet (the /15 holds 131k addresses).
host_ip() {
  local n=$((1 + $1))
  echo "198.$((18 + n / 65536)).$(((n / 256) % 256)).$((n % 256))"
}

# nsx I CMD...: run CMD inside host I's namespace.
nsx() {
  local i=$1
  shift
  ip netns exec "$(ns_name "$i")" "$@"
}

# rate_to_bytes RATE: tc-style rate ("100mbit", "50mbit", "1gbit", "800kbit") -> bytes/s.
rate_to_bytes() {
  local r=${1,,} num unit
  num=${r%%[a-z]*}
  unit=${r#"$num"}
  case $unit in
    gbit) echo $((num * 125000000)) ;;
    mbit) echo $((num * 125000)) ;;
    kbit) echo $((num * 125)) ;;
    bit | "") echo $((num / 8)) ;;
    *)
      echo "unknown rate unit in '$1' (use kbit, mbit or gbit)" >&2
      return 1
      ;;
  esac
}

# size_to_bytes SIZE: "128M", "512M", "1G", "4096" -> bytes (binary units).
size_to_bytes() {
  local s=${1^^} num unit
  num=${s%%[A-Z]*}
  unit=${s#"$num"}
  case $unit in
    G | GIB) echo $((num << 30)) ;;
    M | MIB) echo $((num << 20)) ;;
    K | KIB) echo $((num << 10)) ;;
    "" | B) echo "$num" ;;
    *)
      echo "unknown size unit in '$1' (use K, M or G)" >&2
      return 1
      ;;
  esac
}

# wait_for COND_CMD TIMEOUT_S WHAT: poll a condition (every 50 ms) until it holds.
wait_for() {
  local cond=$1 timeout=$2 what=$3 deadline
  deadline=$((SECONDS + timeout))
  until eval "$cond"; do
    if ((SECONDS >= deadline)); then
      echo "timed out after ${timeout}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

# tcp_listening I PORT: true when host I has a TCP socket listening on PORT.
tcp_listening() {
  nsx "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q .
}

# kill_ns_procs NS...: TERM, then (after up to 2 s) KILL, every process whose network namespace
# is one of NS. All namespaces at once: clients such as aria2c spend seconds in a graceful
# shutdown (a last announce to a tracker that is already gone).
kill_ns_procs() {
  local pids ns
  ns_pids() { for ns in "$@"; do ip netns pids "$ns" 2>/dev/null || true; done; }
  pids=$(ns_pids "$@")
  [[ -z $pids ]] && return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 1 40); do
    pids=$(ns_pids "$@")
    [[ -z $pids ]] && return 0
    sleep 0.05
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

# cpu_busy_total: "<busy_jiffies> <total_jiffies>" summed over all cores from /proc/stat.
# busy = user+nice+system+irq+softirq+steal; total adds idle and iowait.
cpu_busy_total() {
  awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6; exit }' /proc/stat
}
