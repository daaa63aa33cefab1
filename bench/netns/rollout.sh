#!/usr/bin/env bash
# Waved-rollout benchmark (issue 11): on the shaped network, one `shoal apply` of a job (the
# artifact as a file step, then a command) in waves, with and without pre-staging, beside the
# plain swarm (`shoal fetch` on every node at once), interleaved in one topology; then the
# verdict against "rollout <= 1.2 x (plain swarm + the waves' command time)".
#
#   rollout.sh [--nodes 16] [--size 128M] [--rate 100mbit] [--repeat 3] [--bin-dir build/bin]
#              [--results bench/results/rollout]
# ROLLOUT_WAVES (default "1 25% 100%") and ROLLOUT_CMD_SLEEP (default 1 s) shape the job.
# Writes RESULTS/distribution{,-runs}.tsv (distribution.sh's tables) and RESULTS/../rollout.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
nodes=16 size=128M rate=100mbit repeat=3 bin_dir="$repo/build/bin" results="$repo/bench/results/rollout"
while (($#)); do
  case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --bin-dir) bin_dir=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rollout: unknown option $1" >&2; exit 2 ;;
  esac
done
bash "$here/distribution.sh" --nodes "$nodes" --size "$size" --rate "$rate" --repeat "$repeat" \
  --methods "shoal rollout rollout-noprestage" --bin-dir "$bin_dir" --results "$results"
session=$(tail -1 "$results/distribution-runs.tsv" | awk -F'\t' '{ print $(NF - 1) }')
python3 "$here/rollout_report.py" "$results/distribution-runs.tsv" "$session" \
  "$bin_dir at $(git -C "$repo" describe --always --dirty)" >"$results/../rollout.md"
cat "$results/../rollout.md"
