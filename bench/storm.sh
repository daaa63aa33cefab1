#!/usr/bin/env bash
# Reconnect-storm bench: N shoal-sim nodes registered with a planner; the planner is SIGKILLed
# and restarted at once on the same address; every node reconnects as an agent does (backoff
# 100 ms -> 5 s, full jitter). Measured from the restart: the time until every node is
# registered again, the restarted planner's CPU seconds by then (and the simulators', which
# share this machine's cores), how many reconnects resumed
# a TLS session; then one command on all of them (results ok must be N). Two modes, run side by
# side and interleaved: `resumed` (nodes offer their session tickets; the planner keeps its
# ticket keys in its state dir) and `full` (shoal-sim --no-resume: every reconnect a full
# handshake, the baseline). Ratios are resumed / full. Also tls_handshake_bench: CPU per
# handshake on each side, full against resumed.
#   bench/storm.sh [BUILD_DIR] [N] [ROUNDS]      default: build 10000 2
# Environment: SHOAL_STORM_PLANNER_FLAGS (extra `shoal-planner serve` flags, e.g.
# "--handshake-threads 0"), SHOAL_STORM_MODES (default "full resumed"), SHOAL_STORM_KEEP=DIR
# (keep the planner and simulator logs there).
# Limits (shared/NOTES-bench.md): 20,000 fds per process, so at most 5,000 simulated nodes per
# shoal-sim process; somaxconn 4096; sims bind source addresses in 127.0.1.0/24.
set -euo pipefail
build=${1:-build}
n=${2:-10000}
rounds=${3:-2}
bin=$(cd "$build/bin" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
results=${SHOAL_STORM_RESULTS:-$here/results/storm.tsv}
work=$(mktemp -d /tmp/shoal-storm-XXXXXX)
planner_pid=""; sim_pids=()
stop_all() {
  for p in "${sim_pids[@]}" $planner_pid; do kill "$p" 2>/dev/null || true; done
  for p in "${sim_pids[@]}" $planner_pid; do wait "$p" 2>/dev/null || true; done
  sim_pids=(); planner_pid=""
}
planner_flags=(${SHOAL_STORM_PLANNER_FLAGS:-})
read -r -a modes <<<"${SHOAL_STORM_MODES:-full resumed}"
keep=${SHOAL_STORM_KEEP:-}
cleanup() {
  stop_all
  if [[ -n $keep ]]; then mkdir -p "$keep" && cp "$work"/*.log "$keep"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
now_ms() { date +%s%3N; }
wait_for() {  # COMMAND... : polls every 20 ms, up to ~10 min
  for _ in $(seq 1 30000); do "$@" && return 0; sleep 0.02; done
  echo "timed out: $*" >&2; return 1
}
ready_key() { sed -n "s/^$2=//p" "$1" 2>/dev/null; }
sims_at_round() {  # R: every simulator (all $procs of them) has written rounds >= R
  local files=("$work"/sim-*.ready)
  [[ -e ${files[0]} && ${#files[@]} -eq $procs ]] || return 1
  for f in "${files[@]}"; do
    [[ $(ready_key "$f" rounds) -ge $1 ]] 2>/dev/null || return 1
  done
}
declare -A base_round
sims_past_base() {  # every simulator completed a registration round after the kill
  for f in "$work"/sim-*.ready; do
    [[ $(ready_key "$f" rounds) -gt ${base_round[$f]} ]] 2>/dev/null || return 1
  done
}

serve() {  # DIR ADDRESS LOG
  "$bin/shoal-planner" serve --state-dir "$1" --listen "$2" --heartbeat-ms 10000 \
    "${planner_flags[@]}" 2>>"$3" &
  planner_pid=$!
}

one_case() {  # MODE ROUND
  local mode=$1 round=$2 dir=$work/p-$1-$2 log=$work/planner-$1-$2.log
  rm -f "$work"/sim-*.ready
  "$bin/shoal-planner" init --state-dir "$dir" >/dev/null
  serve "$dir" 127.0.0.1:0 "$log"
  wait_for test -s "$dir/planner.ready"
  local addr; addr=$(ready_key "$dir/planner.ready" address)
  local per=5000 extra=()
  procs=$(( (n + 4999) / 5000 ))
  [[ $mode == full ]] && extra=(--no-resume)
  for i in $(seq 0 $((procs - 1))); do
    local count=$(( i == procs - 1 ? n - i * per : per ))
    "$bin/shoal-sim" --planner "$addr" --planner-dir "$dir" --nodes "$count" --prefix "sim$i-" \
      --threads 1 --connect-rate $((2000 / procs)) --ready-file "$work/sim-$i.ready" \
      "${extra[@]}" 2>"$work/sim-$mode-$round-$i.log" &
    sim_pids+=($!)
  done
  wait_for sims_at_round 1
  sleep 2  # let the fleet settle into heartbeats
  wait_for sims_at_round 1  # (a node that flapped meanwhile is back)
  local before=0
  for f in "$work"/sim-*.ready; do
    before=$((before + $(ready_key "$f" resumed)))
    base_round[$f]=$(ready_key "$f" rounds)
  done
  local sims_cpu0=0
  for p in "${sim_pids[@]}"; do sims_cpu0=$(echo "$sims_cpu0 + $(cpu_seconds "$p")" | bc); done
  # The storm: SIGKILL, then restart at once (as systemd's Restart=always would).
  kill -KILL "$planner_pid"; wait "$planner_pid" 2>/dev/null || true
  rm -f "$dir/planner.ready"
  local t_restart; t_restart=$(now_ms)
  serve "$dir" "$addr" "$log"
  wait_for sims_past_base
  local cpu; cpu=$(cpu_seconds "$planner_pid")
  local sims_cpu=0
  for p in "${sim_pids[@]}"; do sims_cpu=$(echo "$sims_cpu + $(cpu_seconds "$p")" | bc); done
  sims_cpu=$(echo "$sims_cpu - $sims_cpu0" | bc)
  local t_all=0 resumed=0 connects=0
  for f in "$work"/sim-*.ready; do
    local t; t=$(ready_key "$f" all_registered_ms)
    (( t > t_all )) && t_all=$t
    resumed=$((resumed + $(ready_key "$f" resumed)))
  done
  resumed=$((resumed - before))
  local reregister_s; reregister_s=$(echo "scale=3; ($t_all - $t_restart) / 1000" | bc)
  local t0; t0=$(now_ms)
  "$bin/shoal" run 'echo hi' --on sim --planner-dir "$dir" -q >"$work/run.out" 2>&1 || true
  local run_s; run_s=$(echo "scale=3; ($(now_ms) - $t0) / 1000" | bc)
  local ok; ok=$(grep -c ' OK ' "$work/run.out" || true)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$round" "$n" "$reregister_s" "$cpu" \
    "$resumed" "$ok" "$run_s" "$sims_cpu" | tee -a "$work/rows.tsv"
  stop_all
}

echo "tls_handshake_bench (CPU per handshake, full vs resumed):"
"$bin/tls_handshake_bench" 2000 | tee "$work/tls.txt"
printf 'mode\tround\tnodes\treregister_s\tplanner_cpu_s\tresumed\tresults_ok\trun_s\tsims_cpu_s\n' | tee "$work/rows.tsv"
for r in $(seq 1 "$rounds"); do
  # Interleaved, alternating which goes first.
  order=("${modes[@]}")
  if (( r % 2 == 0 )); then order=(); for ((i=${#modes[@]}-1; i>=0; i--)); do order+=("${modes[$i]}"); done; fi
  for mode in "${order[@]}"; do one_case "$mode" "$r"; done
done
mkdir -p "$(dirname "$results")"
cp "$work/rows.tsv" "$results"
cp "$work/tls.txt" "${results%.tsv}-tls.txt"
awk -F'\t' 'NR > 1 { t[$1] += $4; c[$1] += $5; k[$1]++ }
  END {
    if (k["full"] && k["resumed"]) {
      printf "mean over %d rounds: re-register full %.2f s, resumed %.2f s (ratio %.2f); planner CPU full %.2f s, resumed %.2f s (ratio %.2f)\n",
        k["full"], t["full"] / k["full"], t["resumed"] / k["resumed"],
        t["resumed"] / t["full"], c["full"] / k["full"], c["resumed"] / k["resumed"], c["resumed"] / c["full"]
    }
  }' "$work/rows.tsv"
