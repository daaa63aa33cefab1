// Runs and their tasks: one task per (run, host), each with its result once known, and the
// output chunks nodes streamed for it. Everything is in memory for fast fan-out and persisted
// through the group-committing Store; Load() restores it after a restart.
//
// De-duplication: a task's result is recorded once (a resent result is ignored); an output
// chunk is keyed by (task, seq), so a resent chunk overwrites itself with the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
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
  std::string job;  // job runs: the encoded JobRecord (file, pins, plan); empty for ad-hoc runs
  std::vector<uint64_t> task_ids;
  uint32_t done = 0, ok = 0;
  std::string command;  // a one-line summary for listings
  bool is_job() const { return !job.empty(); }
};

class RunStore {
 public:
  explicit RunStore(Store& store) : store_(store) {}
  Status Load();

  // Creates a run with one task per host and persists it.
  Run& Create(const std::string& who, std::vector<std::string> targets, std::string spec,
              const std::vector<std::string>& hosts);
  // Creates a job run (no tasks yet: its rollout adds them) and persists it. `job_record` is an
  // encoded JobRecord; `specs` the step templates (kept in memory, rebuilt from the record).
  Run& CreateJob(const std::string& who, std::vector<std::string> targets, std::string summary,
                 std::string job_record, std::map<uint32_t, std::string> specs);
  // Adds a task for `step` on `host` to a run, persisted with the next commit.
  Task& AddTask(Run& run, const std::string& host, uint32_t step);
  // A job run's mutable position (an encoded RunHeader), kept apart from the run record.
  void SaveHeader(uint64_t run_id, std::string header);
  Result<std::string> LoadHeader(uint64_t run_id) const;
  Run* FindRun(uint64_t id);
  Task* FindTask(uint64_t id);
  // Tasks of `host` without a result (to resend when it reconnects).
  std::vector<uint64_t> Unfinished(const std::string& host) const;

  // Records a task's result. Returns false if the task is unknown or already has one.
  bool RecordResult(uint64_t task_id, proto::TaskResult::Reader result);
  void RecordOutput(uint64_t task_id, uint8_t stream, uint64_t seq, capnp::Data::Reader data);

  // Output chunks of a task with seq >= from_seq, up to about `max_bytes`.
  struct Chunk {
    uint8_t stream;
    uint64_t seq;
    std::string data;
  };
  Result<std::vector<Chunk>> ReadOutput(uint64_t task_id, uint64_t from_seq, size_t max_bytes,
                                        bool* more);

  const std::map<uint64_t, Run>& runs() const { return runs_; }
  void FillStatus(const Run& run, bool with_results, proto::RunStatus::Builder out) const;

 private:
  void PersistTask(const Task& task);
  Store& store_;
  std::map<uint64_t, Run> runs_;
  std::map<uint64_t, Task> tasks_;
  std::map<std::string, std::set<uint64_t>> unfinished_;
  uint64_t next_run_ = 1, next_task_ = 1;
};

std::string OutputKey(uint64_t task_id, uint64_t seq);

}  // namespace shoal::planner
