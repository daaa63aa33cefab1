// Swarm: one libtorrent session per daemon, tuned for a datacenter fleet, driven from an Asio
// io_context. Seeds complete artifacts, downloads partial ones, and reports what happens to
// them (finished, failed, resume data, corrupt pieces) through SwarmEvents on the io_context
// thread. Torrents are keyed by ArtifactId; their file is `<save_dir>/<sha256 hex>`.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <libtorrent/torrent_handle.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/artifact_index.h"
#include "core/result.h"
#include "core/swarm_columns.h"
#include "core/swarm_stall.h"

namespace libtorrent {
class session;
}  // namespace libtorrent

namespace shoal {

struct SwarmOptions {
  std::string listen = "127.0.0.1:0";  // BitTorrent listen address (TCP)
  std::string tracker_url;             // announce URL; dc/rack are appended as query params
  std::string dc, rack;                // topology, for the tracker's peer ordering
  int upload_limit = 0;                // bytes/s for the whole session, 0 = unlimited
  int download_limit = 0;
  // The seeder's session: it announces itself with kOriginPeerIdPrefix so that nodes can tell
  // the bytes they took from the origin from those they took from each other.
  bool origin = false;
  // libtorrent super-seeding on every torrent (origin only): spend upload on pieces no one has
  // yet, one or two pieces per peer at a time.
  bool super_seed = false;
  // How often downloading torrents save resume data: a killed node refetches at most about this
  // many seconds of transfer. Each save serializes the file's verified merkle leaves (32 bytes
  // per 16 KiB block: 256 KiB for 128 MiB) and commits them to LMDB, so it is not free.
  int resume_interval_s = 5;
  // Disk back end: "shoal" (core/disk_io.h: inline pread/pwrite on kept descriptors, block
  // hashes taken at write), "posix" (libtorrent's: inline, but opens and closes the file for
  // every block) or "mmap" (libtorrent's default: a thread pool over memory-mapped files).
  // shoal and posix report a full disk or an I/O error as an error on that torrent (the
  // download fails cleanly); with mmap the same write is a SIGBUS that kills the process.
  // bench/netns, 128 MiB, 3 runs each: node CPU per delivered GiB 16-17 s (shoal) against
  // 18-19 (posix) and 18-26 (mmap); bench/results/tuning.md.
  std::string disk_io = "shoal";
  // With the shoal back end: how many bytes of recently written pieces stay in memory for peers'
  // requests and the digest pass (core/piece_cache.h); 0 for none.
  int piece_cache_bytes = 64 << 20;
  // Microseconds between passes of libtorrent's network thread over what is ready, so that one
  // wake-up takes several packets (core/network_loop.h); 0 (default): libtorrent runs its own
  // thread. bench/netns, 128 MiB: a node's context switches -43% at 3 ms (N=16, 25 Mbit/s),
  // CPU per delivered GiB -6% to +5% by case and session at 2 ms, and N=16 at 100 Mbit/s
  // (2 cores saturated) 5% slower in 3 of 3 pairs: not the default (bench/results/tuning.md).
  int network_batch_us = 0;
  // Piece picking of downloads (core/swarm_picking.h). `digest_window_bytes`: how far past the
  // verified contiguous prefix pieces are preferred (0: plain rarest first). `stripe_name`: the
  // host name the origin stripe's offset is derived from (empty: no stripe); `stripe_bytes`:
  // how much of it is asked for at a time (more than the requests queued at the origin).
  // `digest_window_priority`: the window's libtorrent priority under origin dispatch (without
  // dispatch the stripe holds 7, and the window stays at 6 below it).
  int digest_window_bytes = 32 << 20;
  int digest_window_priority = 7;
  std::string stripe_name;
  int stripe_bytes = 4 << 20;
  // Column picking instead of the stripe (core/swarm_columns.h), when `column_name` (the host
  // name the column is derived from) is set: `origin_columns` columns, or -1 for as many as the
  // downloading nodes the tracker and the connected peers show, 0 for none.
  std::string column_name;
  int origin_columns = 0;
  // Origin dispatch (core/swarm_dispatch.h): the origin hands each downloading node the pieces no
  // node holds yet, a window at a time, and the nodes take the rest from each other; a node
  // accepts that, and its own origin picking (stripe, columns) then steps aside. Off with
  // super-seeding, which hides pieces its own way.
  bool dispatch = true;
  // Peers a node unchokes at once while it downloads (0: every interested peer). Once it only
  // seeds it unchokes every interested peer again, so that the last hosts are not left waiting
  // for a seed's rotation. Fewer flows at once are faster flows, which leave in larger frames:
  // fewer frames and ACKs per GiB, each of which costs softirq work whatever its size
  // (bench/results/tuning.md, issue 12 rounds 8 and 9). Off by default: at 25 Mbit/s and N=16, 8
  // cut the machine's CPU per GiB 8% but made the slowest host 0.2-2.8% later. Not for the
  // origin, which only seeds. Takes precedence over a `unchoke_slots_limit` in `settings`.
  int download_unchoke_slots = 0;
  // Seconds without a verified piece after which a download's stall is logged (core/
  // swarm_stall.h): what it lacks, who has been asked for it, what each peer does; again each
  // time the stall doubles, and its end. 0: never.
  int stall_report_s = 4;
  // "name=value" overrides of libtorrent settings_pack entries, applied last (for tuning and
  // benchmarks; ValidateSwarmOptions() names any that libtorrent does not know).
  std::vector<std::string> settings;
};

// Checks what the Swarm constructor cannot report: the disk back end and every settings override.
Status ValidateSwarmOptions(const SwarmOptions& options);

struct TransferStatus {
  uint64_t done = 0, total = 0;     // verified bytes of the file
  uint64_t payload_downloaded = 0;  // from peers, since this process added the torrent
  uint64_t payload_uploaded = 0;    // to peers, since this process added the torrent
  // The part of payload_downloaded that came from the origin (the seeder); the rest came from
  // other nodes. Counts peers that have since disconnected.
  uint64_t payload_from_origin = 0;
  int peers = 0;
  int download_rate = 0;  // bytes/s
  bool seeding = false;
};

class SwarmEvents {
 public:
  virtual ~SwarmEvents() = default;
  virtual void OnListening(int port) = 0;
  virtual void OnFinished(const ArtifactId& id) = 0;  // every piece verified
  virtual void OnFailed(const ArtifactId& id, const Error& error) = 0;
  virtual void OnResumeData(const ArtifactId& id, std::vector<char> data) = 0;
  virtual void OnCorruptPiece(const ArtifactId&, int /*piece*/) {}
  // A downloading torrent holds a verified piece: one that just passed its hash check, or one
  // that its resume data or its check on being added says it has. May repeat a piece.
  virtual void OnPieceVerified(const ArtifactId&, int /*piece*/) {}
};

class PieceCache;
class NetworkLoop;

class Swarm {
 public:
  // `events` must outlive the Swarm. The session starts listening at once; OnListening follows.
  Swarm(boost::asio::io_context& io, SwarmOptions options, SwarmEvents& events);
  ~Swarm();

