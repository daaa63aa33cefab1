#!/usr/bin/env bash
# Distribution benchmark: one origin pushes one S-byte file to N nodes over shaped links
# (topology.sh), three ways, and reports time-to-all-done against the lower bound.
#
#   distribution.sh [--nodes "4 8 16 32"] [--rate auto|100mbit] [--size 128M]
#                   [--methods "http aria2c shoal shoal-ss"] [--bin-dir build/bin] [--timeout-factor 20]
#                   [--nice -10] [--results bench/results] [--dcs K --wan-rate 200mbit]
#                   [--repeat K] [--warmup W] [--queue-ms 10] [--cc cubic|bbr|host] [--work-fs auto|tmpfs|xfs|disk]
#
#   http    central push: python3 http.server on the origin, every node curls the file at once
#   aria2c  swarm of aria2c 1.36 clients with a v1 torrent; the origin seeds; nodes keep seeding
#   shoal   shoal-tracker + shoal-seeder on the origin, shoal-node on every node, `shoal put`,
#           then `shoal fetch` on every node at once (skipped while the binaries are not built)
#   shoal-ss  the same with the origin super-seeding (shoal-seeder --super-seed)
# SHOAL_SEEDER_ARGS / SHOAL_NODE_ARGS add daemon flags to the Shoal runs (tuning), recorded in
# the row's note; SHOAL_BENCH_KEEP_LOGS=DIR keeps every case's daemon logs there;
# SHOAL_BENCH_NETSTAT=1 adds the run's packet counts to the note (net_counters below).
#
# Every benchmark process runs at nice --nice (default -10): the machine is shared with other
# engineers' compilers, and the benchmark should measure the network, not their load.
# --rate auto = 100mbit for N <= 16 and 50mbit above: at N=32 and 100 Mbit/s a 2-core machine
# is CPU-bound, not network-bound (see NOTES-bench.md). Every case gets a fresh topology, a
# link-goodput check g, and the bound T* = max(S/g, S/g, N*S/(g + N*g)) with u_seed = u = d = g.
# --dcs K splits the nodes into K datacenters joined by shaped WAN links (topology.sh); the
# bound then also includes S/w (every remote DC must receive S over its WAN link of goodput w =
# wan rate x the measured link goodput factor), and the rate column reads "R,Kdc@W".
# Rows are merged into bench/results/distribution.tsv (same method/N/rate/size replaced), then
# report.py rewrites distribution.md and distribution.png.
# --queue-ms and --cc choose the network model (topology.sh): each link's FIFO depth in ms
# (default 10) and every host's TCP congestion control (default cubic). `--queue-ms 100 --cc
# host` is the model before 2026-11-29 (a 100 ms FIFO and this machine's BBR); this kernel has
# no fq_codel, so a short FIFO stands for a real host's ~5 ms standing queue. The model is in
# every row's note: compare tools only within one model.
# --work-fs: where every host's files live. The hosts of this one-machine fleet share one
# virtual disk (~75 MB/s with fsync here); a real host has a disk of its own, far faster than its
# 12 MB/s link. On the shared disk, N hosts' writes (and a tool's fsyncs: Shoal fsyncs every
# install) queue behind each other, which no real fleet sees. tmpfs: a RAM file system for the
# case's work directory (disk cost not modelled); disk: /tmp; auto (default): tmpfs when the
# case's files ((2N + 2) x S) fit in half the available memory, else disk; xfs: an XFS in a
# image on a tmpfs (allocated up front), loop-mounted (still RAM, but a block file system that
# can share blocks: a Shoal node's install is then a clone of its downloaded file, not a copy).
# In the row's note.
# --repeat K runs every method K times per N in the same topology, interleaved (shoal aria2c,
# shoal aria2c, ...), appends every run to distribution-runs.tsv (as it does for one run),
# prints the per-run table with median and spread (summarize.py), and merges each case's median
# run into distribution.tsv.
# --warmup W (default 1 with --repeat) first runs the first method W times, uncounted: the first
# runs of a set were 1.5-4 s slower with 20-30% more CPU for every method, whichever came first
# (cause open; bench/results/tuning.md, issue 12 round 10), which taxed the method listed first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

