#include "tests/support/ports.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>

namespace shoal::testing {
namespace {

int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  in >> low >> high;
  return low;
}

bool FreeOnLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return free;
}

}  // namespace

std::string RestartableLoopbackAddress() {
  // Random picks keep tests running side by side (ctest -j) from choosing the same port.
  static std::mt19937 rng(std::random_device{}());
  int high = EphemeralLow() - 1, low = std::max(10000, high - 20000);
  std::uniform_int_distribution<int> pick(low, high);
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = pick(rng);
    if (FreeOnLoopback(port)) return "127.0.0.1:" + std::to_string(port);
  }
  throw std::runtime_error("no free loopback port below the ephemeral range");
}

}  // namespace shoal::testing
