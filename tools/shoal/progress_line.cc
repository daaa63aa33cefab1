#include "tools/shoal/progress_line.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace shoal::cli {

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

void ProgressLine::Update(const std::string& phase, uint64_t done, uint64_t total, uint64_t rate,
                          int peers) {
  if (!init_) {
    tty_ = ::isatty(STDERR_FILENO);
    init_ = true;
  }
  using namespace std::chrono;
  long long now = duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  if (!tty_ && drawn_ && now - last_ms_ < 5000) return;
  last_ms_ = now;
  double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 0;
  std::string line = phase + " " + std::to_string(static_cast<int>(pct)) + "% (" +
                     HumanBytes(static_cast<double>(done)) + " of " +
                     HumanBytes(static_cast<double>(total)) + ")";
  if (rate) line += ", " + HumanBytes(static_cast<double>(rate)) + "/s";
  if (peers >= 0) line += ", " + std::to_string(peers) + " peers";
  std::fprintf(stderr, tty_ ? "\r\033[K%s" : "%s\n", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace shoal::cli
