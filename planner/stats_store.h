// Recent stats per host: the last kSlots reports of each source (built-ins, each plugin) in
// LMDB, a ring per (host, source). The registry keeps the latest built-in metrics and the open
// problems (sources or metrics not OK) for `shoal hosts`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "planner/registry.h"
#include "planner/store.h"
#include "proto/control.capnp.h"

namespace shoal::planner {

class StatsStore {
 public:
  static constexpr uint32_t kSlots = 64;
  explicit StatsStore(Store& store) : store_(store) {}

  void Record(Host& host, proto::StatsReport::Reader report);
  // The stored reports of `host`, oldest first (encoded StatsReport messages).
  Result<std::vector<std::string>> Recent(const std::string& host) const;

 private:
  Store& store_;
  std::map<std::string, uint32_t> next_slot_;  // host\0source -> ring position
};

}  // namespace shoal::planner
