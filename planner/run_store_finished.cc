// RunStore's finished runs: finishing one (its final status into its record, then out of
// memory), and reading one back from LMDB.
#include <capnp/message.h>

#include "core/log.h"
#include "planner/run_records.h"
#include "planner/run_store.h"

namespace shoal::planner {

void RunStore::Finish(uint64_t run_id, std::string summary, std::function<void()> on_evicted) {
  Run* run = FindRun(run_id);
  if (!run || run->finishing) return;
  run->finishing = true;
  const int64_t now = NowMs();
  std::vector<uint64_t> job_tasks;  // an ad-hoc run's record lists its tasks from the start
  if (run->job) job_tasks = run->task_ids;
  // Read-modify-write inside the commit: the record written by Create is in this transaction
  // or an earlier one, never lost to a race.
  store_.Write(
      [this, run_id, now, bytes = run->bytes, summary = std::move(summary),
       job_tasks = std::move(job_tasks)](lmdb::Txn& txn) -> Status {
        const std::string key = lmdb::EncodeU64Key(run_id);
        auto old = txn.Get(store_.dbs().runs, key);
        auto frame = old ? FromBytes(*old) : Result<std::unique_ptr<Frame>>(Error{"no record"});
        auto status = FromBytes(summary);
        if (!frame || !status) {
          SHOAL_LOG(Error) << "run " << run_id << ": cannot store its end: "
                           << (frame ? status.error().message : frame.error().message);
          return Status::Ok();  // it stays listed as unfinished; nothing else is at stake
        }
        capnp::MallocMessageBuilder record;
        auto copied = ReadSafely([&] {
          record.setRoot((*frame)->Root<proto::RunRecord>());
          auto r = record.getRoot<proto::RunRecord>();
          if (!job_tasks.empty()) {
            auto list = r.initTaskIds(job_tasks.size());
            for (size_t i = 0; i < job_tasks.size(); ++i) list.set(i, job_tasks[i]);
          }
          r.setFinishedMs(now);
          r.setSummary((*status)->Root<proto::RunStatus>());
          r.setDataBytes(bytes);
          return true;
        });
        if (!copied) {
          SHOAL_LOG(Error) << "run " << run_id << ": " << copied.error().message;
          return Status::Ok();
        }
        return txn.Put(store_.dbs().runs, key, FlatMessageBytes(record));
      },
      [this, run_id, now, on_evicted = std::move(on_evicted)] {
        Evict(run_id, now);
        if (on_evicted) on_evicted();
        if (on_finished_) on_finished_();
      });
}

void RunStore::Evict(uint64_t run_id, int64_t finished_ms) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  for (uint64_t id : it->second.task_ids) {
    auto t = tasks_.find(id);
    if (t == tasks_.end()) continue;
    if (auto u = unfinished_.find(t->second.host); u != unfinished_.end()) {
      u->second.erase(id);
      if (u->second.empty()) unfinished_.erase(u);
    }
    tasks_.erase(t);
  }
  finished_[run_id] = Finished{finished_ms, it->second.bytes};
  runs_.erase(it);
}

Result<StoredRun> RunStore::ReadStored(uint64_t run_id, bool with_tasks,
                                       std::string_view host) const {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  auto value = txn->Get(store_.dbs().runs, lmdb::EncodeU64Key(run_id));
  if (!value) return Error{"no such run " + std::to_string(run_id)};
  auto frame = FromBytes(*value);
  if (!frame) return frame.error();
  StoredRun s;
  std::map<uint64_t, Task> listed;  // an ad-hoc run's hosts, from its record
  auto read = ReadSafely([&] {
    auto r = (*frame)->Root<proto::RunRecord>();
    s.run = RunFromRecord(r, with_tasks ? &listed : nullptr);
    s.finished_ms = r.getFinishedMs();
    if (r.hasSummary()) {
      capnp::MallocMessageBuilder summary;
      summary.setRoot(r.getSummary());
      s.summary = FlatMessageBytes(summary);
    }
    return true;
  });
  if (!read) return read.error();
  if (!with_tasks) return s;
  for (uint64_t id : s.run.task_ids) {
    auto l = listed.find(id);
    if (!host.empty() && l != listed.end() && l->second.host != host) continue;
    auto v = txn->Get(store_.dbs().tasks, lmdb::EncodeU64Key(id));
    if (!v) {
      if (l != listed.end()) s.tasks[id] = l->second;
      continue;
    }
    auto tf = FromBytes(*v);
    if (!tf) continue;
    auto t = ReadSafely([&] { return TaskFromRecord(id, (*tf)->Root<proto::TaskRecord>()); });
    if (!t || (!host.empty() && t->host != host)) continue;
    s.tasks[id] = std::move(*t);
  }
  return s;
}

}  // namespace shoal::planner