  enum class AddMode {
    kSeedTrusted,  // complete and known unchanged: seed without rehashing (checked lazily)
    kSeedVerify,   // complete but unverified here: libtorrent hashes it before seeding
    kDownload,     // partial or absent: fetch from the swarm (resume data if given)
  };
  // Adds the artifact's torrent; a no-op if it is already in the session.
  Status Add(const ArtifactMeta& meta, const std::filesystem::path& save_dir, AddMode mode,
             const std::optional<std::vector<char>>& resume = std::nullopt);
  // Drops the torrent from the session. Its file stays unless `delete_file`, in which case
  // libtorrent deletes it once the torrent's outstanding disk operations are done.
  void Remove(const ArtifactId& id, bool delete_file = false);
  bool Has(const ArtifactId& id) const { return torrents_.count(id) != 0; }
  std::optional<TransferStatus> GetStatus(const ArtifactId& id) const;
  // Payload bytes served to and taken from peers by this session, over every torrent.
  std::pair<uint64_t, uint64_t> Totals() const;
  // The layout of a torrent in the session: piece length and count (0, 0 if not in it).
  std::pair<int, int> PieceLayout(const ArtifactId& id) const;
  // Asks libtorrent for resume data of every downloading torrent (OnResumeData follows).
  void SaveResumeData();
  int listen_port() const { return listen_port_; }
  // Recently written pieces of downloads (null unless the shoal disk back end keeps them).
  const std::shared_ptr<PieceCache>& piece_cache() const { return piece_cache_; }

