// Retention of finished runs: runs that finished longer ago than `keep_ms`, and the oldest
// ones while run data takes more than `keep_bytes` of LMDB, are deleted with everything that
// belongs to them (run record, tasks, output chunks, job header). Run data is what LMDB's
// pages of runs, tasks and output measure (unfinished runs included), so the cap bounds the
// database file: LMDB reuses freed pages. Unfinished runs are never pruned (they are not in
// RunStore::finished()); if they alone pass the cap, every finished run goes.
//
// Deletion runs in the background in bounded batches: each batch deletes at most `batch_keys`
// keys inside one group commit, and the next batch starts only after that commit, so pruning a
// 10,000-host run never holds LMDB's single writer (and the planner's loop) for long. A run's
// record goes last: a planner killed mid-prune finds the run again and finishes the job.
//
// The audit log has a retention of its own (--keep-audit, planner/audit.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <optional>
#include <vector>

#include "planner/run_store.h"
#include "planner/store.h"

namespace shoal::planner {

class RunPruner {
 public:
  struct Options {
    int64_t keep_ms = int64_t{30} * 24 * 3600 * 1000;  // --keep-runs 30d
    uint64_t keep_bytes = uint64_t{1} << 30;            // --keep-runs-bytes 1G (0: no cap)
    size_t batch_keys = 2000;
  };
  RunPruner(boost::asio::io_context& io, Store& store, RunStore& runs, Options options);

  // Starts the periodic check (and prunes at once if something is due).
  void Start();
  void Stop();
  // Something may be due now (a run finished): check soon rather than at the next period.
  void Poke();

  uint64_t pruned_runs() const { return pruned_runs_; }

 private:
  // Checks what is due and deletes one batch; schedules the next step.
  void Step();
  void ScheduleIn(int64_t ms);
  std::optional<uint64_t> NextVictim() const;
  // LMDB bytes of the runs, tasks and output databases (committed state).
  uint64_t UsedBytes() const;
  // Deletes up to `budget` keys of the current victim in `txn`; returns true when it is gone.
  Result<bool> DeleteBatch(lmdb::Txn& txn);

  struct Victim {
    uint64_t run_id = 0;
    std::vector<uint64_t> task_ids;
    size_t next = 0;  // tasks before this one are deleted
  };

  Store& store_;
  RunStore& runs_;
  Options options_;
  boost::asio::steady_timer timer_;
  std::optional<Victim> victim_;
  bool busy_ = false;  // a batch is queued for commit
  bool stopped_ = false;
  uint64_t pruned_runs_ = 0;
};

}  // namespace shoal::planner
