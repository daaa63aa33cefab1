// The origin's peers, told apart by the peer-id prefix its session announces
// (kOriginPeerIdPrefix, set through settings_pack::peer_fingerprint). A libtorrent torrent
// plugin on every node torrent:
// - counts the payload bytes that came from the origin rather than from other nodes (it sees
//   every block a peer delivers, so the count includes peers that have since disconnected);
// - keeps a background download (pre-staging) off the origin: it takes pieces only from other
//   nodes, leaving the origin's upload to the fetches that are waited for. It does so by not
//   acting on the origin's unchoke (libtorrent then never requests from it; the origin has
//   unlimited unchoke slots, so the ignored unchoke costs nobody a slot) nor on its allowed-fast
//   pieces. When the download turns foreground the connection to the origin is dropped, so
//   that a new one starts unchoked (libtorrent reconnects within min_reconnect_time).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <libtorrent/extensions.hpp>
#include <memory>
#include <string_view>

namespace shoal {

// Peer-id prefixes (Azureus style, 8 characters) of the origin's and the nodes' sessions.
inline constexpr std::string_view kOriginPeerIdPrefix = "-SO0100-";
inline constexpr std::string_view kNodePeerIdPrefix = "-SN0100-";

// Shared between a torrent's plugin (libtorrent's network thread) and the Swarm (any thread).
struct OriginPeerState {
  std::atomic<uint64_t> bytes_from_origin{0};
  std::atomic<bool> background{false};  // true: take nothing from the origin
};

// A torrent extension (for add_torrent_params::extensions) implementing the above on `state`.
std::function<std::shared_ptr<libtorrent::torrent_plugin>(const libtorrent::torrent_handle&,
                                                          libtorrent::client_data_t)>
OriginPeerPlugin(std::shared_ptr<OriginPeerState> state);

}  // namespace shoal
