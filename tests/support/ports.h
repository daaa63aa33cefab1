// Test support: loopback ports for daemons that a test restarts in place.
#pragma once

#include <string>

namespace shoal::testing {

// Returns "127.0.0.1:P" with P free now and below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range). A daemon restarted on a port from port 0 can find it taken:
// while it was down, any outgoing loopback connection (a libtorrent peer, an announce) may have
// been given that port as its source port and hold it for minutes. Ports below the range are
// never handed out that way, so only another listener could take them.
std::string RestartableLoopbackAddress();

}  // namespace shoal::testing
