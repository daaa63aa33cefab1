// Which pieces a downloading node asks for first (issue 12), as libtorrent piece priorities:
//
//  - its origin stripe (top): a run of pieces starting at an offset derived from the node's
//    name. Only the origin has these early on, so this is what the node asks the origin for;
//    nodes with different offsets ask it for distinct pieces, and the origin's upload is not
//    spent on the same piece twice while the nodes then trade what they took.
//  - the digest window (next): the pieces within a window past the verified contiguous prefix,
//    so that the whole-file SHA-256 + MD5 (node/stream_check.h) can follow the download and only
//    a short tail is left to hash at the last piece. Peers other than the origin are asked for
//    these first; within the window the order is still rarest first, not a sequential download.
//    libtorrent 2.0 ranks a piece by (peers with it + 1) x (8 - priority): a priority scales
//    availability, it does not override it. At 6, a window piece that seven peers hold ranked
//    after every default piece that two peers hold, and a node's prefix fell hundreds of pieces
//    behind its download (bench/results/tuning.md, issue 12 round 12). Under origin dispatch the
//    window is at 7, and 32 MiB wide (about 3 s of a node's download at 100 Mbit/s) so that a
//    peer finds window pieces not yet on request from another.
//  - everything else at libtorrent's default priority, rarest first.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace shoal {

// Where a node's stripe starts, as a fraction of the file in [0, 1). A name ending in a number
// k (node-7, rack2-host13) takes the van der Corput value of k - 1 (0, 1/2, 1/4, 3/4, 1/8, ...),
// so hosts numbered 1..N spread evenly over the file for any N; other names hash to a value.
double StripeOffsetOf(std::string_view node_name);

// How a host name places its host among the fleet's (the stripe here, the column in
// core/swarm_columns.h): the number the name ends in (node-7: 7) when it has 1 to `max_digits`
// trailing digits, else nothing; and a stable hash of the whole name (FNV-1a) for other names.
std::optional<uint64_t> TrailingNumber(std::string_view name, size_t max_digits);
uint64_t NameHash(std::string_view name);

// The node's stripe now: up to `length` pieces it does not have, going forward (wrapping) from
// piece `start`, skipping those it has, and ending at the first one another peer has
// (`availability` >= 2: the origin counts one). That is where the stripe runs into pieces that
// the node can take from a peer instead of the origin, typically another node's stripe.
// `availability` may be empty (unknown: counts as the origin's alone).
std::vector<int> StripePieces(int start, const std::vector<bool>& have,
                              const std::vector<int>& availability, int length);

// libtorrent download priorities (1..7) for every one of `pieces`: the stripe's pieces top, then
// the `window` pieces from `cursor` (the first piece not verified), the rest at the default.
// Once any peer but the origin holds pieces (some `availability` >= 2), only window pieces that
// such a peer holds are raised: the window is taken from peers, and the origin, asked first for
// the stripe, is not asked for the same window pieces by every node. Priority 0 (skip) is never
// used: every piece is still wanted.
// `window_priority`: the window's priority (7 puts it ahead of rarer default pieces too).
inline constexpr uint8_t kWindowPriority = 6;  // without origin dispatch: the stripe holds 7
std::vector<uint8_t> PickPriorities(int pieces, const std::vector<int>& stripe, int cursor,
                                    int window, const std::vector<int>& availability = {},
                                    uint8_t window_priority = kWindowPriority);

}  // namespace shoal
