#include "planner/lost_tasks.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/log.h"

namespace shoal::planner {

size_t LostTasks::Sweep(int64_t now_ms) {
  if (lost_after_ms_ <= 0) return 0;
  // Collect first: recording a result changes the index being walked.
  std::vector<std::pair<uint64_t, int64_t>> lost;  // task, offline since
  for (const auto& [name, ids] : runs_.unfinished_by_host()) {
    const Host* h = registry_.Find(name);
    if (h && h->online) continue;
    const int64_t since = std::max(h ? h->last_seen_ms : 0, started_ms_);
    if (now_ms - since < lost_after_ms_) continue;
    for (uint64_t id : ids) {
      const Task* t = runs_.FindTask(id);
      if (!t || t->done) continue;
      const Run* run = runs_.FindRun(t->run_id);
      if (!run) continue;
      // A --wait-offline run's task that never went out is OfflineWait's to end.
      if (!run->is_job() && run->wait_until_ms > 0 && !t->sent) continue;
      lost.emplace_back(id, since);
    }
  }
  for (const auto& [id, since] : lost) {
    const Task* t = runs_.FindTask(id);
    if (!t || t->done) continue;
    const std::string host = t->host;
    const uint64_t run_id = t->run_id;
    SHOAL_LOG(Warn) << "run " << run_id << ": host " << host << " lost with task " << id
                    << " in flight (offline " << (now_ms - since) / 1000 << " s)";
    runs_.Settle(id, proto::TaskEnd::LOST,
                 "host offline for " + std::to_string((now_ms - since) / 1000) +
                     " s with the task in flight (--lost-after): no result",
                 [&](proto::TaskResult::Reader r) {
                   const Task* done = runs_.FindTask(id);
                   if (done && job_runs_.IsJob(run_id)) job_runs_.OnResult(*done, r);
                 });
  }
  return lost.size();
}

}  // namespace shoal::planner
