#include "planner/run_pruner.h"

#include <algorithm>
#include <chrono>

#include "core/log.h"

namespace shoal::planner {

namespace {
// With nothing due, look again this often (a run ages past the retention without any event).
int64_t IdlePeriodMs(int64_t keep_ms) { return std::clamp<int64_t>(keep_ms / 10, 1000, 60'000); }
}  // namespace

RunPruner::RunPruner(boost::asio::io_context& io, Store& store, RunStore& runs, Options options)
    : store_(store), runs_(runs), options_(options), timer_(io) {}

void RunPruner::Start() {
  stopped_ = false;
  ScheduleIn(0);
}

void RunPruner::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void RunPruner::Poke() {
  if (!busy_ && !victim_ && !stopped_) ScheduleIn(0);
}

void RunPruner::ScheduleIn(int64_t ms) {
  timer_.cancel();
  timer_.expires_after(std::chrono::milliseconds(ms));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) Step();
  });
}

uint64_t RunPruner::UsedBytes() const {
  auto txn = store_.env().BeginRead();
  if (!txn) return 0;
  const Dbs& dbs = store_.dbs();
  return txn->UsedBytes(dbs.runs) + txn->UsedBytes(dbs.tasks) + txn->UsedBytes(dbs.output);
}

std::optional<uint64_t> RunPruner::NextVictim() const {
  const auto& finished = runs_.finished();
  if (finished.empty()) return std::nullopt;
  const int64_t cutoff = NowMs() - options_.keep_ms;
  // ids grow with age: the oldest due comes first.
  if (finished.begin()->second.finished_ms < cutoff) return finished.begin()->first;
  for (const auto& [id, f] : finished) {
    if (f.finished_ms < cutoff) return id;  // (a run that finished out of order)
  }
  if (options_.keep_bytes > 0 && UsedBytes() > options_.keep_bytes) {
    return finished.begin()->first;
  }
  return std::nullopt;
}

void RunPruner::Step() {
  if (busy_ || stopped_) return;
  if (!victim_) {
    auto id = NextVictim();
    if (!id) {
      ScheduleIn(IdlePeriodMs(options_.keep_ms));
      return;
    }
    auto stored = runs_.ReadStored(*id, false);
    if (!stored) {  // gone already (e.g. pruned before a restart finished the job)
      runs_.Forget(*id);
      ScheduleIn(0);
      return;
    }
    victim_ = Victim{*id, std::move(stored->run.task_ids), 0};
  }
  busy_ = true;
  auto done = std::make_shared<bool>(false);
  store_.Write(
      [this, done](lmdb::Txn& txn) -> Status {
        auto gone = DeleteBatch(txn);
        if (!gone) return gone.error();
        *done = *gone;
        return Status::Ok();
      },
      [this, done] {
        busy_ = false;
        if (*done && victim_) {
          SHOAL_LOG(Info) << "pruned run " << victim_->run_id << " (" << victim_->task_ids.size()
                          << " tasks)";
          runs_.Forget(victim_->run_id);
          ++pruned_runs_;
          victim_.reset();
        }
        // Yield to the loop between batches; the next one joins a later commit.
        if (!stopped_) ScheduleIn(0);
      });
}

Result<bool> RunPruner::DeleteBatch(lmdb::Txn& txn) {
  Victim& v = *victim_;
  const Dbs& dbs = store_.dbs();
  size_t budget = options_.batch_keys;
  std::vector<std::string> keys;
  while (v.next < v.task_ids.size() && budget > 0) {
    const uint64_t task_id = v.task_ids[v.next];
    const std::string prefix = lmdb::EncodeU64Key(task_id);
    keys.clear();
    // Collect first, delete after: no deletes under an open scan's cursor.
    txn.Scan(dbs.output, prefix, [&](std::string_view key, std::string_view) {
      if (key.size() != 16 || key.substr(0, 8) != prefix || keys.size() >= budget) return false;
      keys.emplace_back(key);
      return true;
    });
    for (const auto& k : keys) {
      if (auto r = txn.Del(dbs.output, k); !r) return r.error();
    }
    budget -= keys.size();
    if (budget == 0) break;  // this task may have more output: it is finished next batch
    if (auto r = txn.Del(dbs.tasks, prefix); !r) return r.error();
    --budget;
    ++v.next;
  }
  if (v.next < v.task_ids.size()) return false;
  if (auto r = txn.Del(dbs.meta, RunHeaderKey(v.run_id)); !r) return r.error();
  if (auto r = txn.Del(dbs.runs, lmdb::EncodeU64Key(v.run_id)); !r) return r.error();
  return true;
}

}  // namespace shoal::planner
