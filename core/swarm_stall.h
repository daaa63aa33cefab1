// A stalled download, explained: when no piece of a download has passed its check for a while,
// Swarm (core/swarm.cc) logs what it still lacks, which of those pieces are being fetched and
// from whom, and what each connected peer is doing. For an operator asking why a fetch is stuck,
// and for a benchmark's rare slow host (bench/results/tuning.md, issue 12 round 9).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace libtorrent {
struct torrent_handle;
}  // namespace libtorrent

namespace shoal {

// When to report a stall: first once it has lasted `first`, then each time it has doubled (4, 8,
// 16, ... s with the default of 4), so that a download waiting an hour for a lost origin logs a
// dozen reports, not thousands. Progress (a verified piece) ends the stall; it returns the stall's
// length if the stall was reported, so that its end can be logged too.
class StallWatch {
 public:
  using Clock = std::chrono::steady_clock;
  StallWatch(Clock::time_point now, Clock::duration first)
      : since_(now), first_(first), next_(first) {}

  std::optional<Clock::duration> Progress(Clock::time_point now);
  // How long the download has stalled, if a report is due at `now` (once per due time).
  std::optional<Clock::duration> Due(Clock::time_point now);

 private:
  Clock::time_point since_;
  Clock::duration first_, next_;
};

// The report's body, several lines: the missing pieces (up to `max_pieces` of them, the ones
// being fetched first) with how many peers have each and who has its blocks on request, then
// one line per connected peer. A round trip to libtorrent's network thread.
std::string DescribeStall(const libtorrent::torrent_handle& handle, int max_pieces = 8);

// Whether a download's verified prefix that has waited `waited` for its next piece, while
// `pieces_past` later pieces came in, is worth a log line: at least `threshold`, with 8 or more
// pieces past it (with fewer, the download itself is slow: the stall report's business).
bool PrefixWaitWorthLogging(StallWatch::Clock::duration waited,
                            StallWatch::Clock::duration threshold, long pieces_past);

// One piece, on one line: its blocks in and on request (from whom), how many peers have it, its
// priority, and each connected peer that holds it (choking us or not, requests out). For the
// piece that holds a download's verified prefix back: the streamed whole-file digests wait for
// it (node/stream_check.h). A round trip to libtorrent's network thread.
std::string DescribePiece(const libtorrent::torrent_handle& handle, int piece);

}  // namespace shoal
