# shellcheck shell=bash
# The distribution methods (and the planner rollout), sourced by distribution.sh (which provides hx, begin_timed,
# end_timed, await_nodes, record, merge_row and the case variables n, rate, work, goodput,
# size_bytes, timeout_s, bin_dir). Each run_<method>:
#   1. starts its origin-side servers and waits until they serve (ready file or listening port),
#   2. begin_timed, starts one client per node at once, each writing $work/done/<i> with its
#      end time only after a complete download,
#   3. await_nodes, end_timed, record (which md5-checks every node's copy).
# Servers and clients all run inside the case's cgroup (hx), so their CPU is measured.

origin_ip() { host_ip 0; }
tracker_url() { echo "http://$(origin_ip):6969/announce"; }

# ---- central push over HTTP -----------------------------------------------------------------
run_http() {
  hx 0 python3 -m http.server --bind "$(origin_ip)" --directory "$work/origin" 8080 \
    >"$work/http.log" 2>&1 &
  wait_for "tcp_listening 0 8080" 15 "http.server on the origin"
  begin_timed
  local i
  for ((i = 1; i <= n; i++)); do
    hx "$i" sh -c 'curl -sf -o "$1" "$2" && date +%s.%N >"$3"' sh \
      "$work/node-$i/payload.bin" "http://$(origin_ip):8080/payload.bin" "$work/done/$i" &
    client_pids[i]=$!
  done
  await_nodes "$n" "$timeout_s"
  end_timed
  record http "python3 http.server, curl"
}

# ---- aria2c swarm ---------------------------------------------------------------------------
# A tracker on the origin: the project's shoal-tracker once built, else mini_tracker.py.
start_tracker() {
  rm -f "$work/tracker.ready"
  if [[ -x $bin_dir/shoal-tracker ]]; then
    tracker_kind=shoal-tracker
    hx 0 "$bin_dir/shoal-tracker" --open --listen "$(origin_ip):6969" --ready-file "$work/tracker.ready" \
      >"$work/tracker.log" 2>&1 &
  else
    tracker_kind=mini_tracker.py
    hx 0 python3 "$here/mini_tracker.py" --listen "$(origin_ip):6969" \
      --ready-file "$work/tracker.ready" >"$work/tracker.log" 2>&1 &
  fi
  wait_for "[[ -s $work/tracker.ready ]]" 15 "$tracker_kind ready file"
}

aria2_common=(
  --seed-ratio=0.0 # seed until killed: a finished node keeps serving the others
  --enable-dht=false --enable-dht6=false --bt-enable-lpd=false --disable-ipv6=true
  --listen-port=6881 --file-allocation=none --summary-interval=0
  --console-log-level=warn --quiet=true
)

# start_aria2c_seed: the tracker, the v1 torrent ($torrent) and aria2c seeding it on the origin;
# returns once the tracker lists the seed (a few hundred ms), so downloaders find it at once.
start_aria2c_seed() {
  start_tracker
  torrent="$work/payload.torrent"
  local info_hash seeds=-1
  info_hash=$(python3 "$here/make_torrent.py" "$work/origin/payload.bin" \
    --announce "$(tracker_url)" -o "$torrent")
  hx 0 aria2c "${aria2_common[@]}" --dir="$work/origin" --bt-seed-unverified=true "$torrent" \
    >"$work/aria2-seed.log" 2>&1 &
  wait_for "tcp_listening 0 6881" 15 "aria2c seed listening"
  for _ in $(seq 1 100); do
    seeds=$(nsx 0 python3 "$here/scrape.py" "$(tracker_url)" "$info_hash")
    ((seeds >= 1)) && break
    sleep 0.1
  done
  ((seeds >= 1)) || echo "  warning: tracker scrape never showed the seed; starting anyway" >&2
}

run_aria2c() {
  local torrent i
  start_aria2c_seed
  printf '#!/bin/sh\n# aria2c --on-bt-download-complete hook: all pieces verified, seeding starts\ndate +%%s.%%N >"$SHOAL_DONE"\n' \
    >"$work/aria2-done-hook"
  chmod +x "$work/aria2-done-hook"
  begin_timed
  for ((i = 1; i <= n; i++)); do
    hx "$i" env SHOAL_DONE="$work/done/$i" aria2c "${aria2_common[@]}" --dir="$work/node-$i" \
      --on-bt-download-complete="$work/aria2-done-hook" "$torrent" >"$work/aria2-$i.log" 2>&1 &
    client_pids[i]=$!
  done
  await_nodes "$n" "$timeout_s"
  end_timed
  record aria2c "aria2c $(aria2c --version | awk 'NR == 1 { print $3 }'), v1 torrent 256 KiB pieces, $tracker_kind"
}

