// Counts, per torrent, the payload bytes that came from the origin (the seeder) rather than from
// other nodes. The origin's session announces itself by its peer-id prefix (kOriginPeerIdPrefix,
// set through settings_pack::peer_fingerprint); a libtorrent torrent plugin sees every block a
// peer delivers, so the count includes peers that have since disconnected.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <libtorrent/extensions.hpp>
#include <libtorrent/peer_id.hpp>
#include <memory>
#include <string_view>

namespace shoal {

// Peer-id prefixes (Azureus style, 8 characters) of the origin's and the nodes' sessions.
inline constexpr std::string_view kOriginPeerIdPrefix = "-SO0100-";
inline constexpr std::string_view kNodePeerIdPrefix = "-SN0100-";

// Whether `pid` is the origin's (starts with kOriginPeerIdPrefix).
bool IsOriginPeerId(const libtorrent::peer_id& pid);

// Written on libtorrent's network thread, read on any other.
using OriginByteCounter = std::shared_ptr<std::atomic<uint64_t>>;

// A torrent extension (for add_torrent_params::extensions) that adds every payload block
// received from a peer whose id starts with kOriginPeerIdPrefix to `counter`.
std::function<std::shared_ptr<libtorrent::torrent_plugin>(const libtorrent::torrent_handle&,
                                                          libtorrent::client_data_t)>
CountOriginBytes(OriginByteCounter counter);

}  // namespace shoal
