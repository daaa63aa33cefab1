#!/usr/bin/env bash
# Ingest hashing against coreutils on the same 1 GiB file (in the page cache):
# hash_bench's single-digest baselines and HashFile, then `sha256sum` and `md5sum`, interleaved
# round by round so that load from other users of a shared machine hits all of them alike.
# Prints a markdown table (medians, min-max spread, ratios) and writes it to
# bench/results/hash.md.
#
#   bench/hash_vs_coreutils.sh [build-dir] [rounds]     (defaults: build, 5)
#
# On a machine busy with other work the figures mostly measure the scheduler. As root,
# SHOAL_BENCH_RT=1 runs every measured command under SCHED_FIFO (chrt -f 10) so that it gets
# the cores it would have on an idle machine (the kernel's RT throttling still leaves others
# ~5%); the table says which mode was used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-5}
bench=$build/bin/hash_bench
file=${SHOAL_HASH_BENCH_FILE:-/tmp/shoal-hash-bench-1GiB.bin}
export SHOAL_HASH_BENCH_FILE=$file
[[ -x $bench ]] || { echo "no $bench: build the hash_bench target first" >&2; exit 1; }

rt=()
mode="normal scheduling"
if [[ ${SHOAL_BENCH_RT:-0} == 1 ]]; then
  rt=(chrt -f 10)
  mode="SCHED_FIFO (chrt -f 10)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Creates the file if needed and warms the page cache.
"$bench" --benchmark_filter='BM_Xxh3Alone' >/dev/null

time_cmd() {  # prints seconds taken by "$@"
  local t0 t1
  t0=$(date +%s.%N)
  "${rt[@]}" "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

for ((r = 0; r < rounds; r++)); do
  "${rt[@]}" "$bench" --benchmark_filter='BM_(Md5Alone/4096|Sha256Alone|Xxh3Alone|HashFile/4096/4/0/)' \
    --benchmark_format=json --benchmark_out="$work/bench$r.json" >/dev/null 2>&1
  time_cmd sha256sum "$file" >>"$work/sha256sum.txt"
  time_cmd md5sum "$file" >>"$work/md5sum.txt"
  echo "round $((r + 1))/$rounds done" >&2
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$work" "$rounds" "$file" "$load_before" "$load_after" "$mode" >"$work/table.md" <<'EOF'
import json, os, statistics, sys
work, rounds, path, load_before, load_after, mode = sys.argv[1:7]
size = os.path.getsize(path)
runs = {}
for r in range(int(rounds)):
    for b in json.load(open(f"{work}/bench{r}.json"))["benchmarks"]:
        name = b["name"].replace("/real_time", "").replace("BM_", "")
        runs.setdefault(name, []).append(b["bytes_per_second"] / 1e6)
for tool in ("sha256sum", "md5sum"):
    runs[tool] = [size / float(s) / 1e6 for s in open(f"{work}/{tool}.txt").read().split()]
labels = {
    "Md5Alone/4096": "OpenSSL MD5 alone (1 thread, 4 MiB reads)",
    "Sha256Alone/128": "OpenSSL SHA-256 alone (1 thread, SHA-NI)",
    "Xxh3Alone/128": "xxh3-128 alone (1 thread)",
    "HashFile/4096/4/0": "**Shoal HashFile** (MD5 + SHA-256 + xxh3 + v2 piece layer)",
    "sha256sum": "`sha256sum` (coreutils)",
    "md5sum": "`md5sum` (coreutils)",
}
med = {k: statistics.median(v) for k, v in runs.items()}
hf = med["HashFile/4096/4/0"]
cpu = open("/proc/cpuinfo").read()
model = next(l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("model name"))
print(f"# Ingest hashing: 1 GiB file in page cache\n")
print(f"Machine: {os.cpu_count()} cores, {model}; SHARED with other engineers' builds "
      f"(load average {load_before} before, {load_after} after); {mode}. {rounds} rounds, "
      f"interleaved; median and min-max of MB/s (10^6 bytes/s).\n")
print("| what | median MB/s | min-max | HashFile / this |")
print("|---|---:|---:|---:|")
for k, label in labels.items():
    v = runs[k]
    print(f"| {label} | {med[k]:.0f} | {min(v):.0f}-{max(v):.0f} | {hf / med[k]:.2f}x |")
print(f"\nTargets: HashFile >= 0.9x OpenSSL MD5 alone (got {hf / med['Md5Alone/4096']:.2f}x), "
      f">= 2x sha256sum (got {hf / med['sha256sum']:.2f}x).")
EOF
cat "$work/table.md"
mkdir -p "$here/results"
cp "$work/table.md" "$here/results/hash.md"