nodes_list="4 8 16 32"
rate_opt=auto
size=128M
methods="http aria2c shoal"
bin_dir="$repo/build/bin"
timeout_factor=20
bench_nice=-10
dcs=1
wan_rate=""
results="$repo/bench/results"
repeat=1
warmup=""
warming=0
queue_ms=10
cc=cubic
work_fs=auto
while (($#)); do
  case $1 in
    --nodes) nodes_list=$2; shift 2 ;;
    --rate) rate_opt=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --bin-dir) bin_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --timeout-factor) timeout_factor=$2; shift 2 ;;
    --nice) bench_nice=$2; shift 2 ;;
    --dcs) dcs=$2; shift 2 ;;
    --wan-rate) wan_rate=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --queue-ms) queue_ms=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --work-fs) work_fs=$2; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "needs root" >&2; exit 2; }
for tool in aria2c curl python3 ip tc md5sum; do
  command -v "$tool" >/dev/null || { echo "missing $tool (run tools/setup-deps --bench)" >&2; exit 2; }
done
size_bytes=$(size_to_bytes "$size")
hz=$(getconf CLK_TCK)
work="/tmp/${SHOAL_NS_PREFIX}work"
tsv="$results/distribution.tsv"
runs_tsv="$results/distribution-runs.tsv"
session=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"

