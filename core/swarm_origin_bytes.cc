#include "core/swarm_origin_bytes.h"

#include <cstring>
#include <libtorrent/error_code.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <libtorrent/peer_request.hpp>

namespace shoal {
namespace lt = libtorrent;

namespace {
class OriginPeer : public lt::peer_plugin {
 public:
  OriginPeer(lt::peer_connection_handle peer, std::shared_ptr<OriginPeerState> state)
      : peer_(std::move(peer)), state_(std::move(state)) {}

  bool on_unchoke() override {
    if (!IsOrigin() || !state_->background.load(std::memory_order_relaxed)) return false;
    ignored_unchoke_ = true;
    return true;  // handled: libtorrent still counts us as choked and requests nothing
  }

  bool on_allowed_fast(lt::piece_index_t) override {
    return IsOrigin() && state_->background.load(std::memory_order_relaxed);
  }

  void tick() override {
    // Turned foreground with the origin's unchoke swallowed: the origin will not send another
    // while it keeps us unchoked, so start over on a new connection.
    if (ignored_unchoke_ && !state_->background.load(std::memory_order_relaxed)) {
      ignored_unchoke_ = false;
      peer_.disconnect(lt::errors::make_error_code(lt::errors::no_error),
                       lt::operation_t::bittorrent);
    }
  }

  bool on_piece(const lt::peer_request& piece, lt::span<const char>) override {
    if (IsOrigin()) {
      state_->bytes_from_origin.fetch_add(static_cast<uint64_t>(piece.length),
                                          std::memory_order_relaxed);
    }
    return false;  // libtorrent handles the block as usual
  }

 private:
  // The peer id is known once the handshake is in, which is before any other message; an
  // outgoing connection does not know it when the plugin is created, hence the lazy check.
  bool IsOrigin() {
    if (!checked_) {
      const lt::peer_id& pid = peer_.pid();
      origin_ = std::memcmp(pid.data(), kOriginPeerIdPrefix.data(), kOriginPeerIdPrefix.size()) ==
                0;
      checked_ = true;
    }
    return origin_;
  }

  lt::peer_connection_handle peer_;
  std::shared_ptr<OriginPeerState> state_;
  bool checked_ = false, origin_ = false, ignored_unchoke_ = false;
};

class OriginPeers : public lt::torrent_plugin {
 public:
  explicit OriginPeers(std::shared_ptr<OriginPeerState> state) : state_(std::move(state)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& peer) override {
    return std::make_shared<OriginPeer>(peer, state_);
  }

 private:
  std::shared_ptr<OriginPeerState> state_;
};
}  // namespace

std::function<std::shared_ptr<lt::torrent_plugin>(const lt::torrent_handle&, lt::client_data_t)>
OriginPeerPlugin(std::shared_ptr<OriginPeerState> state) {
  return [state = std::move(state)](const lt::torrent_handle&, lt::client_data_t) {
    return std::make_shared<OriginPeers>(state);
  };
}

}  // namespace shoal
