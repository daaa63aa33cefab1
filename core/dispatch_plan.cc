#include "core/dispatch_plan.h"

#include <algorithm>

namespace shoal {

DispatchPlan::DispatchPlan(int pieces, int piece_length)
    : piece_length_(std::max(1, piece_length)), holders_(static_cast<size_t>(std::max(0, pieces))) {
  for (int p = 0; p < pieces; ++p) unheld_.insert(unheld_.end(), p);
}

DispatchPlan::PeerKey DispatchPlan::AddPeer(Clock::time_point now) {
  PeerKey key = next_key_++;
  Peer& peer = peers_[key];
  peer.has.assign(holders_.size(), false);
  peer.handed.assign(holders_.size(), false);
  peer.last_completed = peer.last_have = now;
  return key;
}

void DispatchPlan::RemovePeer(PeerKey key) {
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  Peer& peer = it->second;
  for (size_t p = 0; p < peer.has.size(); ++p) {
    if (!peer.has[p]) continue;
    if (--holders_[p] == 0) unheld_.insert(static_cast<int>(p));
  }
  for (int p : peer.fetching) {
    auto f = fetchers_.find(p);
    if (f == fetchers_.end()) continue;
    f->second.erase(key);
    if (f->second.empty()) fetchers_.erase(f);
  }
  peers_.erase(it);
}

void DispatchPlan::Holds(Peer& peer, int piece, Clock::time_point now) {
  if (piece < 0 || piece >= pieces() || peer.has[static_cast<size_t>(piece)]) return;
  peer.has[static_cast<size_t>(piece)] = true;
  ++peer.held;
  peer.last_have = now;
  if (holders_[static_cast<size_t>(piece)]++ == 0) unheld_.erase(piece);
  if (peer.fetching.erase(piece) != 0) peer.last_completed = now;
  // Held now: whoever else was handed it may still take it from the origin, but nobody needs to
  // be told about it again.
  fetchers_.erase(piece);
}

void DispatchPlan::PeerHas(PeerKey key, int piece, Clock::time_point now) {
  if (auto it = peers_.find(key); it != peers_.end()) Holds(it->second, piece, now);
}

void DispatchPlan::PeerHasAll(PeerKey key, Clock::time_point now) {
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  for (int p = 0; p < pieces(); ++p) Holds(it->second, p, now);
}

void DispatchPlan::PeerHasBitfield(PeerKey key, const std::vector<bool>& bits,
                                   Clock::time_point now) {
  auto it = peers_.find(key);
  if (it == peers_.end()) return;
  const int n = std::min(pieces(), static_cast<int>(bits.size()));
  for (int p = 0; p < n; ++p)
    if (bits[static_cast<size_t>(p)]) Holds(it->second, p, now);
}

void DispatchPlan::SetRate(PeerKey key, int64_t bytes_per_second) {
  if (auto it = peers_.find(key); it != peers_.end()) it->second.rate = bytes_per_second;
}

int DispatchPlan::WindowOf(PeerKey key) const {
  auto it = peers_.find(key);
  if (it == peers_.end()) return 0;
  const int64_t bytes = std::max(kMinWindowBytes, it->second.rate * kWindowTime.count() / 1000);
  return static_cast<int>(std::max<int64_t>(2, (bytes + piece_length_ - 1) / piece_length_));
}

bool DispatchPlan::Stuck(const Peer& peer, Clock::time_point now) const {
  if (peer.fetching.empty()) return false;
  // A slow node (a slow link, or big pieces) is not stuck while the origin is still sending it
  // what it fetches: give it twice the time that takes at its rate.
  std::chrono::duration<double> limit = kStuckAfter;
  if (peer.rate > 0)
    limit = std::max(limit,
                     std::chrono::duration<double>(2.0 * static_cast<double>(peer.fetching.size()) *
                                                   piece_length_ / static_cast<double>(peer.rate)));
  return now - peer.last_completed >= limit;
}

bool DispatchPlan::BeingFetched(int piece, Clock::time_point now) const {
  auto f = fetchers_.find(piece);
  if (f == fetchers_.end()) return false;
  for (PeerKey key : f->second) {
    auto it = peers_.find(key);
    if (it != peers_.end() && !Stuck(it->second, now)) return true;
  }
  return false;
}

std::vector<int> DispatchPlan::Refill(PeerKey key, Clock::time_point now) {
  std::vector<int> out;
  auto it = peers_.find(key);
  if (it == peers_.end()) return out;
  Peer& peer = it->second;
  auto hand = [&](int p) {
    peer.handed[static_cast<size_t>(p)] = true;
    peer.fetching.insert(p);
    if (!holders_[static_cast<size_t>(p)]) fetchers_[p].insert(key);
    ++handed_out_;
    out.push_back(p);
  };
  if (!peer.starved && peer.held < pieces() && now - peer.last_have >= kStarvedAfter) {
    // It takes nothing from its peers: the origin is all it has.
    peer.starved = true;
    ++starved_;
  }
  if (peer.starved) {
    for (int p = 0; p < pieces(); ++p)
      if (!peer.has[static_cast<size_t>(p)] && !peer.handed[static_cast<size_t>(p)]) hand(p);
    return out;
  }
  if (peer.fetching.empty()) peer.last_completed = now;  // idle is not stuck
  const int window = WindowOf(key);
  for (auto u = unheld_.begin();
       u != unheld_.end() && static_cast<int>(peer.fetching.size()) < window; ++u) {
    const int p = *u;
    if (peer.has[static_cast<size_t>(p)] || peer.handed[static_cast<size_t>(p)]) continue;
    if (BeingFetched(p, now)) continue;
    hand(p);
  }
  return out;
}

}  // namespace shoal
