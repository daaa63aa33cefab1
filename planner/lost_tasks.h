// Tasks whose host vanished: a host that goes offline with a task in flight normally comes back
// and its outbox delivers the result (nothing is lost across a node restart). A host that never
// comes back (decommissioned, disk dead) would hold its run "running" forever. So once a host
// has been offline for `lost_after_ms`, every task it holds in flight gets a planner-made result,
// `lost`, and its run moves on (a job run counts it as that host's failure). A result that
// arrives later anyway is acknowledged (the node's outbox drains) and ignored: the run's
// outcome, and the waves decided on it, do not change after the fact.
//
// Not lost: a --wait-offline run's task that never reached its host (planner/offline_wait.h
// ends that wait), and anything of a host that is online. After a planner restart a host counts
// as offline from the restart at the earliest: the planner's own downtime is not the host's.
#pragma once

#include <cstdint>

#include "planner/job_runs.h"
#include "planner/registry.h"
#include "planner/run_store.h"

namespace shoal::planner {

class LostTasks {
 public:
  LostTasks(RunStore& runs, Registry& registry, JobRuns& job_runs, int64_t lost_after_ms,
            int64_t started_ms)
      : runs_(runs),
        registry_(registry),
        job_runs_(job_runs),
        lost_after_ms_(lost_after_ms),
        started_ms_(started_ms) {}

  // Settles the in-flight tasks of every host offline for longer than lost_after_ms. Called
  // from the planner's periodic sweep. Returns how many tasks it settled.
  size_t Sweep(int64_t now_ms);

 private:
  RunStore& runs_;
  Registry& registry_;
  JobRuns& job_runs_;
  const int64_t lost_after_ms_;
  const int64_t started_ms_;
};

}  // namespace shoal::planner
