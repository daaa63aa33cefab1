// Job runs: the planner's side of the rollout engine. Each job run has a Rollout
// (planner/jobs/rollout.h) whose Env this class implements on the planner's real parts:
// a step becomes a task in the RunStore, made durable before it is sent to its node; results
// coming back through the nodes' outboxes drive the rollout; a timer serves timed pauses and
// unreachable waits; the run's header is persisted as it changes. After a restart every job
// run is rebuilt from its stored plan, header and tasks, and carries on.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "planner/job_plan.h"
#include "planner/jobs/rollout.h"
#include "planner/registry.h"
#include "planner/run_store.h"
#include "planner/store.h"

namespace shoal::planner {

class JobRuns {
 public:
  struct Hooks {
    // Sends tasks (already durable) to their hosts; offline hosts get them when they reconnect.
    std::function<void(const Run&, const std::vector<uint64_t>&)> send;
    // Asks `host` to cancel a task.
    std::function<void(const std::string& host, uint64_t task_id)> cancel;
  };
  JobRuns(boost::asio::io_context& io, Store& store, RunStore& runs, Registry& registry,
          Hooks hooks);
  ~JobRuns();

  // Rebuilds every stored job run. New hosts are not started for `grace_ms`, so that nodes can
  // reconnect after a planner restart before an absent one counts as unreachable.
  Status Load(int64_t grace_ms);

  Result<PlannedJob> Plan(const std::string& file_name, const std::string& yaml,
                          std::vector<ArtifactPin> pins);
  // Starts a planned job; `on_durable` runs once the run is stored.
  Result<uint64_t> Apply(const std::string& who, PlannedJob planned,
                         std::function<void()> on_durable);
  // The same job again: on the hosts that failed or never ran (failed_only), or on all of them.
  Result<uint64_t> Rerun(const std::string& who, uint64_t run_id, bool failed_only,
                         std::function<void()> on_durable);
  Status Resume(const std::string& who, uint64_t run_id);
  Status Cancel(const std::string& who, uint64_t run_id);

  // A task of a job run has its result (RunStore::RecordResult accepted it).
  void OnResult(const Task& task, proto::TaskResult::Reader result);
  void OnOnline(const std::string& host);
  void OnProgress(uint64_t task_id, uint64_t done, uint64_t rate);

  bool IsJob(uint64_t run_id) const { return active_.count(run_id) != 0; }
  // Per-host counts and the job's progress (for a job run in memory), results with their step
  // and wave.
  void FillStatus(const Run& run, bool with_results, proto::RunStatus::Builder out) const;
  // The same for a finished job run read back from LMDB (with its tasks): its rollout is
  // rebuilt, frozen, from the stored plan, header and tasks.
  Status FillStored(const StoredRun& stored, bool with_results, proto::RunStatus::Builder out);
  static void FillPlan(const PlannedJob& planned, proto::PlanReply::Builder out);

 private:
  class Active;
  using TaskLookup = std::function<const Task*(uint64_t)>;
  Active* Find(uint64_t run_id);
  // A job run's Active rebuilt from its stored plan and header and its tasks (`find`). Frozen:
  // a finished run to read, which starts and writes nothing.
  Result<std::unique_ptr<Active>> Rebuild(const Run& run, const TaskLookup& find, bool frozen,
                                          int64_t hold_until_ms);
  // A finished job run from LMDB, frozen.
  Result<std::unique_ptr<Active>> Stored(uint64_t run_id);
  Error NotActive(uint64_t run_id) const;
  static void FillFrom(const Active& a, const Run& run, const TaskLookup& find, bool with_results,
                       proto::RunStatus::Builder out);
  // Finishes (RunStore::Finish) every job run whose rollout is over; its Active goes with it.
  void ReapFinished();
  Result<uint64_t> Launch(const std::string& who, PlannedJob planned,
                          std::function<void()> on_durable);
  void QueueSend(uint64_t run_id, uint64_t task_id);
  void Rearm();

  boost::asio::io_context& io_;
  Store& store_;
  RunStore& runs_;
  Registry& registry_;
  Hooks hooks_;
  std::map<uint64_t, std::unique_ptr<Active>> active_;
  std::map<uint64_t, std::vector<uint64_t>> to_send_;  // run -> tasks awaiting their commit
  bool send_scheduled_ = false;
  boost::asio::steady_timer timer_;
};

}  // namespace shoal::planner
