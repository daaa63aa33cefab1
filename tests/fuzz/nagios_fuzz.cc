// libFuzzer target: Nagios plugin output (the last line of an untrusted executable's stdout) and
// threshold ranges. Any input must yield a value or an Error, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "node/agent/nagios.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view line = shoal::node::LastLine(input);
  for (int exit_code : {0, 2, 255}) {
    auto parsed = shoal::node::ParsePluginLine(line, exit_code);
    if (parsed.ok()) {
      for (const auto& d : parsed->perf) {
        if (!d.warn.empty()) (void)shoal::node::Range::Parse(d.warn);
        if (!d.crit.empty()) (void)shoal::node::Range::Parse(d.crit);
      }
    }
  }
  (void)shoal::node::ParsePluginLine(input, std::nullopt);
  if (auto range = shoal::node::Range::Parse(input); range.ok()) (void)range->Alerts(1.0);
  return 0;
}
