# shellcheck shell=bash
# A planner and a simulated fleet on loopback, for the control-plane benches (sourced).
#   sim_fleet_up WORK N [CONNECT_RATE [SIM-ARGS...]]: init and serve a planner in WORK/planner,
#       then N shoal-sim nodes (at most 5,000 per process: descriptors and CPU spread) joining
#       it at CONNECT_RATE per second in total (default 1,000: the planner spends ~1 ms of CPU
#       on a full TLS handshake and registration, and somaxconn is 4096); waits until every
#       simulator has registered all its nodes. Sets planner_pid, planner_dir, planner_addr.
#   sim_fleet_down: stop the simulators and the planner.
#   cpu_seconds PID, wait_file FILE [TIMEOUT_S], planner_hwm_mib
# Needs $bin (the build's bin directory). Optional: planner_args (more `serve` flags) and
# fleet_wait_s (how long to wait for the simulators to register; default 180).
planner_pid=""
sim_pids=()
planner_args=("${planner_args[@]}")

cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

wait_file() {
  local tenths=$((${2:-180} * 10))
  for _ in $(seq 1 "$tenths"); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2
  return 1
}

planner_hwm_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$planner_pid/status"; }

sim_fleet_up() {
  local work=$1 n=$2 rate=${3:-1000}
  shift 3 2>/dev/null || shift $#
  planner_dir="$work/planner"
  "$bin/shoal-planner" init --state-dir "$planner_dir" >/dev/null
  "$bin/shoal-planner" serve --state-dir "$planner_dir" --listen 127.0.0.1:0 \
    --heartbeat-ms 10000 "${planner_args[@]}" 2>"$work/planner.log" &
  planner_pid=$!
  wait_file "$planner_dir/planner.ready"
  planner_addr=$(sed -n 's/^address=//p' "$planner_dir/planner.ready")
  local per=5000 procs i count
  procs=$(((n + per - 1) / per))
  for i in $(seq 0 $((procs - 1))); do
    count=$((i == procs - 1 ? n - i * per : per))
    "$bin/shoal-sim" --planner "$planner_addr" --planner-dir "$planner_dir" --nodes "$count" \
      --prefix "sim$i-" --threads 1 --connect-rate $((rate / procs)) \
      --ready-file "$work/sim-$i.ready" "$@" 2>"$work/sim-$i.log" &
    sim_pids+=($!)
  done
  for i in $(seq 0 $((procs - 1))); do wait_file "$work/sim-$i.ready" "${fleet_wait_s:-180}"; done
}

sim_fleet_down() {
  local p
  for p in "${sim_pids[@]}" $planner_pid; do kill "$p" 2>/dev/null || true; done
  for p in "${sim_pids[@]}" $planner_pid; do wait "$p" 2>/dev/null || true; done
  sim_pids=()
  planner_pid=""
}
