#include "core/swarm_origin_bytes.h"

#include <cstring>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>

namespace shoal {
namespace lt = libtorrent;

bool IsOriginPeerId(const lt::peer_id& pid) {
  return std::memcmp(pid.data(), kOriginPeerIdPrefix.data(), kOriginPeerIdPrefix.size()) == 0;
}

namespace {
class OriginPeer : public lt::peer_plugin {
 public:
  OriginPeer(lt::peer_connection_handle peer, OriginByteCounter counter)
      : peer_(std::move(peer)), counter_(std::move(counter)) {}

  // The peer id is known once the handshake is in, which is before any piece can arrive; an
  // outgoing connection does not know it when the plugin is created, hence the lazy check.
  bool on_piece(const lt::peer_request& piece, lt::span<const char>) override {
    if (!checked_) {
      from_origin_ = IsOriginPeerId(peer_.pid());
      checked_ = true;
    }
    if (from_origin_)
      counter_->fetch_add(static_cast<uint64_t>(piece.length), std::memory_order_relaxed);
    return false;  // libtorrent handles the block as usual
  }

 private:
  lt::peer_connection_handle peer_;
  OriginByteCounter counter_;
  bool checked_ = false, from_origin_ = false;
};

class OriginBytes : public lt::torrent_plugin {
 public:
  explicit OriginBytes(OriginByteCounter counter) : counter_(std::move(counter)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& peer) override {
    return std::make_shared<OriginPeer>(peer, counter_);
  }

 private:
  OriginByteCounter counter_;
};
}  // namespace

std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>
CountOriginBytes(OriginByteCounter counter) {
  return [counter = std::move(counter)](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<OriginBytes>(counter);
  };
}

}  // namespace shoal
