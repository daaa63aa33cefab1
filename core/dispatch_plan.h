// Which pieces the origin lets each downloading node take from it (issue 12): the origin's
// decisions in origin dispatch (core/swarm_dispatch.h), kept apart from libtorrent so that they
// can be tested on their own.
//
// The origin's upload is the swarm's scarcest resource: every byte of it should be a piece that
// no node holds yet. So the origin hands each node the lowest pieces that no node holds and no
// node is fetching, a window of them at a time, and refills the window as the node reports the
// pieces in. Every other piece the nodes take from each other. First copies thus leave the
// origin once each, in file order, which is also the order the nodes' streamed whole-file
// digests (node/stream_check.h) want them in.
//
// A piece is handed out again only when no node holds it and each node it was handed to has
// left or is stuck: has completed none of its handed pieces for kStuckAfter, or for twice as
// long as the origin takes to send them all at the node's rate if that is longer. A node that has
// taken no piece from anyone for kStarvedAfter while lacking some (it cannot reach its peers)
// is given every piece it lacks.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace shoal {

class DispatchPlan {
 public:
  using Clock = std::chrono::steady_clock;
  using PeerKey = uint64_t;
  static constexpr std::chrono::seconds kStuckAfter{8}, kStarvedAfter{15};
  // A node's window: the pieces it may fetch from the origin at once, enough for kWindowTime at
  // the rate the origin sends it, at least kMinWindowBytes and 2 pieces.
  static constexpr int64_t kMinWindowBytes = 1 << 20;
  static constexpr std::chrono::milliseconds kWindowTime{500};

  DispatchPlan(int pieces, int piece_length);

  // A node that takes dispatch joins, or leaves (every piece it held or fetched is released).
  PeerKey AddPeer(Clock::time_point now);
  void RemovePeer(PeerKey peer);
  // What the node says it holds (BitTorrent HAVE, BITFIELD, HAVE ALL / NONE).
  void PeerHas(PeerKey peer, int piece, Clock::time_point now);
  void PeerHasAll(PeerKey peer, Clock::time_point now);
  void PeerHasBitfield(PeerKey peer, const std::vector<bool>& pieces, Clock::time_point now);
  // The rate at which the origin sends the node payload, which sizes its window.
  void SetRate(PeerKey peer, int64_t bytes_per_second);

  // The pieces to hand the node now (each to be announced to it with a HAVE), in file order;
  // they count as handed to it from then on.
  std::vector<int> Refill(PeerKey peer, Clock::time_point now);

  // For logs and tests.
  int pieces() const { return static_cast<int>(holders_.size()); }
  int handed_out() const { return handed_out_; }  // pieces handed to some node, with repeats
  int starved_nodes() const { return starved_; }  // nodes given every piece (kStarvedAfter)
  int WindowOf(PeerKey peer) const;
  bool Known(PeerKey peer) const { return peers_.count(peer) != 0; }

 private:
  struct Peer {
    std::vector<bool> has, handed;
    std::set<int> fetching;  // handed and not held yet
    int held = 0;
    int64_t rate = 0;
    Clock::time_point last_completed, last_have;
    bool starved = false;
  };
  void Holds(Peer& peer, int piece, Clock::time_point now);
  bool Stuck(const Peer& peer, Clock::time_point now) const;
  // Whether some node that is not stuck is fetching `piece`.
  bool BeingFetched(int piece, Clock::time_point now) const;

  int piece_length_;
  std::vector<int> holders_;                   // nodes holding each piece
  std::set<int> unheld_;                       // pieces no node holds
  std::map<int, std::set<PeerKey>> fetchers_;  // of unheld pieces handed out
  std::map<PeerKey, Peer> peers_;
  PeerKey next_key_ = 1;
  int handed_out_ = 0, starved_ = 0;
};

}  // namespace shoal
