#!/usr/bin/env bash
# Fan-out bench: one shoal-planner, N simulated nodes (shoal-sim, real TLS sockets on
# loopback), one trivial command on all of them. Reports time to all results, tasks/s, planner
# peak RSS (VmHWM) and planner CPU seconds (connect phase and run phase separately).
#   bench/fanout.sh [BUILD_DIR] [N...]        default: build 1000 10000
# Connects are staggered at 1,000/s in total (the planner does ~1 ms of CPU per TLS handshake
# and registration; somaxconn is 4096). Simulated nodes answer tasks without forking (the planner's fan-out is what is measured).
set -euo pipefail
build=${1:-build}
shift || true
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(1000 10000)
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d /tmp/shoal-fanout-XXXXXX)
planner_pid=""; sim_pids=()
cleanup() {
  for p in "${sim_pids[@]}" $planner_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cpu_seconds() {  # utime + stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}
wait_file() {
  for _ in $(seq 1 1200); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}

for n in "${counts[@]}"; do
  dir="$work/p$n"
  "$bin/shoal-planner" init --state-dir "$dir" >/dev/null
  "$bin/shoal-planner" serve --state-dir "$dir" --listen 127.0.0.1:0 --heartbeat-ms 10000 \
    2>"$work/planner-$n.log" &
  planner_pid=$!
  wait_file "$dir/planner.ready"
  addr=$(sed -n 's/^address=//p' "$dir/planner.ready")
  # At most 5,000 virtual nodes per simulator process (descriptor limit and CPU spread).
  per=5000; procs=$(( (n + per - 1) / per )); sim_pids=()
  for i in $(seq 0 $((procs - 1))); do
    count=$(( i == procs - 1 ? n - i * per : per ))
    "$bin/shoal-sim" --planner "$addr" --planner-dir "$dir" --nodes "$count" \
      --prefix "sim$i-" --threads 1 --connect-rate $((1000 / procs)) --ready-file "$work/sim-$n-$i.ready" \
      2>"$work/sim-$n-$i.log" &
    sim_pids+=($!)
  done
  t_connect0=$(date +%s.%N)
  for i in $(seq 0 $((procs - 1))); do wait_file "$work/sim-$n-$i.ready"; done
  t_connect=$(echo "$(date +%s.%N) - $t_connect0" | bc)
  cpu0=$(cpu_seconds "$planner_pid")
  t0=$(date +%s.%N)
  "$bin/shoal" run 'echo hi' --on sim --planner-dir "$dir" -q >"$work/run-$n.out" || true
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$planner_pid")
  secs=$(echo "$t1 - $t0" | bc)
  ok=$(grep -c ' OK ' "$work/run-$n.out" || true)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$planner_pid/status")
  printf 'N=%-6s results_ok=%-6s time_to_all_results=%6.2fs tasks_per_s=%8.0f planner_peak_rss=%5.0fMiB planner_cpu_run=%5.2fs planner_cpu_connect=%5.2fs connect_all=%5.1fs\n' \
    "$n" "$ok" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$hwm / 1024" | bc -l)" \
    "$(echo "$cpu1 - $cpu0" | bc)" "$cpu0" "$t_connect"
  for p in "${sim_pids[@]}" $planner_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  sim_pids=(); planner_pid=""
done
