// Runs and their tasks: one task per (run, host), each with its result once known, and the
// output chunks nodes streamed for it. Persisted through the group-committing Store.
//
// Memory holds only unfinished runs (and their tasks), so the planner's size follows what is
// in flight, not its history. A run that finishes (Finish) gets its final status written into
// its record; once that commit is durable it leaves memory, and it is read back from LMDB on
// demand (ReadStored). Load() restores the unfinished runs after a restart and indexes the
// finished ones for retention (planner/run_pruner.h).
//
// De-duplication: a task's result is recorded once (a resent result is ignored); an output
// chunk is keyed by (task, seq), so a resent chunk overwrites itself with the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "planner/store.h"
#include "proto/control.capnp.h"

namespace shoal::planner {

struct Task {
  uint64_t id = 0, run_id = 0;
  std::string host;
  uint32_t step = 0;  // job runs: which step (planner/jobs/rollout.h); ad-hoc runs: 0
  bool done = false;
  bool ok = false;
  bool sent = false;   // --wait-offline runs: it reached its host, so it never fails as offline
  std::string result;  // encoded TaskResult message when done
};

struct Run {
  uint64_t id = 0;
  std::string who;
  int64_t created_ms = 0;
  std::vector<std::string> targets;
  // Encoded TaskSpec templates by step: an ad-hoc run has one (step 0) sent to every host; a
  // job run has one per step of its job (planner/job_plan.h).
  std::map<uint32_t, std::string> specs;
  bool job = false;        // a job run (planner/job_runs.h)
  std::string job_record;  // read back from LMDB only: the encoded JobRecord to rebuild it from
  std::vector<uint64_t> task_ids;
  uint64_t first_task_id = 0;  // no task of the run has a lower id
  uint32_t done = 0, ok = 0;
  std::string command;         // a one-line summary for listings
  int64_t wait_until_ms = 0;   // ad-hoc --wait-offline: offline hosts' tasks wait until then
  uint64_t bytes = 0;          // about how many bytes of LMDB it holds (the retention size cap)
  bool finishing = false;      // Finish() was called: it leaves memory once that is durable
  bool is_job() const { return job; }
};

// A run read back from LMDB (a finished one is nowhere else).
struct StoredRun {
  Run run;                         // task_ids, counts and command filled
  int64_t finished_ms = 0;         // 0: not finished when last committed
  std::string summary;             // encoded RunStatus without results (finished runs)
  std::map<uint64_t, Task> tasks;  // only when read with tasks
};

class RunStore {
 public:
  explicit RunStore(Store& store) : store_(store) {}
  Status Load();

  // Creates a run with one task per host and persists it. `wait_until_ms` > 0: tasks of hosts
  // that are offline wait for them until then (planner/offline_wait.h).
  Run& Create(const std::string& who, std::vector<std::string> targets, std::string spec,
              const std::vector<std::string>& hosts, int64_t wait_until_ms = 0);
  // Creates a job run (no tasks yet: its rollout adds them) and persists it with `job` (its
  // plan); `specs` are the step templates (kept in memory, rebuilt from the record on Load).
  Run& CreateJob(const std::string& who, std::vector<std::string> targets, std::string summary,
                 proto::JobRecord::Reader job, std::map<uint32_t, std::string> specs);
  // Adds a task for `step` on `host` to a run, persisted with the next commit.
  Task& AddTask(Run& run, const std::string& host, uint32_t step);
  // A job run's mutable position (an encoded RunHeader), kept apart from the run record.
  void SaveHeader(uint64_t run_id, std::string header);
  Result<std::string> LoadHeader(uint64_t run_id) const;

  // Unfinished runs and their tasks (memory only; nullptr for a finished or unknown one).
  Run* FindRun(uint64_t id);
  const Run* FindRun(uint64_t id) const;
  Task* FindTask(uint64_t id);
  const Task* FindTask(uint64_t id) const;
  // Tasks of `host` without a result (to resend when it reconnects).
  std::vector<uint64_t> Unfinished(const std::string& host) const;
  // The same for every host at once: host -> its tasks without a result.
  const std::map<std::string, std::set<uint64_t>>& unfinished_by_host() const {
    return unfinished_;
  }

