#!/usr/bin/env bash
# Job fan-out bench: one shoal-planner, N simulated nodes (shoal-sim: real TLS, real protocol,
# tasks answered without forking), one job with a command step in waves "1 1% 10% 100%".
# Reports the whole run's wall time (`shoal apply` from start to the last result, waves gated
# on each other), the plain one-wave `shoal run` on the same fleet side by side, planner CPU
# and peak RSS.
#   bench/job_fanout.sh [BUILD_DIR] [N]        default: build 10000
set -euo pipefail
build=${1:-build}
n=${2:-10000}
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d /tmp/shoal-jobfanout-XXXXXX)
planner_pid=""; sim_pids=()
cleanup() {
  for p in "${sim_pids[@]}" $planner_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
wait_file() {
  for _ in $(seq 1 1800); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}

dir="$work/planner"
"$bin/shoal-planner" init --state-dir "$dir" >/dev/null
"$bin/shoal-planner" serve --state-dir "$dir" --listen 127.0.0.1:0 --heartbeat-ms 10000 \
  2>"$work/planner.log" &
planner_pid=$!
wait_file "$dir/planner.ready"
addr=$(sed -n 's/^address=//p' "$dir/planner.ready")
per=5000; procs=$(( (n + per - 1) / per ))
for i in $(seq 0 $((procs - 1))); do
  count=$(( i == procs - 1 ? n - i * per : per ))
  "$bin/shoal-sim" --planner "$addr" --planner-dir "$dir" --nodes "$count" --prefix "sim$i-" \
    --threads 1 --connect-rate $((1000 / procs)) --ready-file "$work/sim-$i.ready" \
    2>"$work/sim-$i.log" &
  sim_pids+=($!)
done
for i in $(seq 0 $((procs - 1))); do wait_file "$work/sim-$i.ready"; done
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
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$planner_pid/status")
  printf 'N=%s round=%s job_ok=%s job_4_waves=%6.2fs plain_run=%6.2fs ratio=%4.2f planner_cpu_job=%5.2fs planner_cpu_run=%5.2fs planner_peak_rss=%4.0fMiB\n' \
    "$n" "$round" "$ok" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
    "$(echo "($t1 - $t0) / ($t2 - $t1)" | bc -l)" "$(echo "$cpu1 - $cpu0" | bc)" \
    "$(echo "$cpu2 - $cpu1" | bc)" "$(echo "$hwm / 1024" | bc -l)"
done
