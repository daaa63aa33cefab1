// The libtorrent settings Shoal runs with, and why each departs from the default.
#pragma once

#include <libtorrent/settings_pack.hpp>

#include "core/swarm.h"

namespace shoal {

// Shoal's settings with options.settings applied on top; fails naming the first override that
// is malformed, unknown to libtorrent, or of the wrong type.
Result<libtorrent::settings_pack> MakeSwarmSettings(const SwarmOptions& options);

}  // namespace shoal
