// The node's fetch engine: brings an artifact into the local cache through the swarm, verifies
// it (every piece by libtorrent, then the whole file's SHA-256 and MD5), installs it atomically
// inside the allowed roots, and keeps seeding it for the nodes that come later.
//
// The whole-file SHA-256 + MD5 advance while the download runs (node/stream_check.h) and the
// installs are written from that same pass; at the last piece only a short tail is left.
//
// Concurrent fetches of one artifact share one download. A download interrupted by a crash
// resumes from libtorrent's resume data (saved every --resume-interval seconds) on restart.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include "core/artifact_index.h"
#include "core/disk_io_space.h"
#include "core/swarm.h"
#include "node/origin_client.h"
#include "node/stream_check.h"

namespace shoal::node {

struct FetchOutcome {
  ArtifactMeta meta;
  std::filesystem::path path;      // where it was installed, or the cache object if no dest
  double seconds = 0;              // from request to verified (and installed)
  uint64_t downloaded_bytes = 0;   // payload from peers, the origin included
  uint64_t from_origin_bytes = 0;  // of downloaded_bytes, those from the origin
  bool from_cache = false;
};

// Awaited, so that a caller streaming progress to a socket applies back-pressure.
using FetchProgress = std::function<boost::asio::awaitable<void>(const TransferStatus&)>;

class Fetcher : public SwarmEvents {
 public:
  Fetcher(boost::asio::io_context& io, ArtifactIndex& index, OriginClient& origin,
          std::vector<std::filesystem::path> allowed_roots);

  // REQUIRES: called once, before Restore() and Fetch(). `swarm` must outlive the Fetcher.
  void AttachSwarm(Swarm& swarm) { swarm_ = &swarm; }

  // Puts the cache back into the swarm: verified objects are seeded (rehash-free if unchanged;
  // changed ones are dropped), partial downloads resume.
  void Restore();

  // Fetches `id` and, if `dest` is not empty, installs it there with `mode`. `progress` is
  // called about twice a second while downloading. Fails early (before any download) if `dest`
  // is outside the allowed roots.
  boost::asio::awaitable<Result<FetchOutcome>> Fetch(const ArtifactId& id, std::string dest,
                                                     unsigned mode, FetchProgress progress);

  // The cache evicted `id` (node/cache_manager.h): forget its finished download, so that the
  // next fetch starts a new one instead of finding the old one done.
  void OnEvicted(const ArtifactId& id);
  // Before a download starts: make room for this many more bytes in the cache (the quota), or
  // fail the fetch with the returned error.
  std::function<Status(uint64_t)> make_room;

  std::function<void(int)> on_listening;  // BitTorrent port known
  // Check downloads while they download (node/stream_check.h); false: one read after the last
  // piece (core/file_check.h), as before issue 12. For benchmarks.
  bool stream_check = true;
  // Installs may share the cached file's blocks (a reflink, core/file_copy.h) where the
  // filesystem can; false: every install is a copy with blocks of its own.
  bool share_blocks = true;
  // Where an install cannot share the cached file's blocks, it may be the cached file itself
  // under a second name (a hard link, where the install is on the cache's mount): nothing
  // written, no space. The install and the cache are then one file: a changed install is found
  // (size, mtime) before the cache is used again and by WatchCache(), and the cached object is
  // then dropped (no longer seeded) and fetched afresh when next asked for.
  bool link_installs = true;

  // Every `interval`, drops verified objects that changed since their verification (see
  // link_installs). Call once, after Restore().
  void WatchCache(std::chrono::milliseconds interval);

  // SwarmEvents
  void OnListening(int port) override;
  void OnFinished(const ArtifactId& id) override;
  void OnFailed(const ArtifactId& id, const Error& error) override;
  void OnResumeData(const ArtifactId& id, std::vector<char> data) override;
  void OnCorruptPiece(const ArtifactId& id, int piece) override;
  void OnPieceVerified(const ArtifactId& id, int piece) override;

 private:
  // A fetch's destination, registered while the download runs so that verification writes it
  // from the same read of the file (see core/file_check.h).
  struct PendingInstall {
    std::filesystem::path dest;
    unsigned mode = 0644;
    std::optional<Status> result;  // set once verification has installed it (or failed to)
  };
  struct Download {
    uint64_t size = 0;  // the artifact's, once its metadata is known
    std::vector<std::shared_ptr<PendingInstall>> installs;  // staged at verification
    std::unique_ptr<StreamCheck> stream;                    // once in the swarm
    std::vector<std::shared_ptr<PendingInstall>> streamed;  // staged into `stream`, in order
    bool finished = false;
    std::optional<Error> error;
    bool verifying = false;
    int corrupt_pieces = 0;
    std::vector<std::weak_ptr<boost::asio::steady_timer>> waiters;
  };
  boost::asio::awaitable<void> Begin(ArtifactId id, std::shared_ptr<Download> download);
  boost::asio::awaitable<void> Verify(ArtifactId id, std::shared_ptr<Download> download);
  // The download is in the swarm: start its streamed check, staging the installs asked for.
  void StartStream(const ArtifactMeta& meta, Download& download);
  // Stages `install` into the download's streamed check; false if it has none.
  bool StreamInstall(Download& download, const std::shared_ptr<PendingInstall>& install);
  // The file checked out: record it as verified and end the download.
  void Verified(const ArtifactId& id, StoredRecord record, const std::string& how);
  void Finish(const ArtifactId& id, std::optional<Error> error);
  std::shared_ptr<Download> StartDownload(const ArtifactId& id);
  // Fails, naming the filesystem and the bytes needed, unless the cache has room for the rest of
  // `meta`'s object next to every other download in flight, and each of `dests` room for a copy
  // (none where the copy will share the object's blocks).
  Status CheckSpace(const ArtifactMeta& meta,
                    const std::vector<std::filesystem::path>& dests) const;
  // What an install at `dest` takes of its filesystem: nothing where it will share the cached
  // file's blocks or be linked to it, else its size.
  SpaceNeed InstallNeed(const std::filesystem::path& dest, uint64_t size) const;
  // Whether a verified object's size or mtime differ from when it was verified.
  bool ChangedSinceVerified(const StoredRecord& record) const;
  // Forgets a verified object: out of the swarm, the index and the cache directory.
  void DropCached(const ArtifactId& id);
  void DropChangedObjects();
  // Forgets a partial download: out of the swarm, the index and the disk.
  void DropPartial(const ArtifactId& id);

  boost::asio::io_context& io_;
  ArtifactIndex& index_;
  OriginClient& origin_;
  std::vector<std::filesystem::path> allowed_roots_;
  Swarm* swarm_ = nullptr;
  std::map<ArtifactId, std::shared_ptr<Download>> downloads_;
  boost::asio::steady_timer watch_timer_{io_};
  // Every download's streamed digests and installs, one job at a time. Declared last: destroyed
  // (joined) first, before the downloads its jobs may still use.
  boost::asio::thread_pool digest_worker_{1};
};

}  // namespace shoal::node
