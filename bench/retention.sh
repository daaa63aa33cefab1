#!/usr/bin/env bash
# Retention bench: does planner memory stay flat as run history grows? One shoal-planner,
# N simulated nodes (bench/sim_fleet.sh: shoal-sim, real TLS on loopback), then RUNS trivial
# commands on all of them, one after another. After the runs listed in CHECKPOINTS it reports
# the planner's RSS (VmRSS, and its anonymous and file-mapped parts: pages of LMDB's map the
# planner touched count as file-mapped), LMDB's data.mdb size (allocated), how many runs are
# still stored and how many were pruned, and the seconds per run since the last checkpoint.
#   bench/retention.sh [BUILD_DIR] [RUNS] [N] [KEEP_RUNS_BYTES]    default: build 1000 10000 1G
# KEEP_RUNS_BYTES "-" passes no retention flag (a planner from before retention, as baseline).
set -euo pipefail
build=${1:-build}
runs=${2:-1000}
n=${3:-10000}
keep_bytes=${4:-1G}
checkpoints=" 1 10 50 100 200 300 400 500 600 700 800 900 1000 $runs "
bin=$(cd "$build/bin" && pwd)
# shellcheck source=bench/sim_fleet.sh
source "$(dirname "$0")/sim_fleet.sh"
work=$(mktemp -d /tmp/shoal-retention-XXXXXX)
trap 'sim_fleet_down; rm -rf "$work"' EXIT

status_mib() { awk -v k="$2:" '$1 == k {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

planner_args=()
[ "$keep_bytes" = - ] || planner_args=(--keep-runs-bytes "$keep_bytes")
fleet_wait_s=900  # on a loaded 2-core machine 10,000 connects can take minutes
sim_fleet_up "$work" "$n"
echo "# $n simulated nodes registered; $runs runs of 'echo hi' on all; --keep-runs-bytes $keep_bytes"
printf '%6s %8s %8s %8s %9s %7s %7s %9s\n' run rss_mib anon_mib file_mib lmdb_mib stored pruned \
  s_per_run
t_last=$(date +%s.%N)
last=0
for k in $(seq 1 "$runs"); do
  "$bin/shoal" run 'echo hi' --on sim --planner-dir "$planner_dir" -q >"$work/run.out" || {
    echo "run $k failed: $(tail -3 "$work/run.out")" >&2
    exit 1
  }
  [[ "$checkpoints" == *" $k "* ]] || continue
  now=$(date +%s.%N)
  ok=$(grep -c ' OK ' "$work/run.out" || true)
  [ "$ok" -eq "$n" ] || echo "run $k: only $ok of $n OK" >&2
  pruned=$(grep -c 'pruned run' "$work/planner.log" || true)
  printf '%6d %8s %8s %8s %9.1f %7d %7d %9.2f\n' "$k" "$(status_mib $planner_pid VmRSS)" \
    "$(status_mib $planner_pid RssAnon)" "$(status_mib $planner_pid RssFile)" \
    "$(echo "$(du -k "$planner_dir/db/data.mdb" | cut -f1) / 1024" | bc -l)" \
    "$((k - pruned))" "$pruned" "$(echo "($now - $t_last) / ($k - $last)" | bc -l)"
  t_last=$now
  last=$k
done
echo "# planner peak RSS (VmHWM): $(planner_hwm_mib) MiB"
