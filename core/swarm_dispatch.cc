#include "core/swarm_dispatch.h"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/entry.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_info.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dispatch_plan.h"
#include "core/log.h"

namespace shoal {
namespace lt = libtorrent;

namespace {
using Clock = DispatchPlan::Clock;

// Whether the peer's extension handshake names `role` (kDispatchKey or kAcceptsDispatchKey).
bool Advertises(const lt::bdecode_node& handshake, std::string_view role) {
  return handshake.type() == lt::bdecode_node::dict_t &&
         handshake.dict_find_int_value(lt::string_view(role.data(), role.size()), 0) == 1;
}

// ---------------------------------------------------------------------------------------------
// The origin's side. Every callback runs on libtorrent's network thread, so the plan needs no
// lock; the peers' plugins share it through the torrent's.

struct OriginTorrent {
  DispatchPlan plan;
  std::map<DispatchPlan::PeerKey, lt::peer_connection_handle> nodes;
  int starved_logged = 0;

  OriginTorrent(int pieces, int piece_length) : plan(pieces, piece_length) {}

  // Hands the node what the plan says, one HAVE message (BEP 3: length 5, id 4, index) each.
  void Refill(DispatchPlan::PeerKey key, lt::peer_connection_handle peer) {
    // A node leaves `nodes` when its plugin goes, with its connection; this only guards that.
    if (!peer.native_handle()) return;
    const std::vector<int> pieces = plan.Refill(key, Clock::now());
    if (plan.starved_nodes() > starved_logged) {
      starved_logged = plan.starved_nodes();
      SHOAL_LOG(Info) << "dispatch: " << peer.remote() << " took no piece from anyone for "
                      << DispatchPlan::kStarvedAfter.count()
                      << " s; it may take every piece from the origin now";
    }
    if (pieces.empty()) return;
    std::string messages;
    messages.reserve(pieces.size() * 9);
    for (int p : pieces) {
      const uint32_t index = static_cast<uint32_t>(p);
      const char have[9] = {0,
                            0,
                            0,
                            5,
                            4,
                            static_cast<char>(index >> 24),
                            static_cast<char>(index >> 16),
                            static_cast<char>(index >> 8),
                            static_cast<char>(index)};
      messages.append(have, sizeof have);
    }
    peer.send_buffer(messages.data(), static_cast<int>(messages.size()));
  }
};

class OriginPeer : public lt::peer_plugin {
 public:
  OriginPeer(lt::peer_connection_handle peer, std::shared_ptr<OriginTorrent> torrent)
      : peer_(std::move(peer)), torrent_(std::move(torrent)) {}
  ~OriginPeer() override { Leave(); }

  void add_handshake(lt::entry& handshake) override { handshake[std::string(kDispatchKey)] = 1; }

  bool on_extension_handshake(const lt::bdecode_node& handshake) override {
    if (!key_ && Advertises(handshake, kAcceptsDispatchKey)) {
      key_ = torrent_->plan.AddPeer(Clock::now());
      torrent_->nodes.emplace(*key_, peer_);
    }
    return true;
  }

  // What the node holds; none of these stops libtorrent from handling the message as usual. The
  // first window goes out with the node's bitfield (libtorrent sends it right after the
  // extension handshake), so that nothing it already has is handed to it.
  bool on_have(lt::piece_index_t piece) override {
    if (key_) {
      torrent_->plan.PeerHas(*key_, static_cast<int>(piece), Clock::now());
      torrent_->Refill(*key_, peer_);
    }
    return false;
  }
  bool on_bitfield(const lt::bitfield& bits) override {
    if (key_) {
      std::vector<bool> has(static_cast<size_t>(bits.size()));
      for (int i = 0; i < bits.size(); ++i) has[static_cast<size_t>(i)] = bits.get_bit(i);
      torrent_->plan.PeerHasBitfield(*key_, has, Clock::now());
      torrent_->Refill(*key_, peer_);
    }
    return false;
  }
  bool on_have_all() override {
    if (key_) torrent_->plan.PeerHasAll(*key_, Clock::now());
    return false;
  }
  bool on_have_none() override {
    if (key_) torrent_->Refill(*key_, peer_);
    return false;
  }
  void on_disconnect(const lt::error_code&) override { Leave(); }

