#!/usr/bin/env bash
# Loopback distribution benchmark (no root, no namespaces): one origin sends one S-byte file to
# N nodes on 127.0.0.1, link speed emulated by per-process rate limits, two ways side by side:
#
#   shoal  shoal-tracker + shoal-seeder + N shoal-node daemons, every daemon limited with
#          libtorrent's session limits (--upload-limit R --download-limit R); `shoal put`, then
#          N concurrent `shoal fetch` (each returns once the copy is verified and installed)
#   push   shoal-http-origin --upload-limit R (the origin's link) and N concurrent
#          `curl --limit-rate R` (each node's download link)
#
# and the lower bound T* = max(S/u_seed, S/d, N*S/(u_seed + N*u)) with u_seed = u = d = R.
#
#   bench/loopback_distribution.sh [--nodes 16] [--size 128M] [--rate 20000000]
#       [--bin-dir build/bin] [--methods "shoal push"] [--results bench/results] [--keep]
#
# --rate is bytes per second (20000000 = 20 MB/s). Time = from starting the clients to the last
# one returning. Every copy is MD5-checked. CPU: whole-machine busy share and busy CPU-seconds
# per GiB delivered (N*S) from /proc/stat deltas over the timed phase (upper bounds: the machine
# is shared), plus the benchmark's own processes' CPU-seconds (utime+stime of the daemons and
# clients). Writes bench/results/loopback-n<N>.md and regenerates bench/results/loopback.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
nodes=16 size=128M rate=20000000 keep=0 methods="shoal push"
bin="$repo/build/bin" results="$repo/bench/results"
while (($#)); do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --bin-dir) bin=$(cd "$2" && pwd); shift 2 ;;
    --methods) methods=${2//,/ }; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "loopback: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ $nodes =~ ^[0-9]+$ && $nodes -ge 1 && $nodes -le 64 ]] || { echo "--nodes: 1..64" >&2; exit 2; }
[[ $rate =~ ^[0-9]+$ && $rate -gt 0 ]] || { echo "--rate: bytes/s > 0" >&2; exit 2; }
for b in shoal-tracker shoal-seeder shoal-node shoal shoal-http-origin; do
  [[ -x $bin/$b ]] || { echo "loopback: missing $bin/$b" >&2; exit 2; }
done
if ! command -v curl >/dev/null; then
  apt-get install -y curl >/dev/null || { echo "loopback: curl missing" >&2; exit 2; }
fi
hz=$(getconf CLK_TCK)

work=$(mktemp -d /tmp/shoal-loopback-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $keep == 0 ]]; then rm -rf "$work"; else echo "state and logs kept in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() {  # wait_ready FILE PID: the daemon writes FILE once it is serving
  for _ in $(seq 1 600); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "loopback: $(dirname "$1") did not start; log: $(tail -3 "$(dirname "$1")/log")" >&2
  exit 1
}
value() { grep "^$2=" "$1" | cut -d= -f2-; }
now() { date +%s.%N; }
# Whole-machine /proc/stat: "busy total" in jiffies (busy excludes idle and iowait).
machine_jiffies() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6, t; exit}' /proc/stat; }
# utime+stime of the given pids, in jiffies (processes that exited count as 0).
proc_jiffies() {
  local sum=0 p f
  for p in "$@"; do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }  # fields after "(comm) "; utime and stime are fields 14 and 15 overall
    read -r -a a <<<"$f"
    sum=$((sum + a[11] + a[12]))
  done
  echo $sum
}

