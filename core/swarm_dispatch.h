// Origin dispatch (issue 12): the origin tells each downloading node which pieces it may take
// from it, and the nodes take everything else from each other. core/dispatch_plan.h decides which
// pieces; this is how the two libtorrent sessions carry that out.
//
// libtorrent's own super-seeding hides pieces the same way, but hands a peer only one or two
// pieces at a time and waits for its HAVE, which capped the origin near 5 MB/s here
// (bench/results/tuning.md); the plan keeps half a second of each node's rate in its window.
//
// How, with standard BitTorrent messages only:
//  - Each side names its role in the extension handshake (BEP 10), which libtorrent sends
//    before its bitfield: the origin kDispatchKey, a node kAcceptsDispatchKey.
//  - A node that sees kDispatchKey from a peer ignores that peer's HAVE ALL (or BITFIELD): the
//    peer then has nothing as far as the node's piece picker is concerned.
//  - The origin sends a node that accepts dispatch a HAVE for each piece the plan hands it. It
//    learns what the node holds from the node's own HAVEs (libtorrent sends them to seeds too,
//    send_redundant_have).
// A node or an origin without this extension sees none of it: the origin then is a plain seed.
#pragma once

#include <atomic>
#include <functional>
#include <libtorrent/extensions.hpp>
#include <memory>
#include <string_view>

namespace shoal {

inline constexpr std::string_view kDispatchKey = "shoal_dispatch";
inline constexpr std::string_view kAcceptsDispatchKey = "shoal_accepts_dispatch";

using TorrentPluginFactory = std::function<std::shared_ptr<libtorrent::torrent_plugin>(
    const libtorrent::torrent_handle&, libtorrent::client_data_t)>;

// The origin's side, for every torrent it seeds (of `pieces` pieces of `piece_length` bytes).
TorrentPluginFactory DispatchFromOrigin(int pieces, int piece_length);

// A node's side, for every torrent it downloads: `dispatched` turns true once a peer (the
// origin) dispatches to it, which is when the node's own origin picking (stripe, columns) must
// step aside (core/swarm.cc). `on_dispatched` is called when it does. Both on libtorrent's
// network thread.
TorrentPluginFactory AcceptDispatch(std::shared_ptr<std::atomic<bool>> dispatched,
                                    std::function<void()> on_dispatched);

}  // namespace shoal
