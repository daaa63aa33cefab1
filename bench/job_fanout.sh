#!/usr/bin/env bash
# Job fan-out bench: one shoal-planner, N simulated nodes (shoal-sim: real TLS, real protocol,
# tasks answered without forking), one job with a command step in waves "1 1% 10% 100%".
# Reports the whole run's wall time (`shoal apply` from start to the last result, waves gated
# on each other), the plain one-wave `shoal run` on the same fleet side by side, planner CPU
# and peak RSS.
#   bench/job_fanout.sh [BUILD_DIR] [N]        default: build 10000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
n=${2:-10000}
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d /tmp/shoal-jobfanout-XXXXXX)
# shellcheck source=sim_fleet.sh
source "$here/sim_fleet.sh"
trap 'sim_fleet_down; rm -rf "$work"' EXIT
sim_fleet_up "$work" "$n"
dir=$planner_dir
cat >"$work/job.yaml" <<'YAML'
name: bench-waves
targets: [sim]
waves: "1 1% 10% 100%"
max_failed: 1%
steps:
  - command: {run: "echo hi"}
YAML
for round in 1 2 3; do
  cpu0=$(cpu_seconds "$planner_pid"); t0=$(date +%s.%N)
  "$bin/shoal" apply "$work/job.yaml" --planner-dir "$dir" --quiet >"$work/apply-$round.out" || true
  t1=$(date +%s.%N); cpu1=$(cpu_seconds "$planner_pid")
  "$bin/shoal" run 'echo hi' --on sim --planner-dir "$dir" -q >"$work/run-$round.out" || true
  t2=$(date +%s.%N); cpu2=$(cpu_seconds "$planner_pid")
  ok=$(grep -c ' OK ' "$work/apply-$round.out" || true)
  printf 'N=%s round=%s job_ok=%s job_4_waves=%6.2fs plain_run=%6.2fs ratio=%4.2f planner_cpu_job=%5.2fs planner_cpu_run=%5.2fs planner_peak_rss=%sMiB\n' \
    "$n" "$round" "$ok" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
    "$(echo "($t1 - $t0) / ($t2 - $t1)" | bc -l)" "$(echo "$cpu1 - $cpu0" | bc)" \
    "$(echo "$cpu2 - $cpu1" | bc)" "$(planner_hwm_mib)"
done
