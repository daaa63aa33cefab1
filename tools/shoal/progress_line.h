// A one-line progress display for long CLI work.
#pragma once

#include <cstdint>
#include <string>

namespace shoal::cli {

// Redrawn in place on a terminal; on a pipe, a line at most every 5 s.
class ProgressLine {
 public:
  void Update(const std::string& phase, uint64_t done, uint64_t total, uint64_t rate = 0,
              int peers = -1);
  void Finish();

 private:
  bool tty_ = false, init_ = false, drawn_ = false;
  long long last_ms_ = 0;
};

std::string HumanBytes(double bytes);

}  // namespace shoal::cli
