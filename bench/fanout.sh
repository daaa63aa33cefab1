#!/usr/bin/env bash
# Fan-out bench: one shoal-planner, N simulated nodes (shoal-sim, real TLS sockets on
# loopback), one trivial command on all of them. Reports time to all results, tasks/s, planner
# peak RSS (VmHWM) and planner CPU seconds (connect phase and run phase separately).
#   bench/fanout.sh [BUILD_DIR] [N...]        default: build 1000 10000
# Connects are staggered at 1,000/s in total (sim_fleet.sh). Simulated nodes answer tasks
# without forking (the planner's fan-out is what is measured).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true
counts=("$@")
[ ${#counts[@]} -eq 0 ] && counts=(1000 10000)
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d /tmp/shoal-fanout-XXXXXX)
# shellcheck source=sim_fleet.sh
source "$here/sim_fleet.sh"
trap 'sim_fleet_down; rm -rf "$work"' EXIT

for n in "${counts[@]}"; do
  mkdir -p "$work/p$n"
  t_connect0=$(date +%s.%N)
  sim_fleet_up "$work/p$n" "$n"
  t_connect=$(echo "$(date +%s.%N) - $t_connect0" | bc)
  cpu0=$(cpu_seconds "$planner_pid")
  t0=$(date +%s.%N)
  "$bin/shoal" run 'echo hi' --on sim --planner-dir "$planner_dir" -q >"$work/run-$n.out" || true
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$planner_pid")
  secs=$(echo "$t1 - $t0" | bc)
  ok=$(grep -c ' OK ' "$work/run-$n.out" || true)
  printf 'N=%-6s results_ok=%-6s time_to_all_results=%6.2fs tasks_per_s=%8.0f planner_peak_rss=%5.0fMiB planner_cpu_run=%5.2fs planner_cpu_connect=%5.2fs connect_all=%5.1fs\n' \
    "$n" "$ok" "$secs" "$(echo "$n / $secs" | bc -l)" "$(planner_hwm_mib)" \
    "$(echo "$cpu1 - $cpu0" | bc)" "$cpu0" "$t_connect"
  sim_fleet_down
done
