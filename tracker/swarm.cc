#include "tracker/swarm.h"

#include <array>
#include <cstring>
#include <string>
#include <unordered_map>

namespace shoal::tracker {
namespace {

// Levels of the topology: each peer sits in one set per level.
enum Level { kAll = 0, kDc = 1, kRack = 2, kLevels = 3 };

// IPv4-mapped IPv6 addresses (from a dual-stack socket) are IPv4 peers.
boost::asio::ip::address Normalize(const boost::asio::ip::address& ip) {
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6());
  }
  return ip;
}

// A peer's identity within a torrent: its address and listen port, as 18 bytes.
std::string EndpointKey(const boost::asio::ip::address& ip, uint16_t port) {
  std::string key(18, '\0');
  auto v6 = ip.is_v4() ? boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, ip.to_v4())
                       : ip.to_v6();
  auto bytes = v6.to_bytes();
  std::memcpy(key.data(), bytes.data(), 16);
  key[16] = static_cast<char>(port >> 8);
  key[17] = static_cast<char>(port & 0xff);
  return key;
}

}  // namespace

struct Swarms::Peer {
  boost::asio::ip::address ip;
  uint16_t port = 0;
  PeerId id;
  bool seed = false;
  bool completed_counted = false;
  std::string endpoint_key;
  std::string dc, rack;
  Clock::time_point last_heard;
  std::list<Peer*>::iterator lru;
  std::array<size_t, kLevels> slot{};  // index in its set at each level
  Torrent* torrent = nullptr;
};

namespace {

// Peers with O(1) insert and erase (swap with the last) and uniform draws without replacement.
template <typename PeerT>
class PeerSet {
 public:
  explicit PeerSet(Level level) : level_(level) {}
  size_t size() const { return items_.size(); }
  void Insert(PeerT* p) {
    p->slot[level_] = items_.size();
    items_.push_back(p);
  }
  void Erase(PeerT* p) {
    size_t i = p->slot[level_];
    PeerT* last = items_.back();
    items_[i] = last;
    last->slot[level_] = i;
    items_.pop_back();
  }
  // Calls `visit` on peers in uniformly random order until it returns false or all were seen.
  // Each call costs O(1): this is a partial Fisher-Yates shuffle done in place.
  template <typename Rng, typename Visit>
  void Draw(Rng& rng, Visit&& visit) {
    for (size_t i = 0; i < items_.size(); ++i) {
      size_t j = std::uniform_int_distribution<size_t>(i, items_.size() - 1)(rng);
      if (j != i) {
        std::swap(items_[i], items_[j]);
        items_[i]->slot[level_] = i;
        items_[j]->slot[level_] = j;
      }
      if (!visit(items_[i])) return;
    }
  }

 private:
  Level level_;
  std::vector<PeerT*> items_;
};

}  // namespace

struct Swarms::Torrent {
  struct Tier {
    explicit Tier(Level level) : seeds(level), leechers(level) {}
    PeerSet<Peer> seeds, leechers;
    PeerSet<Peer>& of(bool seed) { return seed ? seeds : leechers; }
    bool empty() const { return seeds.size() == 0 && leechers.size() == 0; }
  };

  explicit Torrent(const InfoHash& h) : hash(h) {}
  InfoHash hash;
  Tier all{kAll};
  std::unordered_map<std::string, Tier> dcs;                     // by dc label
  std::unordered_map<std::string, Tier> racks;                   // by dc + '\0' + rack
  std::unordered_map<std::string, std::unique_ptr<Peer>> peers;  // by EndpointKey
  int64_t downloaded = 0;

  static std::string RackKey(const std::string& dc, const std::string& rack) {
    return dc + '\0' + rack;
  }
  Tier* FindDc(const std::string& dc) {
    auto it = dcs.find(dc);
    return it == dcs.end() ? nullptr : &it->second;
  }
  Tier* FindRack(const std::string& dc, const std::string& rack) {
    auto it = racks.find(RackKey(dc, rack));
    return it == racks.end() ? nullptr : &it->second;
  }
  void Link(Peer* p) {
    all.of(p->seed).Insert(p);
    dcs.try_emplace(p->dc, kDc).first->second.of(p->seed).Insert(p);
    racks.try_emplace(RackKey(p->dc, p->rack), kRack).first->second.of(p->seed).Insert(p);
  }
  void Unlink(Peer* p) {
    all.of(p->seed).Erase(p);
    auto dc = dcs.find(p->dc);
    dc->second.of(p->seed).Erase(p);
    if (dc->second.empty()) dcs.erase(dc);
    auto rack = racks.find(RackKey(p->dc, p->rack));
    rack->second.of(p->seed).Erase(p);
    if (rack->second.empty()) racks.erase(rack);
  }
};

Swarms::Swarms(SwarmLimits limits, uint64_t seed) : limits_(limits), rng_(seed) {}
Swarms::~Swarms() = default;

size_t Swarms::torrent_count() const { return torrents_.size(); }

void Swarms::Remove(Peer* peer) {
  Torrent* t = peer->torrent;
  t->Unlink(peer);
  lru_.erase(peer->lru);
  t->peers.erase(peer->endpoint_key);  // destroys *peer
}

