// A download's whole-file check, run while it downloads (issue 12). libtorrent reports each
// piece that passes its hash check (or that resume data says is held); as the verified pieces
// extend the contiguous prefix, the node's digest worker advances the file's SHA-256 and MD5 over
// it (core/prefix_digest.h), reading the just-written bytes back from the page cache, and writes
// the same bytes to the staged installs registered so far (or, where an install can share the
// file's blocks, clones the file into it at the end). At the last piece only the tail past the
// prefix is left; the install is then an fsync and a rename.
//
// Only pieces that passed their hash check are ever read: a corrupt piece is discarded and
// fetched again by libtorrent before it can enter the digests. After a restart the prefix held
// in the resume data is re-read and digested again, so the check never trusts state that died
// with the process. The final digests are compared with the artifact's before anything is
// exposed; a mismatch or a read error fails the streamed check, and the caller falls back to one
// full read of the file (core/file_check.h) as the authority.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include "core/artifact_index.h"
#include "core/paths.h"
#include "core/prefix_digest.h"
#include "core/result.h"

namespace shoal::node {

class StreamCheck {
 public:
  // Digest work runs on `worker` (one thread: jobs run in the order posted).
  // `cache`: the swarm's recently written pieces (may be null), read instead of the file.
  // `share_blocks`: installs may share the file's blocks; `link_installs`: installs may be the
  // file itself under a second name (core/prefix_digest.h).
  StreamCheck(boost::asio::thread_pool& worker, std::filesystem::path file, uint64_t size,
              int piece_length, int pieces, std::shared_ptr<const PieceCache> cache = nullptr,
              bool share_blocks = true, bool link_installs = false);

  // Called on the io thread. Piece `piece` passed its hash check (repeats are ignored).
  void PieceVerified(int piece);
  // Adds a staged install: written from the digest pass (the prefix so far is copied first).
  // Its result comes back from Finish() in the order of these calls.
  void AddInstall(StagedFile staged);
  int installs() const { return installs_; }

  struct Outcome {
    std::optional<Error> error;  // read error, or digests that do not match the artifact
    std::optional<std::pair<Sha256, Md5>> digests;  // of the whole file, once read
    std::vector<Status> installs;                   // per AddInstall, when the digests matched
    int installs_sharing_blocks = 0;  // of them, clones of the downloaded file (a reflink)
    int installs_linked = 0;          // of them, the downloaded file itself (a hard link)
    double tail_seconds = 0;          // digesting what was left at the last piece, and committing
    uint64_t tail_bytes = 0;
    uint64_t digested_from_memory = 0;  // bytes the digests took from the PieceCache
    // How the verified prefix grew (tuning, issue 12): where it stood when 90% of the pieces
    // were in, and each piece that moved it by 5% or more with its arrival rank: the pieces
    // that held the digests back.
    std::string prefix_history;
  };
  // Every piece is in: digests the rest, compares with `meta` and, if they match, commits every
  // staged install (fsync + rename). Call once.
  boost::asio::awaitable<Outcome> Finish(boost::asio::io_context& io, const ArtifactMeta& meta);

 private:
  // The digest worker's side; touched only by jobs on the worker.
  struct State {
    State(std::filesystem::path file, std::shared_ptr<const PieceCache> cache, bool share_blocks,
          bool link_installs)
        : digest(std::move(file), std::move(cache), share_blocks, link_installs) {}
    PrefixDigest digest;
    std::atomic<uint64_t> digested{0};  // for the io thread: how far the worker has got
  };

  void Post(uint64_t end);

  boost::asio::thread_pool& worker_;
  std::shared_ptr<State> state_;
  uint64_t size_;
  int piece_length_, pieces_;
  std::vector<bool> verified_;
  int frontier_ = 0;  // pieces [0, frontier_) verified
  int arrived_ = 0;   // pieces verified so far
  int prefix_at_90_ = -1;
  std::string blockers_;
  uint64_t posted_ = 0;  // bytes handed to the worker so far
  int installs_ = 0;
};

}  // namespace shoal::node
