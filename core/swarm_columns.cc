#include "core/swarm_columns.h"

#include <algorithm>

#include "core/swarm_picking.h"

namespace shoal {
namespace {
constexpr uint8_t kSkip = 0, kLast = 1, kDefault = 4, kTakenOver = kDefault;
// The node's next column pieces in file order: 2 at 7, 4 at 6, the rest of its column at 5.
// Ranked by libtorrent (availability 1 x (8 - priority)), all of them still come before any
// piece a peer holds, so the origin is never asked for those while the column lasts.
uint8_t ColumnRankPriority(int rank) { return rank < 2 ? 7 : rank < 6 ? 6 : 5; }
}  // namespace

int ColumnOf(std::string_view name, int columns) {
  if (columns <= 1) return 0;
  const std::optional<uint64_t> number = TrailingNumber(name, 18);
  const uint64_t k = number ? *number : NameHash(name);
  return static_cast<int>(k % static_cast<uint64_t>(columns));
}

int ColumnCount::Update(int seen, Clock::time_point now) {
  if (early_) {
    // Leave the guess once the count has held for kSettleFor (the nodes that start together
    // have found each other), or once kUnknownFor is over.
    if (seen != candidate_) {
      candidate_ = seen;
      candidate_since_ = now;
    }
    const bool settled = seen >= 2 && now - candidate_since_ >= kSettleFor;
    if (!settled && now - start_ < kUnknownFor) return kEarlyColumns;
    early_ = false;
    return columns_ = candidate_ = std::max(1, seen);
  }
  if (seen == columns_ || seen < 1) {
    candidate_ = columns_;
  } else if (seen > columns_ && now - start_ < kGrowingFor) {
    columns_ = candidate_ = seen;  // nodes still joining at the start
  } else if (seen != candidate_) {
    candidate_ = seen;
    candidate_since_ = now;
  } else if (now - candidate_since_ >= kSteadyFor) {
    columns_ = seen;
  }
  return columns_;
}

std::vector<uint8_t> ColumnPriorities(const std::vector<bool>& have,
                                      const std::vector<int>& availability, int column, int columns,
                                      int cursor, int window, bool early) {
  const int pieces = static_cast<int>(have.size());
  std::vector<uint8_t> out(have.size(), kDefault);
  if (columns < 1) return out;
  auto missing_from_origin_only = [&](int p) {
    return !have[static_cast<size_t>(p)] && (static_cast<size_t>(p) >= availability.size() ||
                                             availability[static_cast<size_t>(p)] <= 1);
  };
  // The node's own column: its origin-only pieces, graded in file order.
  int own_front = pieces, rank = 0;
  for (int p = column; p < pieces; p += columns) {
    if (!missing_from_origin_only(p)) continue;
    own_front = std::min(own_front, p);
    out[static_cast<size_t>(p)] = ColumnRankPriority(rank++);
  }
  const int lag = kColumnLagRounds * columns;
  const uint8_t skip = early ? kLast : kSkip;
  for (int p = 0; p < pieces; ++p) {
    if (have[static_cast<size_t>(p)] || p % columns == column) continue;
    if (missing_from_origin_only(p)) {
      // Another column's: left to its owner, unless the owner is far behind this node. The
      // next node after the owner takes it over first (at lag), the one after that at twice
      // the lag, and so on: a slow column is helped by one node, not by all at once. Taken
      // over at the default, after the node's own column: at the top it was often asked of
      // the origin by its owner too (N=16: 1.69-1.75 origin copies against 1.40-1.58).
      const int distance = (column - p % columns + columns) % columns;
      out[static_cast<size_t>(p)] = p + distance * lag < own_front ? kTakenOver : skip;
    } else if (p >= cursor && p < cursor + window) {
      out[static_cast<size_t>(p)] = kWindowPriority;
    }
  }
  // Own-column pieces that a peer already holds: taken from it, near the cursor first.
  for (int p = column; p < pieces; p += columns)
    if (!have[static_cast<size_t>(p)] && !missing_from_origin_only(p) && p >= cursor &&
        p < cursor + window)
      out[static_cast<size_t>(p)] = kWindowPriority;
  return out;
}

}  // namespace shoal