  // Records a task's result. Returns false if the task is unknown or already has one. The last
  // result of an ad-hoc run finishes it.
  bool RecordResult(uint64_t task_id, proto::TaskResult::Reader result);
  // Records a result the planner decided itself, ended now (the host never reported: offline,
  // skipped, lost), as RecordResult does. `recorded`, if set, sees it once it is recorded.
  bool Settle(uint64_t task_id, proto::TaskEnd end, const std::string& why,
              const std::function<void(proto::TaskResult::Reader)>& recorded = {});
  // A --wait-offline run's task went to its host: remembered durably, so that the wait's end
  // (or a restart) never reports it offline.
  void MarkSent(Task& task);
  void RecordOutput(uint64_t task_id, uint8_t stream, uint64_t seq, capnp::Data::Reader data);

  // Output chunks of a task with seq >= from_seq, up to about `max_bytes`.
  struct Chunk {
    uint8_t stream;
    uint64_t seq;
    std::string data;
  };
  Result<std::vector<Chunk>> ReadOutput(uint64_t task_id, uint64_t from_seq, size_t max_bytes,
                                        bool* more) const;

  // The run is over: `summary` (an encoded RunStatus without results) and its task list go into
  // its record; once that commit is durable the run and its tasks leave memory and
  // `on_evicted` runs. Ad-hoc runs finish by themselves; JobRuns finishes job runs.
  void Finish(uint64_t run_id, std::string summary, std::function<void()> on_evicted = {});
  // Reads a run's record from LMDB: with_tasks also reads its tasks (only those of `host` when
  // not empty). Error: no such run (never stored, or pruned).
  Result<StoredRun> ReadStored(uint64_t run_id, bool with_tasks, std::string_view host = {}) const;

  // Ids of the newest `n` runs, unfinished or stored, newest first.
  std::vector<uint64_t> RecentIds(size_t n) const;
  // Finished runs still stored, oldest first (for retention).
  struct Finished {
    int64_t finished_ms = 0;
    uint64_t bytes = 0;
  };
  const std::map<uint64_t, Finished>& finished() const { return finished_; }
  // The run was pruned from LMDB.
  void Forget(uint64_t run_id) { finished_.erase(run_id); }
  // Runs a callback whenever a finished run has left memory (the pruner checks its byte cap).
  void OnFinished(std::function<void()> fn) { on_finished_ = std::move(fn); }
  // The unfinished runs (the only ones in memory).
  const std::map<uint64_t, Run>& runs() const { return runs_; }

  // A run's status; results per task when asked. Unfinished runs from memory; for a stored one
  // the counts come from its summary and the results from the tasks read with it.
  void FillStatus(const Run& run, bool with_results, proto::RunStatus::Builder out) const;
  static void FillStatus(const StoredRun& stored, bool with_results, proto::RunStatus::Builder out);

 private:
  using TaskLookup = std::function<const Task*(uint64_t)>;
  static void FillFrom(const Run& run, const TaskLookup& find, bool with_results,
                       proto::RunStatus::Builder out);
  // The RunRecord fields every run has, then `fill`'s, written with the next commit.
  void PersistRun(Run& run, const std::function<void(proto::RunRecord::Builder)>& fill);
  void PersistTask(const Task& task);
  void Evict(uint64_t run_id, int64_t finished_ms);

  Store& store_;
  std::map<uint64_t, Run> runs_;
  std::map<uint64_t, Task> tasks_;
  std::map<std::string, std::set<uint64_t>> unfinished_;
  std::map<uint64_t, Finished> finished_;
  std::function<void()> on_finished_;
  uint64_t next_run_ = 1, next_task_ = 1;
};

std::string OutputKey(uint64_t task_id, uint64_t seq);
// Where a job run's header is kept (in the meta database).
std::string RunHeaderKey(uint64_t run_id);

}  // namespace shoal::planner
