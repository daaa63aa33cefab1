#!/usr/bin/env bash
# Retention bench: does planner memory stay flat as run history grows? One shoal-planner,
# N simulated nodes (shoal-sim, real TLS on loopback), then RUNS trivial commands on all of
# them, one after another. After the runs listed in CHECKPOINTS it reports the planner's RSS
# (VmRSS, and its anonymous / file-mapped parts: LMDB's map counts as file-mapped), LMDB's
# data.mdb size (allocated), how many runs are still stored, and the time per run.
#   bench/retention.sh [BUILD_DIR] [RUNS] [N] [--keep-runs-bytes SIZE]
#   default: build 1000 10000 1G
set -euo pipefail
build=${1:-build}
runs=${2:-1000}
n=${3:-10000}
keep_bytes=${4:-1G}
checkpoints=" 1 10 50 100 200 300 400 500 600 700 800 900 1000 $runs "
bin=$(cd "$build/bin" && pwd)
work=$(mktemp -d /tmp/shoal-retention-XXXXXX)
planner_pid=""; sim_pids=()
cleanup() {
  for p in "${sim_pids[@]}" $planner_pid; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_file() {  # up to 10 minutes: on a loaded 2-core machine 10,000 connects take a while
  for _ in $(seq 1 6000); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

dir="$work/planner"
"$bin/shoal-planner" init --state-dir "$dir" >/dev/null
"$bin/shoal-planner" serve --state-dir "$dir" --listen 127.0.0.1:0 --heartbeat-ms 10000 \
  --keep-runs-bytes "$keep_bytes" 2>"$work/planner.log" &
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
echo "# $n simulated nodes registered; $runs runs of 'echo hi' on all; --keep-runs-bytes $keep_bytes"
printf '%6s %9s %9s %9s %10s %7s %8s %9s\n' run rss_mib anon_mib file_mib lmdb_mib stored \
  pruned s_per_run
t_last=$(date +%s.%N); last=0
for k in $(seq 1 "$runs"); do
  "$bin/shoal" run 'echo hi' --on sim --planner-dir "$dir" -q >"$work/run.out" || {
    echo "run $k failed: $(tail -3 "$work/run.out")" >&2; exit 1; }
  if [[ "$checkpoints" == *" $k "* ]]; then
    now=$(date +%s.%N)
    ok=$(grep -c ' OK ' "$work/run.out" || true)
    [ "$ok" -eq "$n" ] || echo "run $k: only $ok of $n OK" >&2
    pruned=$(grep -c 'pruned run' "$work/planner.log" || true)
    printf '%6d %9.1f %9.1f %9.1f %10.1f %7s %8s %9.2f\n' "$k" \
      "$(echo "$(status_kib $planner_pid VmRSS) / 1024" | bc -l)" \
      "$(echo "$(status_kib $planner_pid RssAnon) / 1024" | bc -l)" \
      "$(echo "$(status_kib $planner_pid RssFile) / 1024" | bc -l)" \
      "$(echo "$(du -k "$dir/db/data.mdb" | cut -f1) / 1024" | bc -l)" \
      "$((k - pruned))" "$pruned" \
      "$(echo "($now - $t_last) / ($k - $last)" | bc -l)"
    t_last=$now; last=$k
  fi
done
echo "# planner peak RSS (VmHWM): $(echo "$(status_kib $planner_pid VmHWM) / 1024" | bc -l | xargs printf '%.1f') MiB"
