#include "planner/offline_wait.h"

#include <chrono>
#include <vector>

#include "core/log.h"

namespace shoal::planner {

void OfflineWait::Load() {
  for (const auto& [id, run] : runs_.runs()) {
    if (!run.is_job() && run.wait_until_ms > 0) deadlines_.emplace(run.wait_until_ms, id);
  }
  Rearm();
}

void OfflineWait::Watch(uint64_t run_id, int64_t until_ms) {
  deadlines_.emplace(until_ms, run_id);
  Rearm();
}

void OfflineWait::Rearm() {
  timer_.cancel();
  if (deadlines_.empty()) return;
  const int64_t delay = std::max<int64_t>(deadlines_.begin()->first - NowMs(), 0);
  timer_.expires_after(std::chrono::milliseconds(delay));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const int64_t now = NowMs();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      uint64_t run_id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      Expire(run_id);
    }
    Rearm();
  });
}

void OfflineWait::Expire(uint64_t run_id) {
  const Run* run = runs_.FindRun(run_id);
  if (!run) return;  // finished: every host came
  const std::vector<uint64_t> ids = run->task_ids;
  uint32_t failed = 0;
  for (uint64_t id : ids) {
    const Task* t = runs_.FindTask(id);
    if (!t || t->done || t->sent) continue;
    runs_.Settle(id, proto::TaskEnd::OFFLINE, "host offline for the whole --wait-offline wait");
    ++failed;
  }
  if (failed > 0) {
    SHOAL_LOG(Info) << "run " << run_id << ": the wait for offline hosts is over, " << failed
                    << " never registered";
  }
}

}  // namespace shoal::planner
