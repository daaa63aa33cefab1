// Idempotent run requests: the request ids clients chose for `run`, `apply` and `rerun`, each
// with the run it started. A client whose connection dropped before the planner's reply sends
// the same request (same id) again and gets the run that was started, never a second run.
//
// An id is stored in the same group commit as the run it started (both are queued in one turn
// of the event loop), so after a crash either both exist or neither does. Ids are kept for
// kKeepMs (far longer than any client retries) and dropped at start-up once older, or once their
// run is gone (pruned).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "planner/store.h"

namespace shoal::planner {

class RequestIds {
 public:
  static constexpr int64_t kKeepMs = int64_t{7} * 24 * 3600 * 1000;
  static constexpr size_t kMaxIdBytes = 64;

  explicit RequestIds(Store& store) : store_(store) {}
  // Reads the stored ids; drops those older than kKeepMs or whose run `exists` denies.
  Status Load(int64_t now_ms, const std::function<bool(uint64_t run_id)>& exists);

  // The run that request `id` started, if any.
  std::optional<uint64_t> Find(const std::string& id) const;
  // Remembers that `id` started `run_id`; persisted with the current turn's commit.
  // REQUIRES: id is not empty, at most kMaxIdBytes.
  void Remember(const std::string& id, uint64_t run_id, int64_t now_ms);

 private:
  Store& store_;
  std::map<std::string, uint64_t> runs_;
};

}  // namespace shoal::planner