 private:
  void Leave() {
    if (!key_) return;
    torrent_->plan.RemovePeer(*key_);
    torrent_->nodes.erase(*key_);
    key_.reset();
  }

  lt::peer_connection_handle peer_;
  std::shared_ptr<OriginTorrent> torrent_;
  std::optional<DispatchPlan::PeerKey> key_;
};

class OriginPlugin : public lt::torrent_plugin {
 public:
  OriginPlugin(int pieces, int piece_length)
      : torrent_(std::make_shared<OriginTorrent>(pieces, piece_length)) {}

  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& peer) override {
    return std::make_shared<OriginPeer>(peer, torrent_);
  }

  // About once a second: windows follow each node's rate, and pieces whose fetchers left or got
  // stuck are handed out again.
  void tick() override {
    for (auto& [key, peer] : torrent_->nodes) {
      if (!peer.native_handle()) continue;
      lt::peer_info info;
      peer.get_peer_info(info);
      torrent_->plan.SetRate(key, info.payload_up_speed);
    }
    // Refill may not remove nodes, but copy the keys anyway: it is cheap and keeps this safe.
    std::vector<std::pair<DispatchPlan::PeerKey, lt::peer_connection_handle>> nodes(
        torrent_->nodes.begin(), torrent_->nodes.end());
    for (auto& [key, peer] : nodes) torrent_->Refill(key, peer);
  }

 private:
  std::shared_ptr<OriginTorrent> torrent_;
};

// ---------------------------------------------------------------------------------------------
// A node's side.

class NodePeer : public lt::peer_plugin {
 public:
  NodePeer(std::shared_ptr<std::atomic<bool>> dispatched, std::function<void()> on_dispatched)
      : dispatched_(std::move(dispatched)), on_dispatched_(std::move(on_dispatched)) {}

  void add_handshake(lt::entry& handshake) override {
    handshake[std::string(kAcceptsDispatchKey)] = 1;
  }

  bool on_extension_handshake(const lt::bdecode_node& handshake) override {
    if (Advertises(handshake, kDispatchKey)) {
      from_origin_ = true;
      if (!dispatched_->exchange(true) && on_dispatched_) on_dispatched_();
    }
    return true;
  }

  // The origin's HAVE ALL (or full BITFIELD) is not what it will send this node: its HAVEs are.
  bool on_have_all() override { return from_origin_; }
  bool on_bitfield(const lt::bitfield&) override { return from_origin_; }

 private:
  std::shared_ptr<std::atomic<bool>> dispatched_;
  std::function<void()> on_dispatched_;
  bool from_origin_ = false;
};

class NodePlugin : public lt::torrent_plugin {
 public:
  NodePlugin(std::shared_ptr<std::atomic<bool>> dispatched, std::function<void()> on_dispatched)
      : dispatched_(std::move(dispatched)), on_dispatched_(std::move(on_dispatched)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle&) override {
    return std::make_shared<NodePeer>(dispatched_, on_dispatched_);
  }

 private:
  std::shared_ptr<std::atomic<bool>> dispatched_;
  std::function<void()> on_dispatched_;
};
}  // namespace

TorrentPluginFactory DispatchFromOrigin(int pieces, int piece_length) {
  return [pieces, piece_length](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<OriginPlugin>(pieces, piece_length);
  };
}

TorrentPluginFactory AcceptDispatch(std::shared_ptr<std::atomic<bool>> dispatched,
                                    std::function<void()> on_dispatched) {
  return [dispatched = std::move(dispatched), on_dispatched = std::move(on_dispatched)](
             const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<NodePlugin>(dispatched, on_dispatched);
  };
}

}  // namespace shoal
