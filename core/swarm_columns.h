// Column picking (issue 12, round 4): the origin's first copies enter the swarm in file order.
//
// Piece p belongs to column p mod C, C being the number of downloading nodes, and each node owns
// one column. While only the origin has a piece (availability 1), the node that owns its column
// is the one node that asks the origin for it, its next column pieces first (graded priorities,
// so that libtorrent, which draws at random within a priority, requests them in file order); the
// other nodes do not ask for it at all (priority 0) until a peer has it. The nodes' columns
// interleave, so the origin's upload sweeps the file from its start once, and the streamed
// whole-file digests (node/stream_check.h) follow the download instead of hashing most of the
// file after the last piece.
//
// libtorrent ranks a piece by availability x (8 - priority), so priorities are a preference, not
// an order: an origin-only piece at 5 still ranks before any piece a peer holds at 4 or 6. That
// is what keeps each node's requests at the origin on its own column, and never on what a peer
// could send it instead.
//
// Guards: an origin-only piece far behind the node's own column (its owner is slow, gone, or no
// node has that column) is taken over, by the owner's next node first. A torrent can still
// hold every piece of non-zero priority with pieces missing (libtorrent then calls it finished):
// Swarm raises every missing piece then (core/swarm.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace shoal {

// The column of the node named `node_name` among `columns`: a name ending in a number k (node-7)
// takes k mod columns, so hosts numbered 0..C-1 or 1..C each own one; other names hash.
int ColumnOf(std::string_view node_name, int columns);

// How far behind the node's own next origin-only column piece an origin-only piece of another
// column may stay at priority 0, in rounds of the columns, per column between the owner and
// this node (the owner's next node takes it over at 4 rounds, the one after at 8, ...).
inline constexpr int kColumnLagRounds = 4;

// How many columns a node uses, from the downloading nodes it sees (`seen`: the peers it is
// connected to, the origin among them, or the tracker's count less the origin, whichever is
// larger). Every node must use the same count, so it is held steady:
//  - at first, kEarlyColumns, until the count seen has held for kSettleFor (the nodes that
//    started together have found each other) or kUnknownFor is over: any fleet of a size that
//    divides it then agrees with the count it uses later (piece p of column k mod 64 is also of
//    column k mod 16), and the nodes do not all ask the origin for the file's first pieces;
//  - in the first kGrowingFor, a count that grows is taken at once (nodes still joining);
//  - after that any change only once it has lasted kSteadyFor: two nodes briefly connected to
//    each other twice make the peer count flicker (16, 17, 16) for a fraction of a second.
class ColumnCount {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int kEarlyColumns = 64;
  static constexpr std::chrono::milliseconds kSettleFor{300}, kUnknownFor{1500}, kGrowingFor{3000},
      kSteadyFor{1000};

  explicit ColumnCount(Clock::time_point start) : start_(start), candidate_since_(start) {}
  int Update(int seen, Clock::time_point now);
  bool early() const { return early_; }

 private:
  Clock::time_point start_, candidate_since_;
  bool early_ = true;
  int columns_ = 0, candidate_ = 0;
};

// libtorrent download priorities (0..7) for column picking. `have`: the node's verified pieces;
// `availability`: libtorrent's piece availability (the origin counts one; empty: unknown, every
// piece counts as the origin's alone); `column` of `columns` (>= 1); `cursor`, `window`: the
// digest window (core/swarm_picking.h), raised among pieces that a peer other than the origin
// holds. While the column count is an `early` guess, other columns' origin-only pieces are at 1
// (the lowest: after the node's own column, before any piece a peer holds), not 0: a lone first
// node would otherwise hold every wanted piece after a few and be finished in libtorrent's eyes
// (measured: such a node then lagged its whole column, and every node's prefix with it).
std::vector<uint8_t> ColumnPriorities(const std::vector<bool>& have,
                                      const std::vector<int>& availability, int column, int columns,
                                      int cursor, int window, bool early = false);

}  // namespace shoal