# ---- aria2c, then the checks and the install Shoal does ---------------------------------------
# The same download, into $work/node-<i>/dl; its completion hook then does what a Shoal node does
# before a file counts as delivered: the whole-file SHA-256 and MD5, compared with the origin's,
# and the install (write to a temporary, fsync, rename) at $work/node-<i>/payload.bin, all from
# one read of the downloaded file (python3's hashlib is OpenSSL's, SHA-NI included). The node is
# done when the install is. The hook runs under aria2c, in the case's cgroup: its CPU counts.
run_aria2c-checked() {
  local torrent i sha256
  start_aria2c_seed
  sha256=$(sha256sum <"$work/origin/payload.bin" | cut -d' ' -f1)
  # The system's interpreter, not a version manager's shim (pyenv's costs ~0.1 s of CPU a start).
  local python=/usr/bin/python3
  [[ -x $python ]] || python=$(command -v python3)
  cat >"$work/aria2-check-hook" <<'HOOK'
#!/bin/sh
# aria2c --on-bt-download-complete hook ($3: the downloaded file): digests, install, done time.
exec >>"$SHOAL_HOOK_LOG" 2>&1
exec "$SHOAL_PYTHON" -c '
import hashlib, os, sys
src, dest, want_sha256, want_md5, done = sys.argv[1:6]
sha, md5 = hashlib.sha256(), hashlib.md5()
tmp = dest + ".tmp"
with open(src, "rb", buffering=0) as f, open(tmp, "wb", buffering=0) as out:
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while n := f.readinto(buf):
        sha.update(view[:n]); md5.update(view[:n]); out.write(view[:n])
    os.fsync(out.fileno())
if sha.hexdigest() != want_sha256 or md5.hexdigest() != want_md5:
    os.unlink(tmp)
    sys.exit("digests differ: " + src)
os.rename(tmp, dest)
import time
open(done, "w").write("%.9f\n" % time.time())
' "$3" "$SHOAL_DEST" "$SHOAL_SHA256" "$SHOAL_MD5" "$SHOAL_DONE"
HOOK
  chmod +x "$work/aria2-check-hook"
  begin_timed
  for ((i = 1; i <= n; i++)); do
    mkdir -p "$work/node-$i/dl"
    hx "$i" env SHOAL_DONE="$work/done/$i" SHOAL_HOOK_LOG="$work/aria2-hook-$i.log" \
      SHOAL_DEST="$work/node-$i/payload.bin" \
      SHOAL_SHA256="$sha256" SHOAL_MD5="$md5" SHOAL_PYTHON="$python" aria2c "${aria2_common[@]}" --dir="$work/node-$i/dl" \
      --on-bt-download-complete="$work/aria2-check-hook" "$torrent" >"$work/aria2-$i.log" 2>&1 &
    client_pids[i]=$!
  done
  await_nodes "$n" "$timeout_s"
  end_timed
  record aria2c-checked "aria2c $(aria2c --version | awk 'NR == 1 { print $3 }') + SHA-256, MD5 and install in its completion hook (python3 hashlib), v1 torrent 256 KiB pieces, $tracker_kind"
}

# ---- Shoal ----------------------------------------------------------------------------------
# SHOAL_SEEDER_ARGS / SHOAL_NODE_ARGS add daemon flags (e.g. "--disk-io posix" or
# "--bt-setting suggest_mode=1") for tuning runs; they are recorded in the row's note.
run_shoal() {
  local method=${1:-shoal} i
  shoal_fleet_up "$method" || return $?
  [[ -n $shoal_id ]] || return 0  # binaries not built: a placeholder row was recorded
  begin_timed
  for ((i = 1; i <= n; i++)); do
    hx "$i" sh -c '"$1" fetch "$2" "$3" --node "$4" && date +%s.%N >"$5"' sh "$bin_dir/shoal" \
      "$shoal_id" "$work/inst/payload.bin" "$shoal_state/node-$i/admin.sock" "$work/done/$i" \
      >"$work/fetch-$i.log" 2>&1 &
    client_pids[i]=$!
  done
  await_nodes "$n" "$timeout_s"
  end_timed
  record "$method" "shoal-node x$n, $tracker_kind$(shoal_tuning_note)"
}

shoal_tuning_note() { # the flags and environment under test; blank ones (shoal-x unset) left out
  local seeder nodes env
  read -r seeder <<<"${SHOAL_SEEDER_ARGS:-}"
  read -r nodes <<<"${SHOAL_NODE_ARGS:-}"
  read -r env <<<"${SHOAL_NODE_ENV:-}"
  echo "${seeder:+; seeder $seeder}${nodes:+; nodes $nodes}${env:+; node env $env}"
}

