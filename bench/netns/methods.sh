# shellcheck shell=bash
# The three distribution methods, sourced by distribution.sh (which provides hx, begin_timed,
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

run_aria2c() {
  start_tracker
  local torrent="$work/payload.torrent" info_hash i seeds=-1
  info_hash=$(python3 "$here/make_torrent.py" "$work/origin/payload.bin" \
    --announce "$(tracker_url)" -o "$torrent")
  hx 0 aria2c "${aria2_common[@]}" --dir="$work/origin" --bt-seed-unverified=true "$torrent" \
    >"$work/aria2-seed.log" 2>&1 &
  wait_for "tcp_listening 0 6881" 15 "aria2c seed listening"
  # Start the downloaders only once the tracker lists the seed (a few hundred ms).
  for _ in $(seq 1 100); do
    seeds=$(nsx 0 python3 "$here/scrape.py" "$(tracker_url)" "$info_hash")
    ((seeds >= 1)) && break
    sleep 0.1
  done
  ((seeds >= 1)) || echo "  warning: tracker scrape never showed the seed; starting anyway" >&2
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

# ---- Shoal ----------------------------------------------------------------------------------
# SHOAL_SEEDER_ARGS / SHOAL_NODE_ARGS add daemon flags (e.g. "--disk-io posix" or
# "--bt-setting suggest_mode=1") for tuning runs; they are recorded in the row's note.
run_shoal() {
  local method=${1:-shoal}
  local -a seeder_args node_args
  read -r -a seeder_args <<<"${SHOAL_SEEDER_ARGS:-}"
  read -r -a node_args <<<"${SHOAL_NODE_ARGS:-}"
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
  local state="$work/state" i id
  rm -rf "$state"
  mkdir -p "$state/seeder"
  start_tracker
  hx 0 "$bin_dir/shoal-seeder" --state-dir "$state/seeder" --listen "$(origin_ip):7000" \
    --bt-listen "$(origin_ip):6881" --tracker "$(tracker_url)" \
    --ready-file "$state/seeder/ready" "${seeder_args[@]}" >"$work/seeder.log" 2>&1 &
  wait_for "[[ -s $state/seeder/ready ]]" 30 "shoal-seeder ready file"
  # shellcheck disable=SC1091
  source "$SHOAL_STATE_DIR/topology.env"
  for ((i = 1; i <= n; i++)); do
    local dc_var="HOST_DC_$i"
    mkdir -p "$state/node-$i"
    hx "$i" "$bin_dir/shoal-node" --state-dir "$state/node-$i" --name "node-$i" \
      --origin "$(origin_ip):7000" --bt-listen "$(host_ip "$i"):6881" --tracker "$(tracker_url)" \
      --allow-root "$work/node-$i" --dc "${!dc_var}" --rack "r$(((i - 1) / 8 + 1))" \
      --ready-file "$state/node-$i/ready" "${node_args[@]}" >"$work/node-$i.log" 2>&1 &
  done
  for ((i = 1; i <= n; i++)); do
    wait_for "[[ -s $state/node-$i/ready ]]" 60 "shoal-node $i ready file"
  done
  id=$(nsx 0 "$bin_dir/shoal" put "$work/origin/payload.bin" --seeder "$state/seeder/admin.sock" |
    head -1 | awk '{ print $1 }')
  [[ $id == *:* ]] || { echo "  shoal put printed no artifact id" >&2; return 1; }
  begin_timed
  for ((i = 1; i <= n; i++)); do
    hx "$i" sh -c '"$1" fetch "$2" "$3" --node "$4" && date +%s.%N >"$5"' sh "$bin_dir/shoal" \
      "$id" "$work/node-$i/payload.bin" "$state/node-$i/admin.sock" "$work/done/$i" \
      >"$work/fetch-$i.log" 2>&1 &
    client_pids[i]=$!
  done
  await_nodes "$n" "$timeout_s"
  end_timed
  local tuning="${SHOAL_SEEDER_ARGS:+; seeder $SHOAL_SEEDER_ARGS}${SHOAL_NODE_ARGS:+; nodes $SHOAL_NODE_ARGS}"
  record "$method" "shoal-node x$n, $tracker_kind$tuning"
}

# Shoal with the origin super-seeding: each piece leaves the origin once before any twice.
run_shoal-ss() { SHOAL_SEEDER_ARGS="--super-seed ${SHOAL_SEEDER_ARGS:-}" run_shoal shoal-ss; }

# Shoal with one libtorrent disk back end forced on the nodes (tuning: compare them in one run).
run_shoal-mmap() { SHOAL_NODE_ARGS="--disk-io mmap ${SHOAL_NODE_ARGS:-}" run_shoal shoal-mmap; }
run_shoal-posix() { SHOAL_NODE_ARGS="--disk-io posix ${SHOAL_NODE_ARGS:-}" run_shoal shoal-posix; }
run_shoal-sdisk() { SHOAL_NODE_ARGS="--disk-io shoal ${SHOAL_NODE_ARGS:-}" run_shoal shoal-sdisk; }
