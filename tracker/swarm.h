// The tracker's state: which peers announce which torrents, with their topology labels, and
// the choice of peers to offer an announcing peer. Single-threaded (the server's io_context owns
// it); time is passed in, so expiry is testable without waiting.
//
// Choice of peers (the point of a topology-aware tracker): peers in the asker's rack first, then
// the rest of its datacenter, then everyone else. Within each group a leecher is offered seeds
// before leechers; a seed is offered leechers only (a seed has no use for another seed). Within a
// class the choice is uniformly random. The asker itself (same ip+port, or same peer_id) is never
// offered. The cost of one announce is O(numwant), independent of the swarm's size: each group
// is a set with O(1) insert/erase and sampling without replacement (partial Fisher-Yates).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "core/result.h"
#include "tracker/request.h"

namespace shoal::tracker {

using Clock = std::chrono::steady_clock;

// Caps that keep the tracker's memory bounded whatever clients send.
struct SwarmLimits {
  Clock::duration peer_ttl = std::chrono::seconds(70);  // forgotten after this long unheard
  size_t max_torrents = 100'000;
  size_t max_peers_per_torrent = 50'000;
  size_t max_peers_total = 1'000'000;
};

struct OfferedPeer {
  boost::asio::ip::address ip;  // IPv4 or IPv6 (never IPv4-mapped IPv6)
  uint16_t port = 0;
  PeerId peer_id;
};

struct AnnounceReply {
  std::vector<OfferedPeer> peers;  // in preference order, at most numwant
  int64_t complete = 0;            // seeds, after this announce
  int64_t incomplete = 0;          // leechers, after this announce
  bool stored = true;  // false: a cap was reached, the asker was served but not remembered
};

struct ScrapeStats {
  int64_t complete = 0;
  int64_t incomplete = 0;
  int64_t downloaded = 0;  // event=completed announces seen while the torrent was tracked
};

class Swarms {
 public:
  // `seed` seeds the random choice within groups (fixed in tests that want repeatability).
  Swarms(SwarmLimits limits, uint64_t seed);
  ~Swarms();
  Swarms(const Swarms&) = delete;
  Swarms& operator=(const Swarms&) = delete;

  // Records `req` from a peer at `ip` (the connection's source address; the port comes from
  // the request) at time `now`, and returns the peers to offer it. event=stopped removes the
  // peer and offers none. Fails only when tracking a new torrent would exceed max_torrents.
  Result<AnnounceReply> Announce(const AnnounceRequest& req, const boost::asio::ip::address& ip,
                                 Clock::time_point now);

  // Counts for one torrent; nullopt when it is not tracked (no live peers).
  std::optional<ScrapeStats> Scrape(const InfoHash& hash) const;

  // Forgets every peer last heard before `now - peer_ttl`, and torrents left without peers.
  // Returns how many peers were forgotten. Cost: O(peers forgotten).
  size_t Expire(Clock::time_point now);

  size_t torrent_count() const;
  size_t peer_count() const { return lru_.size(); }

 private:
  struct Peer;
  struct Torrent;
  void Remove(Peer* peer);

  SwarmLimits limits_;
  std::mt19937_64 rng_;
  std::map<InfoHash, std::unique_ptr<Torrent>> torrents_;
  std::list<Peer*> lru_;  // least recently heard first: expiry pops from the front
};

}  // namespace shoal::tracker
