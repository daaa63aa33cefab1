// The libtorrent settings Shoal runs with, and why each departs from the default.
#pragma once

#include <libtorrent/settings_pack.hpp>

#include "core/swarm.h"

namespace shoal {

libtorrent::settings_pack MakeSwarmSettings(const SwarmOptions& options);

}  // namespace shoal