echo "loopback: generating $size test file..." >&2
mkdir -p "$work/origin"
head -c "$size" /dev/urandom >"$work/origin/artifact.bin"
bytes=$(stat -c %s "$work/origin/artifact.bin")
md5=$(md5sum "$work/origin/artifact.bin" | cut -d' ' -f1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Result per method: time first median last(=time) cpu_pct cpu_s proc_s status
declare -A res

# Writes "first median last" of the per-node seconds in FILE (one number a line).
spread() { sort -g "$1" | awk '{v[NR]=$1} END{if(NR==0){print "- - -"; exit}
  printf "%.2f %.2f %.2f\n", v[1], v[int((NR+1)/2)], v[NR]}'; }

run_shoal() {
  local d=$work/shoal lim=(--upload-limit "$rate" --download-limit "$rate") daemons=()
  mkdir -p "$d"/{tracker,seeder,out}
  "$bin/shoal-tracker" --open --listen 127.0.0.1:0 --interval 5 --ready-file "$d/tracker/ready" \
    2>"$d/tracker/log" & pids+=($!); daemons+=($!)
  wait_ready "$d/tracker/ready" $!
  local announce; announce=$(value "$d/tracker/ready" announce)
  "$bin/shoal-seeder" --state-dir "$d/seeder" --tracker "$announce" "${lim[@]}" \
    --ready-file "$d/seeder/ready" 2>"$d/seeder/log" & pids+=($!); daemons+=($!)
  wait_ready "$d/seeder/ready" $!
  local origin; origin=$(value "$d/seeder/ready" origin)
  for i in $(seq 1 "$nodes"); do
    mkdir -p "$d/node-$i"
    "$bin/shoal-node" --state-dir "$d/node-$i" --name "node-$i" --origin "$origin" \
      --tracker "$announce" --dc dc1 --rack "rack$(((i - 1) / 4 + 1))" "${lim[@]}" \
      --allow-root "$d/out" --ready-file "$d/node-$i/ready" 2>"$d/node-$i/log" &
    pids+=($!); daemons+=($!)
  done
  for i in $(seq 1 "$nodes"); do wait_ready "$d/node-$i/ready" "${daemons[$((i + 1))]}"; done
  local put; put=$("$bin/shoal" put "$work/origin/artifact.bin" --seeder "$d/seeder/admin.sock")
  local id=${put%% *}
  echo "loopback: shoal fleet up ($nodes nodes), put: $put" >&2
  sleep 2  # let the seeder's first announce land before the clock starts (not a sync point)

  local m0 p0 t0 t1 m1 p1 cj
  read -r -a m0 < <(machine_jiffies)
  p0=$(proc_jiffies "${daemons[@]}")
  t0=$(now)
  # The fetch clients run in one subshell; `times` reports its children's CPU when all are done.
  cj=$( (
    for i in $(seq 1 "$nodes"); do
      ( "$bin/shoal" fetch "$id" "$d/out/node-$i.bin" --node "$d/node-$i/admin.sock" \
          >"$d/node-$i/fetch.out" 2>"$d/node-$i/fetch.err" || echo fail >"$d/node-$i/failed"
        echo "$(now) - $t0" | bc >"$d/node-$i/secs" ) &
    done
    wait
    times | tail -1
  ))
  t1=$(now)
  read -r -a m1 < <(machine_jiffies)
  p1=$(proc_jiffies "${daemons[@]}")

  local status=ok fails=0
  cat "$d"/node-*/secs >"$d/secs"
  for i in $(seq 1 "$nodes"); do
    if [[ -f $d/node-$i/failed ]]; then
      fails=$((fails + 1)); echo "node-$i fetch failed: $(tail -2 "$d/node-$i/fetch.err")" >&2
    elif [[ $(md5sum "$d/out/node-$i.bin" | cut -d' ' -f1) != "$md5" ]]; then
      fails=$((fails + 1)); echo "node-$i: MD5 mismatch" >&2
    fi
  done
  ((fails == 0)) || status="FAILED($fails)"
  finish shoal "$t0" "$t1" m0 m1 "$p0" "$p1" "$cj" "$status" "$d/secs"
  for p in "${daemons[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ $status != ok ]]; then
    mkdir -p /tmp/shoal-loopback-failed && cp -r "$d" "/tmp/shoal-loopback-failed/n$nodes-$$"
    echo "loopback: shoal logs kept in /tmp/shoal-loopback-failed/n$nodes-$$" >&2
  fi
  rm -rf "$d"/out "$d"/node-*/cache 2>/dev/null || true
}

run_push() {
  local d=$work/push
  mkdir -p "$d/out"
  "$bin/shoal-http-origin" --root "$work/origin" --listen 127.0.0.1:0 \
    --ready-file "$d/ready" --upload-limit "$rate" 2>"$d/log" & pids+=($!)
  local origin_pid=$!
  wait_ready "$d/ready" $origin_pid
  local url="http://$(value "$d/ready" http)/artifact.bin"
  local m0 p0 t0 t1 m1 p1 cj
  read -r -a m0 < <(machine_jiffies)
  p0=$(proc_jiffies $origin_pid)
  t0=$(now)
  cj=$( (
    for i in $(seq 1 "$nodes"); do
      ( curl -sf --limit-rate "$rate" -o "$d/out/node-$i.bin" "$url" || echo fail >"$d/failed-$i"
        echo "$(now) - $t0" | bc >"$d/secs-$i" ) &
    done
    wait
    times | tail -1
  ))
  t1=$(now)
  read -r -a m1 < <(machine_jiffies)
  p1=$(proc_jiffies $origin_pid)
  kill $origin_pid 2>/dev/null || true
  local fails=0 status=ok
  cat "$d"/secs-* >"$d/secs"
  for i in $(seq 1 "$nodes"); do
    if [[ -f $d/failed-$i ]] || [[ $(md5sum "$d/out/node-$i.bin" | cut -d' ' -f1) != "$md5" ]]; then
      fails=$((fails + 1))
    fi
  done
  ((fails == 0)) || status="FAILED($fails)"
  finish push "$t0" "$t1" m0 m1 "$p0" "$p1" "$cj" "$status" "$d/secs"
  rm -rf "$d/out"
}

# finish METHOD T0 T1 M0 M1 P0 P1 CHILD_TIMES STATUS SECS_FILE: record one method's figures.
finish() {
  local -n a0=$4 a1=$5
  local busy=$((a1[0] - a0[0])) total=$((a1[1] - a0[1]))
  # `times` prints e.g. "0m1.234s 0m0.567s" for the children's user and system time.
  local child_s; child_s=$(awk '{s=0; for(i=1;i<=2;i++){split($i,x,"m"); sub("s","",x[2]); s+=x[1]*60+x[2]} print s}' <<<"$8")
  local gib; gib=$(echo "$nodes * $bytes / 1073741824" | bc -l)
  res[$1]=$(awk -v t0="$2" -v t1="$3" -v b="$busy" -v tot="$total" -v hz="$hz" -v p="$(($7 - $6))" \
    -v c="$child_s" -v g="$gib" -v sp="$(spread "${10}")" -v st="$9" 'BEGIN{
      split(sp, s, " "); cs=b/hz; ps=p/hz+c
      printf "%.2f %s %s %.0f %.1f %.1f %.1f %.1f %s", t1-t0, s[1], s[2], 100*b/tot, cs, cs/g, ps, ps/g, st}')
  echo "loopback: $1 done: ${res[$1]}" >&2
}

for m in $methods; do
  case $m in
    shoal) run_shoal ;;
    push | http) run_push ;;
    *) echo "loopback: unknown method $m" >&2; exit 2 ;;
  esac
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ---------------------------------------------------------------------------------
tstar=$(awk -v s="$bytes" -v r="$rate" -v n="$nodes" 'BEGIN{a=s/r; c=n*s/(r+n*r); print (a>c?a:c)}')
mib=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1048576}')
mbs=$(awk -v r="$rate" 'BEGIN{printf "%g", r/1e6}')
get() { [[ -n ${res[$1]:-} ]] && awk -v k="$2" '{print $k}' <<<"${res[$1]}" || echo -; }
ratio() { [[ $1 == - || $2 == - ]] && echo - || awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
out="$results/loopback-n$nodes.md"
mkdir -p "$results"
{
  echo "### N=$nodes, S=$mib MiB, R=$mbs MB/s per daemon ($(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Load average before/after: $load_before / $load_after on $(nproc) cores."
  echo
  echo "| method | time to all done | first / median node | ratio to T* | machine CPU % | machine CPU s | machine CPU s/GiB | own-process CPU s | own CPU s/GiB | status |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '| T* (bound) | %.2f s | | 1.00 | | | | | | |\n' "$tstar"
  for m in shoal push; do
    [[ -n ${res[$m]:-} ]] || continue
    read -r t f med pct cs csg ps psg st <<<"${res[$m]}"
    echo "| $m | $t s | $f / $med s | $(ratio "$t" "$tstar") | $pct | $cs | $csg | $ps | $psg | $st |"
  done
  echo
  st=$(get shoal 1) pt=$(get push 1)
  echo "Ratios: Shoal/T* = $(ratio "$st" "$tstar"), push/T* = $(ratio "$pt" "$tstar"), push/Shoal = $(ratio "$pt" "$st")."
  echo
} >"$out"
cat "$out"
{
  cat <<'EOF'
# Loopback distribution benchmark

`bench/loopback_distribution.sh`: one origin sends one S-byte file to N nodes on 127.0.0.1, every
daemon rate-limited to R bytes/s up and down (libtorrent session limits for Shoal's seeder and
nodes; `shoal-http-origin --upload-limit R` and `curl --limit-rate R` for the central push). No
namespaces, no shaping: the limits stand in for links, and everything shares this machine's 2
cores, so the figures are CPU-sensitive. T* = max(S/u_seed, S/d, N·S/(u_seed + N·u)) with
u_seed = u = d = R, i.e. S/R. Machine CPU figures are whole-machine /proc/stat deltas during the
timed phase (they include other engineers' builds); own-process CPU is utime+stime of the
benchmark's daemons and clients (origin + curl, or tracker + seeder + nodes + `shoal fetch`).

EOF
  for f in "$results"/loopback-n*.md; do cat "$f"; done
  # Hand-written reading of the figures, kept across runs.
  if [[ -f $results/loopback-notes.md ]]; then cat "$results/loopback-notes.md"; fi
} >"$results/loopback.md"
[[ $(get shoal 9) == ok || -z ${res[shoal]:-} ]] && [[ $(get push 9) == ok || -z ${res[push]:-} ]]