 private:
  void PumpAlerts();
  void ScheduleResumeSaves();
  // Once a second: logs the downloads that have stalled (stall_report_s).
  void ScheduleStallChecks();
  struct Torrent;
  void PieceVerified(const ArtifactId& id, Torrent& t, int piece);
  // Piece priorities (core/swarm_picking.h) are recomputed at most every 200 ms.
  void MarkPickingDirty(Torrent& t);
  // Every piece libtorrent does not hold and has at priority 0 gets wanted (the rescue of a
  // download that libtorrent calls finished with pieces still missing).
  void WantEveryMissingPiece(const ArtifactId& id, Torrent& t);
  void UpdatePicking(Torrent& t);
  // Logs, once per wait, a verified prefix that has waited stall_report_s for its next piece
  // while later pieces came in, with that piece's state (core/swarm_stall.h).
  void LogPrefixWait(const ArtifactId& id, Torrent& t, StallWatch::Clock::time_point now);
  // Applies download_unchoke_slots: its limit while any torrent downloads, none otherwise.
  void UpdateUnchokeSlots();
  // Gives libtorrent the priorities in `wanted` that changed (all of them the first time).
  void SetPriorities(Torrent& t, std::vector<uint8_t> wanted);
  std::optional<ArtifactId> IdOf(const libtorrent::torrent_handle& h) const;

  struct Torrent {
    libtorrent::torrent_handle handle;
    // Payload bytes received from the origin, counted on libtorrent's network thread.
    std::shared_ptr<std::atomic<uint64_t>> from_origin;
    int piece_length = 0, pieces = 0;
    // Downloads only: verified pieces, the first piece missing from the contiguous prefix, and
    // the priorities last given to libtorrent.
    bool downloading = false;
    std::vector<bool> have;
    int cursor = 0;
    bool picking_dirty = false;
    std::vector<uint8_t> priorities;
    // libtorrent called the torrent finished while pieces left at priority 0 (column picking)
    // were missing: every missing piece is wanted from then on.
    bool rescue = false;
    // The origin dispatches to this download (core/swarm_dispatch.h): set on libtorrent's thread.
    std::shared_ptr<std::atomic<bool>> dispatched = std::make_shared<std::atomic<bool>>(false);
    // Column picking with a count from the swarm (origin_columns < 0); its last value logged.
    std::optional<ColumnCount> column_count;
    int columns = 0;
    uint64_t size = 0;                // of the file
    std::optional<StallWatch> stall;  // downloads, with stall_report_s
    // Since when the verified prefix has waited at `cursor`, and whether that wait was logged.
    StallWatch::Clock::time_point cursor_since = StallWatch::Clock::now();
    bool cursor_wait_logged = false;
  };
  // Priorities under column picking (core/swarm_columns.h).
  std::vector<uint8_t> ColumnPicking(Torrent& t, const std::vector<int>& availability, int window);

  boost::asio::io_context& io_;
  SwarmOptions options_;
  SwarmEvents& events_;
  std::shared_ptr<PieceCache> piece_cache_;  // before session_: its disk back end holds it too
  std::unique_ptr<NetworkLoop> network_;     // before session_, which runs on it
  std::unique_ptr<libtorrent::session> session_;
  std::map<ArtifactId, Torrent> torrents_;
  boost::asio::steady_timer resume_timer_;
  boost::asio::steady_timer picking_timer_;
  boost::asio::steady_timer stall_timer_;
  bool picking_armed_ = false;
  // The unchoke_slots_limit last given to libtorrent; 0 before the first (a settings override
  // may have set any limit, so the constructor always applies one).
  int unchoke_slots_ = 0;
  int stripe_start_ppm_ = -1;  // the stripe's start in millionths of the file, < 0: no stripe
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int listen_port_ = 0;
};

// The announce URL with this host's topology appended (`?dc=..&rack=..`).
std::string AnnounceUrlWithTopology(const std::string& url, const std::string& dc,
                                    const std::string& rack);

}  // namespace shoal