cleanup() {
  "$here/topology.sh" down
  mountpoint -q "$work" && umount "$work"
  mountpoint -q "$work-image" && umount "$work-image"
  rm -rf "$work" "$work-image"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- measurement ---------------------------------------------------------------------------
# A case's processes run in a cpuacct cgroup so their CPU can be told apart from the other
# engineers' compilers. cpuacct excludes softirq time (where most packet processing runs), so
# the whole-machine /proc/stat delta is reported too; both are noisy on a shared machine.
cg=""
cg_new() {
  cg="$SHOAL_CG_ROOT/${SHOAL_NS_PREFIX}$1"
  [[ -d $cg ]] && rmdir "$cg" 2>/dev/null
  mkdir -p "$cg" 2>/dev/null || cg=""
}
cg_usage_ns() { if [[ -n $cg ]]; then cat "$cg/cpuacct.usage"; else echo 0; fi; }
cg_drop() { [[ -n $cg ]] && rmdir "$cg" 2>/dev/null || true; cg=""; }
# hx I CMD...: run CMD in host I's namespace, inside the case's cgroup, at the benchmark's
# priority. The cgroup is joined before `ip netns exec`, which remounts /sys (hiding cgroupfs).
hx() {
  local i=$1
  shift
  sh -c 'if [ -n "$0" ]; then echo $$ >"$0/cgroup.procs"; fi; exec "$@"' "$cg" \
    nice -n "$bench_nice" ip netns exec "$(ns_name "$i")" "$@"
}

# Per-node completion: node i is finished when $work/done/<i> holds its end time (written
# only after a verified download) or when its client process has died.
declare -a client_pids
await_nodes() { # await_nodes N TIMEOUT_S -> sets t_end (last done) and n_done
  local n=$1 timeout=$2 deadline i finished
  deadline=$(awk -v t="$EPOCHREALTIME" -v d="$timeout" 'BEGIN { printf "%.3f", t + d }')
  while :; do
    finished=0
    n_done=0
    for ((i = 1; i <= n; i++)); do
      if [[ -s $work/done/$i ]]; then
        ((++finished)); ((++n_done))
      elif ! kill -0 "${client_pids[$i]}" 2>/dev/null; then
        ((++finished))
      fi
    done
    ((finished == n)) && break
    if awk -v t="$EPOCHREALTIME" -v d="$deadline" 'BEGIN { exit !(t > d) }'; then
      echo "  timeout after ${timeout}s: $n_done/$n done" >&2
      break
    fi
    sleep 0.05
  done
  t_end=$(cat "$work"/done/* 2>/dev/null | sort -n | tail -1)
  [[ -n $t_end ]] || t_end=$EPOCHREALTIME
}

# background_cpu: whole-machine busy % over 2 s before a case starts (other users' load).
background_cpu() {
  local a b
  a=$(cpu_busy_total)
  sleep 2
  b=$(cpu_busy_total)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }'
}

# record METHOD NOTE: one result row from the timed phase's measurements.
record() {
  local method=$1 note="$2; load $load1; net q${queue_ms}ms+$cc; fs $work_fs_used" md5_ok=0 i times
  # How many copies of the file left the origin: 1 is a perfect swarm, N is central push.
  note+="; origin sent $(awk -v b="$((origin_tx1 - origin_tx0))" -v s="$size_bytes" \
    'BEGIN { printf "%.2f", b / s }') x S$(net_note "$net0" "$net1")"
  for ((i = 1; i <= n; i++)); do
    [[ -f $work/node-$i/payload.bin ]] || continue
    [[ $(md5sum <"$work/node-$i/payload.bin" | cut -d' ' -f1) == "$md5" ]] && ((++md5_ok))
  done
  times=$(for f in "$work"/done/*; do [[ -s $f ]] && awk -v t0="$t0" '{ printf "%.3f\n", $1 - t0 }' "$f"; done | sort -n)
  local first median
  first=$(head -1 <<<"$times")
  median=$(awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }' <<<"$times")
  awk -v OFS='\t' -v method="$method" -v n="$n" -v rate="$rate_label" -v size="$size" \
    -v wan="$wan_goodput" \
    -v s="$size_bytes" -v g="$goodput" -v nominal="$(rate_to_bytes "$rate")" \
    -v t0="$t0" -v t1="$t_end" -v ok="$md5_ok" -v done="$n_done" -v c0="$cpu0" -v c1="$cpu1" \
    -v p0="$cg0" -v p1="$cg1" -v hz="$hz" -v bg="$bg" -v first="${first:-}" \
    -v median="${median:-}" -v note="$note" 'BEGIN {
      split(c0, a, " "); split(c1, b, " ")
      wall = t1 - t0
      tstar = s / g; if (n * s / (g + n * g) > tstar) tstar = n * s / (g + n * g)
      if (wan > 0 && s / wan > tstar) tstar = s / wan
      gib = n * s / 2^30
      busy = (b[1] - a[1]) / hz; total = (b[2] - a[2]) / hz
      proc = (p1 - p0) / 1e9
      print method, n, rate, size, sprintf("%.2f", g / 1e6), sprintf("%.2f", wall),
        sprintf("%.2f", tstar), sprintf("%.2f", wall / tstar), sprintf("%.2f", wall / (s / nominal)),
        first, median, ok "/" n, sprintf("%.0f", 100 * busy / total), bg,
        sprintf("%.1f", busy / gib), sprintf("%.1f", proc), sprintf("%.1f", proc / gib), note
    }' >"$work/row"
  if [[ $n_done -ne $n || $md5_ok -ne $n ]]; then
    sed -i "s|\t[^\t]*\$|\t${note:+$note; }INCOMPLETE: $n_done done, $md5_ok md5 ok|" "$work/row"
    # Keep the failed case's logs: the work directory is deleted at exit.
    local keep="/tmp/${SHOAL_NS_PREFIX}failed/$method-$n"
    rm -rf "$keep" && mkdir -p "$keep" && cp "$work"/*.log "$keep"/ 2>/dev/null || true
    echo "  logs kept in $keep" >&2
  fi
  if ((warming)); then
    awk -F'\t' '{ printf "  %-7s N=%-3s %s: %ss (%sx), proc CPU %s s/GiB (warm-up, not counted)\n",
      $1, $2, $3, $6, $8, $17 }' "$work/row"
    return 0
  fi
  if [[ -n ${SHOAL_BENCH_KEEP_LOGS:-} ]]; then # tuning runs: keep every case's logs and t0
    local kept="$SHOAL_BENCH_KEEP_LOGS/$method-$n$( ((repeat > 1)) && echo "-r$rep")"
    rm -rf "$kept" && mkdir -p "$kept" && cp "$work"/*.log "$kept"/ 2>/dev/null
    echo "$t0" >"$kept/t0"
  fi
  # Every counted run goes to the per-run table; a single run also replaces its case's summary row.
  [[ -s $runs_tsv ]] || printf '%s\tsession\trun\n' "$header" >"$runs_tsv"
  printf '%s\t%s\t%s\n' "$(cat "$work/row")" "$session" "$rep" >>"$runs_tsv"
  ((repeat > 1)) || merge_row "$(cat "$work/row")"
  awk -F'\t' '{ printf "  %-7s N=%-3s %s: %ss (T* %ss, %sx), md5 %s, machine CPU %s%% (bg %s%%), proc CPU %s s/GiB %s\n",
    $1, $2, $3, $6, $7, $8, $12, $13, $14, $17, $18 }' "$work/row"
}

# run_case METHOD: one run of METHOD on the current topology, in a cgroup of its own.
run_case() {
  reset_nodes
  bg=$(background_cpu)
  load1=$(cut -d' ' -f1 /proc/loadavg)  # other users' run queue: swarm times suffer above ~2
  cg_new "$1-$n"
  "run_$1" || echo "  $1 failed (exit $?)" >&2
  reset_nodes
  cg_drop
}

header=$'method\tN\trate\tsize\tgoodput_MBps\twall_s\tTstar_s\tratio\tratio_nominal\tfirst_s\tmedian_s\tmd5_ok\tmachine_cpu_pct\tbg_cpu_pct\tmachine_cpu_s_per_GiB\tproc_cpu_s\tproc_cpu_s_per_GiB\tnote'
merge_row() { # replace the row with the same method/N/rate/size, keep the others
  local row=$1 key tmp="$tsv.tmp"
  key=$(cut -f1-4 <<<"$row")
  {
    echo "$header"
    if [[ -f $tsv ]]; then
      tail -n +2 "$tsv" | awk -F'\t' -v OFS='\t' -v k="$key" '{ if ($1"\t"$2"\t"$3"\t"$4 != k) print }'
    fi
    echo "$row"
  } >"$tmp"
  mv "$tmp" "$tsv"
}

begin_timed() { # start of the timed phase: clocks and CPU counters
  rm -rf "$work/done"
  mkdir -p "$work/done"
  # The set-up's writes (the payload, the origin's copy of it, the last run's files; 235 MB dirty
  # at the start of a run at N=16) are written out now, not during the timed phase, where the
  # hosts' final fsyncs would wait behind them (tuning.md, issue 12 round 10).
  sync
  cpu0=$(cpu_busy_total)
  cg0=$(cg_usage_ns)
  origin_tx0=$(origin_tx_bytes)
  net0=$(net_counters)
  t0=$EPOCHREALTIME
}
end_timed() {
  cpu1=$(cpu_busy_total)
  cg1=$(cg_usage_ns)
  origin_tx1=$(origin_tx_bytes)
  net1=$(net_counters)
}
origin_tx_bytes() { nsx 0 cat /sys/class/net/eth0/statistics/tx_bytes; }
# SHOAL_BENCH_NETSTAT=1: the timed phase's packets, summed over the case's namespaces (origin
# and nodes), go into the row's note: TCP segments sent with data (retransmissions included)
# and without (ACKs), the frames (skbs, GSO-sized) the hosts' links sent with their mean size,
# and delayed ACKs. Costs two reads of 2 x (N+1) files, outside the timed phase.
net_counters() {
  [[ -n ${SHOAL_BENCH_NETSTAT:-} ]] || return 0
  local i
  for ((i = 0; i <= n; i++)); do
    nsx "$i" sh -c 'cat /proc/net/snmp /proc/net/netstat; printf "Link: tx_packets tx_bytes\nLink: %s %s\n" \
      "$(cat /sys/class/net/eth0/statistics/tx_packets)" "$(cat /sys/class/net/eth0/statistics/tx_bytes)"'
  done | awk '
    $1 ~ /:$/ && !($1 in names) { split($0, h); names[$1] = 1; hdr[$1] = $0; next }
    $1 ~ /:$/ { n = split(hdr[$1], h); for (k = 2; k <= n; k++) sum[$1 h[k]] += $k; delete names[$1] }
    END { printf "%.0f %.0f %.0f %.0f %.0f %.0f", sum["Tcp:OutSegs"], sum["TcpExt:TCPOrigDataSent"],
          sum["Tcp:RetransSegs"], sum["Link:tx_packets"], sum["Link:tx_bytes"],
          sum["TcpExt:DelayedACKs"] }'
}
net_note() { # the delta of two net_counters outputs, in words
  [[ -n ${SHOAL_BENCH_NETSTAT:-} ]] || return 0
  awk -v a="$1" -v b="$2" -v gib="$((n * size_bytes))" 'BEGIN {
    split(a, x, " "); split(b, y, " "); g = gib / 1073741824
    data = y[2] - x[2] + y[3] - x[3]
    printf "; per GiB: %.0fk data segments (%.1fk retransmitted), %.0fk other segments (ACKs), %.0fk link frames (mean %.1f KB), %.0fk delayed ACKs",
      data / g / 1e3, (y[3] - x[3]) / g / 1e3, (y[1] - x[1] - data) / g / 1e3, (y[4] - x[4]) / g / 1e3,
      (y[4] > x[4]) ? (y[5] - x[5]) / (y[4] - x[4]) / 1e3 : 0, (y[6] - x[6]) / g / 1e3 }'
}
reset_nodes() {
  local i nss=()
  for ((i = 0; i <= n; i++)); do nss+=("$(ns_name "$i")"); done
  kill_ns_procs "${nss[@]}"
  for ((i = 1; i <= n; i++)); do rm -rf "$work/node-$i"; mkdir -p "$work/node-$i"; done
  # Shoal's caches and the planner's state too: the work file system is sized for one method's
  # copies (aria2c-checked after shoal ran out of space while this stayed).
  rm -rf "$work/state" "$work/planner-state"
  # Each run's logs are its own: an aria2c run's kept logs carried the last Shoal run's node logs.
  rm -f "$work"/*.log
  client_pids=()
}

# shellcheck source=methods.sh
source "$here/methods.sh"
# A misspelt method used to be skipped with one line among the runs' output.
for m in $methods; do
  declare -F "run_$m" >/dev/null || {
    echo "unknown method $m; known: $(declare -F | awk '$3 ~ /^run_/ && $3 != "run_case" { printf "%s ", substr($3, 5) }')" >&2
    exit 2
  }
done

# ---- main loop -----------------------------------------------------------------------------
max_n=0
for n in $nodes_list; do ((n > max_n)) && max_n=$n; done
work_fs_used=disk
rm -rf "$work" && mkdir -p "$work"
if [[ $work_fs != disk ]]; then
  # The origin's file, every node's copy and its install, and slack for logs and state.
  need_mb=$(((2 * max_n + 2) * size_bytes / 1048576 + 512))
  avail_mb=$(awk '/^MemAvailable:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
  if [[ $work_fs == xfs ]]; then
    # Twice the memory (the XFS's page cache and the image's blocks on the tmpfs below it), and
    # as much again for everything else the case holds in memory.
    if ((need_mb * 3 > avail_mb)); then
      echo "--work-fs xfs: 3 x ${need_mb} MiB needed, ${avail_mb} MiB available" >&2
      exit 2
    fi
    command -v mkfs.xfs >/dev/null || { echo "--work-fs xfs needs mkfs.xfs (xfsprogs)" >&2; exit 2; }
    mkdir -p "$work-image"
    mount -t tmpfs -o "size=${need_mb}m" "${SHOAL_NS_PREFIX}work-image" "$work-image"
    # Allocated up front, not as XFS first writes each block, so that no run pays for the tmpfs
    # pages under the image (this alone did not remove the first run's penalty: --warmup).
    fallocate -l "${need_mb}M" "$work-image/xfs.img"
    mkfs.xfs -q -K "$work-image/xfs.img"  # -K: no discard, which would free what fallocate took
    mount -o loop "$work-image/xfs.img" "$work"
    work_fs_used=xfs
  elif ((need_mb * 2 <= avail_mb)); then
    mount -t tmpfs -o "size=${need_mb}m" "${SHOAL_NS_PREFIX}work" "$work"
    work_fs_used=tmpfs
  elif [[ $work_fs == tmpfs ]]; then
    echo "--work-fs tmpfs: 2 x ${need_mb} MiB needed, ${avail_mb} MiB available" >&2
    exit 2
  fi
fi
echo "work directory on $work_fs_used"
mkdir -p "$work/origin"
echo "payload: $size of random bytes"
head -c "$size_bytes" /dev/urandom >"$work/origin/payload.bin"
md5=$(md5sum <"$work/origin/payload.bin" | cut -d' ' -f1)
"$here/topology.sh" down
for n in $nodes_list; do
  if [[ $rate_opt == auto ]]; then rate=$([[ $n -le 16 ]] && echo 100mbit || echo 50mbit); else rate=$rate_opt; fi
  rate_label=$rate
  topo_dc_args=()
  wan_goodput=0
  if ((dcs > 1)); then
    rate_label="$rate,${dcs}dc@$wan_rate"
    topo_dc_args=(--dcs "$dcs" --wan-rate "$wan_rate")
  fi
  echo "== N=$n at $rate_label, S=$size"
  "$here/topology.sh" up --nodes "$n" --rate "$rate" --queue-ms "$queue_ms" --cc "$cc" \
    "${topo_dc_args[@]}"
  "$here/topology.sh" check --size 32M
  goodput=$(cat "$SHOAL_STATE_DIR/goodput-$rate")
  if ((dcs > 1)); then
    wan_goodput=$(awk -v g="$goodput" -v r="$(rate_to_bytes "$rate")" \
      -v w="$(rate_to_bytes "$wan_rate")" 'BEGIN { printf "%d", w * g / r }')
  fi
  timeout_s=$(awk -v f="$timeout_factor" -v n="$n" -v s="$size_bytes" -v g="$goodput" \
    'BEGIN { printf "%d", 60 + f * s / g * (n > 4 ? n / 4 : 1) }')
  warming=1
  for ((rep = 1; rep <= ${warmup:-$((repeat > 1 ? 1 : 0))}; rep++)); do
    echo "  -- warm-up $rep: ${methods%% *}, not counted"
    run_case "${methods%% *}"
  done
  warming=0
  for ((rep = 1; rep <= repeat; rep++)); do
    ((repeat > 1)) && echo "  -- run $rep of $repeat"
    for method in $methods; do run_case "$method"; done
  done
  if ((repeat > 1)); then
    python3 "$here/summarize.py" "$runs_tsv" "$session" 2>"$work/summary" >"$work/medians"
    while IFS= read -r row; do
      [[ $(cut -f2 <<<"$row") == "$n" ]] && merge_row "$row"
    done <"$work/medians"
    echo "  median and spread of $repeat runs (session $session):"
    sed 's/^/    /' "$work/summary"
  fi
  "$here/topology.sh" down
done
python3 "$here/report.py" "$tsv" "$results"