# shoal_fleet_up METHOD [NODE-ARGS...]: tracker and seeder on the origin, shoal-node on every
# node (with NODE-ARGS, e.g. a planner), the payload put to the seeder. Sets shoal_state and
# shoal_id (the artifact id; empty when the binaries are not built, after recording a
# placeholder row). Each node runs in a mount namespace of its own where $work/node-<i> is
# bind-mounted on $work/inst, so a path every node is told alike ($work/inst/...) is a
# different file on each host, as on a real fleet. A node's state (its cache) is on that same
# mount, $work/inst/state, as on a host with one root filesystem (where an install can be a hard
# link to the cache, --install-link); $shoal_state/node-<i> links to it for the outside.
shoal_fleet_up() {
  local method=$1
  shift
  local -a seeder_args node_args
  read -r -a seeder_args <<<"${SHOAL_SEEDER_ARGS:-}"
  read -r -a node_args <<<"${SHOAL_NODE_ARGS:-}"
  node_args+=("$@")
  shoal_id=""
  local missing=() b
  for b in shoal-tracker shoal-seeder shoal-node shoal; do
    [[ -x $bin_dir/$b ]] || missing+=("$b")
  done
  if ((${#missing[@]})); then
    echo "  shoal: binaries not built yet (missing in $bin_dir: ${missing[*]}): skipped"
    merge_row "$(printf '%s\t%s\t%s\t%s\t%.2f\t\t\t\t\t\t\t\t\t\t\t\t\tshoal binaries not built yet' \
      "$method" "$n" "${rate_label:-$rate}" "$size" "$(awk -v g="$goodput" 'BEGIN { print g / 1e6 }')")"
    return 0
  fi
  shoal_state="$work/state"
  local i
  rm -rf "$shoal_state"
  mkdir -p "$shoal_state/seeder" "$work/inst"
  start_tracker
  hx 0 "$bin_dir/shoal-seeder" --state-dir "$shoal_state/seeder" --listen "$(origin_ip):7000" \
    --bt-listen "$(origin_ip):6881" --tracker "$(tracker_url)" \
    --ready-file "$shoal_state/seeder/ready" "${seeder_args[@]}" >"$work/seeder.log" 2>&1 &
  wait_for "[[ -s $shoal_state/seeder/ready ]]" 30 "shoal-seeder ready file"
  # shellcheck disable=SC1091
  source "$SHOAL_STATE_DIR/topology.env"
  for ((i = 1; i <= n; i++)); do
    local dc_var="HOST_DC_$i"
    mkdir -p "$work/node-$i/state"
    ln -sfn "$work/node-$i/state" "$shoal_state/node-$i"
    hx "$i" env ${SHOAL_NODE_ENV:-} unshare --mount --propagation private sh -c \
      'mount --bind "$0" "$1" && shift && exec "$@"' "$work/node-$i" "$work/inst" \
      "$bin_dir/shoal-node" --state-dir "$work/inst/state" --name "node-$i" \
      --origin "$(origin_ip):7000" --bt-listen "$(host_ip "$i"):6881" --tracker "$(tracker_url)" \
      --allow-root "$work/inst" --dc "${!dc_var}" --rack "r$(((i - 1) / 8 + 1))" \
      --ready-file "$shoal_state/node-$i/ready" "${node_args[@]}" >"$work/node-$i.log" 2>&1 &
  done
  for ((i = 1; i <= n; i++)); do
    wait_for "[[ -s $shoal_state/node-$i/ready ]]" 60 "shoal-node $i ready file"
  done
  shoal_id=$(nsx 0 "$bin_dir/shoal" put "$work/origin/payload.bin" \
    --seeder "$shoal_state/seeder/admin.sock" | head -1 | awk '{ print $1 }')
  [[ $shoal_id == *:* ]] || { echo "  shoal put printed no artifact id" >&2; shoal_id=""; return 1; }
}

# Shoal with the origin super-seeding: each piece leaves the origin once before any twice.
run_shoal-ss() { SHOAL_SEEDER_ARGS="--super-seed ${SHOAL_SEEDER_ARGS:-}" run_shoal shoal-ss; }

# Shoal with one libtorrent disk back end forced on the nodes (tuning: compare them in one run).
run_shoal-mmap() { SHOAL_NODE_ARGS="--disk-io mmap ${SHOAL_NODE_ARGS:-}" run_shoal shoal-mmap; }
run_shoal-posix() { SHOAL_NODE_ARGS="--disk-io posix ${SHOAL_NODE_ARGS:-}" run_shoal shoal-posix; }
# Without the piece cache (core/piece_cache.h): every block written as it comes, every read a pread.
run_shoal-nocache() { SHOAL_NODE_ARGS="--piece-cache 0 ${SHOAL_NODE_ARGS:-}" run_shoal shoal-nocache; }
# Every install a copy of its own (on --work-fs xfs the default install shares the file's blocks).
run_shoal-copy() { SHOAL_NODE_ARGS="--install-reflink false ${SHOAL_NODE_ARGS:-}" run_shoal shoal-copy; }
# Every install the cached file itself, a hard link (--install-link; the node's cache is on its
# install mount here): nothing written for the install on any filesystem.
run_shoal-link() { SHOAL_NODE_ARGS="--install-link true ${SHOAL_NODE_ARGS:-}" run_shoal shoal-link; }
# Shoal's batching loop for libtorrent's network thread (core/network_loop.h), nodes and origin.
run_shoal-nap() {
  SHOAL_NODE_ARGS="--net-batch-us 2000 ${SHOAL_NODE_ARGS:-}" \
    SHOAL_SEEDER_ARGS="--net-batch-us 2000 ${SHOAL_SEEDER_ARGS:-}" run_shoal shoal-nap
}
# Shoal with flags under test beside plain `shoal` in one run (A/B without a method per
# experiment): SHOAL_X_NODE_ARGS and SHOAL_X_SEEDER_ARGS, and SHOAL_X_NODE_ENV (NAME=value words
# set in the nodes' environment, e.g. GLIBC_TUNABLES).
run_shoal-x() {
  SHOAL_NODE_ARGS="${SHOAL_X_NODE_ARGS:-} ${SHOAL_NODE_ARGS:-}" \
    SHOAL_NODE_ENV="${SHOAL_X_NODE_ENV:-} ${SHOAL_NODE_ENV:-}" \
    SHOAL_SEEDER_ARGS="${SHOAL_X_SEEDER_ARGS:-} ${SHOAL_SEEDER_ARGS:-}" run_shoal shoal-x
}
run_shoal-sdisk() { SHOAL_NODE_ARGS="--disk-io shoal ${SHOAL_NODE_ARGS:-}" run_shoal shoal-sdisk; }

# ---- a waved rollout through the planner (issue 11's shaped-network benchmark) ---------------
# The same fleet plus shoal-planner on the origin; every node joins it. One `shoal apply` of a
# job file: a file step (the payload, by its artifact id, installed at $work/inst/payload.bin)
# then a command (md5 check of the installed file, then `sleep $ROLLOUT_CMD_SLEEP` standing in
# for a service restart), in waves $ROLLOUT_WAVES (default "1 25% 100%"). Node i is done when
# its command has finished; the case ends when apply exits. The row's note carries the waves'
# command time (per wave the slowest host's command, summed over waves), so that report can
# set the rollout beside "plain swarm time + command time" (the target of issue 11).
run_rollout() { rollout_case rollout true; }
run_rollout-noprestage() { rollout_case rollout-noprestage false; }

rollout_case() {
  local method=$1 prestage=$2 i token
  local waves=${ROLLOUT_WAVES:-1 25% 100%} sleep_s=${ROLLOUT_CMD_SLEEP:-1}
  # The planner starts before the nodes (they join it), so its state is outside $work/state,
  # which shoal_fleet_up recreates.
  local pstate="$work/planner-state"
  [[ -x $bin_dir/shoal-planner ]] || { echo "  $method: no shoal-planner in $bin_dir" >&2; return 1; }
  rm -rf "$pstate"
  "$bin_dir/shoal-planner" init --state-dir "$pstate" >/dev/null
  hx 0 "$bin_dir/shoal-planner" serve --state-dir "$pstate" --listen "$(origin_ip):7400" \
    --heartbeat-ms 1000 >"$work/planner.log" 2>&1 &
  wait_for "[[ -s $pstate/planner.ready ]]" 30 "shoal-planner ready file"
  # Every planner client runs on the origin host: the planner's address exists only there.
  planner_cli() { nsx 0 env SHOAL_PLANNER_DIR="$pstate" \
    SHOAL_SEEDER_SOCKET="$work/state/seeder/admin.sock" "$bin_dir/shoal" "$@"; }
  token=$(planner_cli join-token --uses "$n")
  shoal_fleet_up "$method" --planner "$(origin_ip):7400" --join-token "$token" \
    --label role=bench || return $?
  [[ -n $shoal_id ]] || return 0
  online() { planner_cli hosts --online | grep -c '^node-'; }
  wait_for '(($(online) >= n))' 60 "$n nodes registered with the planner"
  mkdir -p "$work/cmd"
  cat >"$work/job.yaml" <<YAML
name: bench-rollout
targets: [role=bench]
waves: "$waves"
max_failed: 0
prestage: $prestage
steps:
  - file: {artifact: $shoal_id, dest: $work/inst/payload.bin, mode: "0644"}
  - command:
      name: deploy
      run: |
        echo "$md5  $work/inst/payload.bin" | md5sum -c --quiet
        sleep $sleep_s
        date +%s.%N >"$work/done/\${SHOAL_NODE#node-}"
YAML
  planner_cli plan "$work/job.yaml" >"$work/plan.log" 2>&1
  begin_timed
  hx 0 env SHOAL_PLANNER_DIR="$pstate" SHOAL_SEEDER_SOCKET="$shoal_state/seeder/admin.sock" \
    "$bin_dir/shoal" apply --quiet "$work/job.yaml" >"$work/apply.log" 2>&1 &
  local apply_pid=$!
  for ((i = 1; i <= n; i++)); do client_pids[i]=$apply_pid; done
  await_nodes "$n" "$timeout_s"
  wait "$apply_pid" || echo "  shoal apply exited $?" >&2
  end_timed
  # Per wave, the slowest host's command ("wK node-i deploy OK exited 0 1.23s ..."), summed.
  local cmd_s in_cache
  cmd_s=$(awk '$3 == "deploy" && $1 ~ /^w[0-9]+$/ {
      for (f = 4; f <= NF; f++) if ($f ~ /^[0-9.]+s$/) { d = $f + 0; break }
      if (d > m[$1]) m[$1] = d
    } END { for (w in m) t += m[w]; printf "%.2f", t }' "$work/apply.log")
  in_cache=$(grep -c ' in cache ' "$work/apply.log" || true)
  # The first wave's file step: what pre-staging must not slow down.
  local wave1_fetch_s
  wave1_fetch_s=$(awk '$1 == "w1" && $3 == "file" {
      for (f = 4; f <= NF; f++) if ($f ~ /^[0-9.]+s$/) { d = $f + 0; break }
      if (d > m) m = d
    } END { printf "%.2f", m }' "$work/apply.log")
  record "$method" "planner + shoal-node x$n, waves $waves, prestage $prestage; commands ${cmd_s}s; wave 1 fetch ${wave1_fetch_s}s; in cache $in_cache of $n$(shoal_tuning_note)"
}

# Issue 12's download path, one step at a time (tuning: compare them in one run):
#   shoal-base    whole-file check after the last piece, rarest-first picking (before issue 12)
#   shoal-stream  the check streamed while downloading, picking unchanged
#   shoal-window  + the digest window in piece picking
#   shoal-stripe  + the origin stripe (the default before round 4: shoal-stripe below)
#   shoal-cols    column picking instead of the stripe (the default of round 4)
#   shoal         origin dispatch (core/swarm_dispatch.h; the default since round 5)
# Every step before dispatch has the nodes decline it (`--dispatch false`): the origin is then a
# plain seed to them.
run_shoal-base() {
  SHOAL_NODE_ARGS="--stream-check false --digest-window 0 --origin-stripe false --origin-columns 0 --dispatch false ${SHOAL_NODE_ARGS:-}" \
    run_shoal shoal-base
}
run_shoal-stream() {
  SHOAL_NODE_ARGS="--digest-window 0 --origin-stripe false --origin-columns 0 --dispatch false ${SHOAL_NODE_ARGS:-}" run_shoal shoal-stream
}
run_shoal-window() { SHOAL_NODE_ARGS="--origin-stripe false --origin-columns 0 --dispatch false ${SHOAL_NODE_ARGS:-}" run_shoal shoal-window; }

# Shoal from another build (A/B of two builds in one run): SHOAL_ALT_BIN_DIR=DIR.
run_shoal-alt() {
  local bin_dir=${SHOAL_ALT_BIN_DIR:?shoal-alt needs SHOAL_ALT_BIN_DIR}
  run_shoal shoal-alt
}

# Issue 12 round 4: column picking (core/swarm_columns.h) against the origin stripe before it;
# round 5: both against origin dispatch (plain `shoal`), in one run.
run_shoal-cols() { SHOAL_NODE_ARGS="--origin-columns -1 --dispatch false ${SHOAL_NODE_ARGS:-}" run_shoal shoal-cols; }
run_shoal-stripe() { SHOAL_NODE_ARGS="--origin-columns 0 --dispatch false ${SHOAL_NODE_ARGS:-}" run_shoal shoal-stripe; }