Result<AnnounceReply> Swarms::Announce(const AnnounceRequest& req,
                                       const boost::asio::ip::address& raw_ip,
                                       Clock::time_point now) {
  const auto ip = Normalize(raw_ip);
  const std::string key = EndpointKey(ip, req.port);
  const bool seed = req.left == 0;
  AnnounceReply reply;

  auto tit = torrents_.find(req.info_hash);
  if (req.event == AnnounceEvent::kStopped) {
    if (tit != torrents_.end()) {
      Torrent& t = *tit->second;
      if (auto pit = t.peers.find(key); pit != t.peers.end()) Remove(pit->second.get());
      reply.complete = static_cast<int64_t>(t.all.seeds.size());
      reply.incomplete = static_cast<int64_t>(t.all.leechers.size());
      if (t.peers.empty()) torrents_.erase(tit);
    }
    return reply;
  }
  if (tit == torrents_.end()) {
    if (torrents_.size() >= limits_.max_torrents) {
      return Error{"tracker is full: too many torrents"};
    }
    tit = torrents_.emplace(req.info_hash, std::make_unique<Torrent>(req.info_hash)).first;
  }
  Torrent& t = *tit->second;

  Peer* self = nullptr;
  if (auto pit = t.peers.find(key); pit != t.peers.end()) {
    self = pit->second.get();
    if (self->seed != seed || self->dc != req.dc || self->rack != req.rack) {
      t.Unlink(self);
      self->seed = seed;
      self->dc = req.dc;
      self->rack = req.rack;
      t.Link(self);
    }
    self->id = req.peer_id;
    lru_.splice(lru_.end(), lru_, self->lru);
  } else if (t.peers.size() < limits_.max_peers_per_torrent &&
             lru_.size() < limits_.max_peers_total) {
    auto owned = std::make_unique<Peer>();
    self = owned.get();
    self->ip = ip;
    self->port = req.port;
    self->id = req.peer_id;
    self->seed = seed;
    self->endpoint_key = key;
    self->dc = req.dc;
    self->rack = req.rack;
    self->torrent = &t;
    t.Link(self);
    self->lru = lru_.insert(lru_.end(), self);
    t.peers.emplace(key, std::move(owned));
  } else {
    reply.stored = false;
  }
  if (self) self->last_heard = now;
  if (req.event == AnnounceEvent::kCompleted && !(self && self->completed_counted)) {
    ++t.downloaded;
    if (self) self->completed_counted = true;
  }

  // Choose peers: rack, then the rest of the dc, then the rest of the swarm. The `outer` test
  // skips peers an inner group already offered; as an outer group is only reached when the
  // inner ones held fewer than numwant peers, skipping costs O(numwant) too.
  const size_t want = static_cast<size_t>(std::max(req.numwant, 0));
  using Tier = Torrent::Tier;
  Tier* rack = t.FindRack(req.dc, req.rack);
  Tier* dc = t.FindDc(req.dc);
  auto offer_from = [&](Tier* tier, bool seeds, auto&& already_offered) {
    if (!tier || reply.peers.size() >= want) return;
    tier->of(seeds).Draw(rng_, [&](Peer* p) {
      bool is_self = (p->ip == ip && p->port == req.port) || p->id == req.peer_id;
      if (!is_self && !already_offered(p)) {
        reply.peers.push_back(OfferedPeer{p->ip, p->port, p->id});
      }
      return reply.peers.size() < want;
    });
  };
  auto none = [](Peer*) { return false; };
  auto in_rack = [&](Peer* p) { return p->dc == req.dc && p->rack == req.rack; };
  auto in_dc = [&](Peer* p) { return p->dc == req.dc; };
  for (auto [tier, skip] : {std::pair<Tier*, int>{rack, 0}, {dc, 1}, {&t.all, 2}}) {
    for (bool seeds : {true, false}) {
      if (seeds && seed) continue;  // a seed is offered leechers only
      if (skip == 0) offer_from(tier, seeds, none);
      if (skip == 1) offer_from(tier, seeds, in_rack);
      if (skip == 2) offer_from(tier, seeds, in_dc);
    }
  }
  reply.complete = static_cast<int64_t>(t.all.seeds.size());
  reply.incomplete = static_cast<int64_t>(t.all.leechers.size());
  if (t.peers.empty()) torrents_.erase(tit);  // only possible when the asker was not stored
  return reply;
}

std::optional<ScrapeStats> Swarms::Scrape(const InfoHash& hash) const {
  auto it = torrents_.find(hash);
  if (it == torrents_.end()) return std::nullopt;
  const Torrent& t = *it->second;
  return ScrapeStats{static_cast<int64_t>(t.all.seeds.size()),
                     static_cast<int64_t>(t.all.leechers.size()), t.downloaded};
}

size_t Swarms::Expire(Clock::time_point now) {
  size_t removed = 0;
  while (!lru_.empty() && now - lru_.front()->last_heard >= limits_.peer_ttl) {
    Peer* p = lru_.front();
    Torrent* t = p->torrent;
    Remove(p);
    ++removed;
    if (t->peers.empty()) {
      InfoHash hash = t->hash;  // a copy: erasing destroys *t
      torrents_.erase(hash);
    }
  }
  return removed;
}

}  // namespace shoal::tracker
