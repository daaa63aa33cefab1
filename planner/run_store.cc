#include "planner/run_store.h"

#include <capnp/message.h>

#include "core/log.h"
#include "planner/run_records.h"

namespace shoal::planner {

std::string OutputKey(uint64_t task_id, uint64_t seq) {
  return lmdb::EncodeU64Key(task_id) + lmdb::EncodeU64Key(seq);
}

std::string RunHeaderKey(uint64_t run_id) { return "run-header/" + lmdb::EncodeU64Key(run_id); }

Status RunStore::Load() {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  // Only unfinished runs come into memory; their tasks are the ones from the lowest first task
  // id on (task ids only grow), so a restart does not read the whole history of tasks.
  uint64_t scan_from = UINT64_MAX;
  txn->Scan(store_.dbs().runs, "", [&](std::string_view, std::string_view value) {
    auto frame = FromBytes(value);
    if (!frame) return true;
    auto read = ReadSafely([&] {
      auto r = (*frame)->Root<proto::RunRecord>();
      const uint64_t id = r.getRunId();
      next_run_ = std::max(next_run_, id + 1);
      auto ids = r.getTaskIds();
      if (ids.size() > 0) next_task_ = std::max(next_task_, ids[ids.size() - 1] + 1);
      next_task_ = std::max(next_task_, r.getFirstTaskId());
      if (r.getFinishedMs() != 0) {
        finished_[id] = Finished{r.getFinishedMs(), r.getDataBytes()};
        return true;
      }
      Run run = RunFromRecord(r, &tasks_);
      run.bytes = value.size();
      for (uint64_t t : run.task_ids) unfinished_[tasks_[t].host].insert(t);
      // A job run's tasks are added as it goes: only the task records list them.
      uint64_t first = run.job ? run.first_task_id
                               : (run.task_ids.empty() ? UINT64_MAX : run.task_ids.front());
      scan_from = std::min(scan_from, first);
      runs_[id] = std::move(run);
      return true;
    });
    if (!read) SHOAL_LOG(Warn) << "skipping an unreadable run record: " << read.error().message;
    return true;
  });
  if (scan_from != UINT64_MAX) {
    txn->Scan(store_.dbs().tasks, lmdb::EncodeU64Key(scan_from),
              [&](std::string_view key, std::string_view value) {
                const uint64_t id = lmdb::DecodeU64Key(key);
                next_task_ = std::max(next_task_, id + 1);
                auto frame = FromBytes(value);
                if (!frame) return true;
                auto task = ReadSafely(
                    [&] { return TaskFromRecord(id, (*frame)->Root<proto::TaskRecord>()); });
                if (!task) return true;
                auto run = runs_.find(task->run_id);
                if (run == runs_.end()) return true;  // a finished run's
                Run& r = run->second;
                auto it = tasks_.find(id);
                if (it == tasks_.end()) {
                  if (!r.job) return true;
                  r.task_ids.push_back(id);
                  unfinished_[task->host].insert(id);
                  it = tasks_.emplace(id, Task{}).first;
                }
                it->second = std::move(*task);
                r.bytes += value.size();
                if (it->second.done) {
                  ++r.done;
                  if (it->second.ok) ++r.ok;
                  unfinished_[it->second.host].erase(id);
                }
                return true;
              });
  }
  // Ad-hoc runs with every result in: stored before runs were finished (an older planner).
  std::vector<uint64_t> done;
  for (const auto& [id, run] : runs_) {
    if (!run.job && run.done == run.task_ids.size()) done.push_back(id);
  }
  for (uint64_t id : done) {
    capnp::MallocMessageBuilder status;
    FillStatus(runs_.at(id), false, status.initRoot<proto::RunStatus>());
    Finish(id, FlatMessageBytes(status));
  }
  return Status::Ok();
}

void RunStore::PersistRun(Run& run, const std::function<void(proto::RunRecord::Builder)>& fill) {
  capnp::MallocMessageBuilder record;
  auto r = record.initRoot<proto::RunRecord>();
  r.setRunId(run.id);
  r.setWho(run.who);
  r.setCreatedMs(run.created_ms);
  auto tl = r.initTargets(run.targets.size());
  for (size_t i = 0; i < run.targets.size(); ++i) tl.set(i, run.targets[i]);
  r.setFirstTaskId(run.first_task_id);
  r.setWaitOfflineUntilMs(run.wait_until_ms);
  fill(r);
  std::string bytes = FlatMessageBytes(record);
  run.bytes += bytes.size();
  store_.Write([this, id = run.id, bytes = std::move(bytes)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().runs, lmdb::EncodeU64Key(id), bytes);
  });
}

Run& RunStore::Create(const std::string& who, std::vector<std::string> targets, std::string spec,
                      const std::vector<std::string>& hosts, int64_t wait_until_ms) {
  Run& run = runs_[next_run_];
  run.id = next_run_++;
  run.who = who;
  run.created_ms = NowMs();
  run.targets = std::move(targets);
  run.specs[0] = std::move(spec);
  run.first_task_id = next_task_;
  run.wait_until_ms = wait_until_ms;
  for (const std::string& host : hosts) {
    Task& t = tasks_[next_task_];
    t.id = next_task_++;
    t.run_id = run.id;
    t.host = host;
    run.task_ids.push_back(t.id);
    unfinished_[t.host].insert(t.id);
  }
  PersistRun(run, [&](proto::RunRecord::Builder r) {
    if (auto frame = FromBytes(run.specs[0]); frame) {
      (void)ReadSafely([&] {
        auto t = (*frame)->Root<proto::TaskSpec>();
        r.setTask(t);
        run.command = t.getStoredScript().size() ? std::string(t.getStoredScript())
                                                 : std::string(t.getBody());
        return true;
      });
    }
    auto hl = r.initHosts(hosts.size());
    auto il = r.initTaskIds(hosts.size());
    for (size_t i = 0; i < hosts.size(); ++i) {
      hl.set(i, hosts[i]);
      il.set(i, run.task_ids[i]);
    }
  });
  return run;
}

Run& RunStore::CreateJob(const std::string& who, std::vector<std::string> targets,
                         std::string summary, proto::JobRecord::Reader job,
                         std::map<uint32_t, std::string> specs) {
  Run& run = runs_[next_run_];
  run.id = next_run_++;
  run.who = who;
  run.created_ms = NowMs();
  run.targets = std::move(targets);
  run.job = true;
  run.specs = std::move(specs);
  run.first_task_id = next_task_;
  run.command = "job " + summary;
  PersistRun(run, [&](proto::RunRecord::Builder r) {
    r.initTask().setBody(summary);
    r.setJob(job);
  });
  return run;
}

Task& RunStore::AddTask(Run& run, const std::string& host, uint32_t step) {
  Task& t = tasks_[next_task_];
  t.id = next_task_++;
  t.run_id = run.id;
  t.host = host;
  t.step = step;
  run.task_ids.push_back(t.id);
  unfinished_[host].insert(t.id);
  PersistTask(t);
  return t;
}

void RunStore::SaveHeader(uint64_t run_id, std::string header) {
  store_.Write([this, key = RunHeaderKey(run_id), header = std::move(header)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().meta, key, header);
  });
}

Result<std::string> RunStore::LoadHeader(uint64_t run_id) const {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  auto value = txn->Get(store_.dbs().meta, RunHeaderKey(run_id));
  if (!value) return Error{"run " + std::to_string(run_id) + ": no header"};
  return std::string(*value);
}

Run* RunStore::FindRun(uint64_t id) {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : &it->second;
}

const Run* RunStore::FindRun(uint64_t id) const {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : &it->second;
}

Task* RunStore::FindTask(uint64_t id) {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

const Task* RunStore::FindTask(uint64_t id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<uint64_t> RunStore::Unfinished(const std::string& host) const {
  auto it = unfinished_.find(host);
  if (it == unfinished_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

bool RunStore::RecordResult(uint64_t task_id, proto::TaskResult::Reader result) {
  Task* t = FindTask(task_id);
  if (!t || t->done) return false;
  capnp::MallocMessageBuilder message;
  message.setRoot(result);
  t->result = FlatMessageBytes(message);
  t->done = true;
  t->ok = ResultOk(result);
  Run& run = runs_[t->run_id];
  ++run.done;
  if (t->ok) ++run.ok;
  if (auto u = unfinished_.find(t->host); u != unfinished_.end()) {
    u->second.erase(task_id);
    if (u->second.empty()) unfinished_.erase(u);
  }
  PersistTask(*t);
  if (!run.job && run.done == run.task_ids.size()) {
    capnp::MallocMessageBuilder status;
    FillStatus(run, false, status.initRoot<proto::RunStatus>());
    Finish(run.id, FlatMessageBytes(status));
  }
  return true;
}

bool RunStore::Settle(uint64_t task_id, proto::TaskEnd end, const std::string& why,
                      const std::function<void(proto::TaskResult::Reader)>& recorded) {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<proto::TaskResult>();
  r.setTaskId(task_id);
  r.setEnd(end);
  r.setError(why);
  r.setEndedMs(NowMs());
  if (!RecordResult(task_id, r.asReader())) return false;
  if (recorded) recorded(r.asReader());
  return true;
}

void RunStore::MarkSent(Task& task) {
  if (task.sent) return;
  task.sent = true;
  PersistTask(task);
}

void RunStore::PersistTask(const Task& t) {
  capnp::MallocMessageBuilder record;
  TaskToRecord(t, record.initRoot<proto::TaskRecord>());
  std::string bytes = FlatMessageBytes(record);
  if (Run* run = FindRun(t.run_id)) run->bytes += bytes.size();
  store_.Write([this, id = t.id, bytes = std::move(bytes)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().tasks, lmdb::EncodeU64Key(id), bytes);
  });
}

void RunStore::RecordOutput(uint64_t task_id, uint8_t stream, uint64_t seq,
                            capnp::Data::Reader data) {
  const Task* t = FindTask(task_id);
  if (!t) return;
  std::string value(1, static_cast<char>(stream));
  value.append(reinterpret_cast<const char*>(data.begin()), data.size());
  if (Run* run = FindRun(t->run_id)) run->bytes += 16 + value.size();
  store_.Write([this, key = OutputKey(task_id, seq), value = std::move(value)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().output, key, value);
  });
}

Result<std::vector<RunStore::Chunk>> RunStore::ReadOutput(uint64_t task_id, uint64_t from_seq,
                                                          size_t max_bytes, bool* more) const {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  std::vector<Chunk> out;
  size_t total = 0;
  *more = false;
  std::string prefix = lmdb::EncodeU64Key(task_id);
  txn->Scan(store_.dbs().output, OutputKey(task_id, from_seq),
            [&](std::string_view key, std::string_view value) {
              if (key.size() != 16 || key.substr(0, 8) != prefix || value.empty()) return false;
              if (total + value.size() > max_bytes && !out.empty()) {
                *more = true;
                return false;
              }
              total += value.size();
              out.push_back({static_cast<uint8_t>(value[0]), lmdb::DecodeU64Key(key.substr(8)),
                             std::string(value.substr(1))});
              return true;
            });
  return out;
}

std::vector<uint64_t> RunStore::RecentIds(size_t n) const {
  std::vector<uint64_t> out;
  auto a = runs_.rbegin();
  auto b = finished_.rbegin();
  while (out.size() < n && (a != runs_.rend() || b != finished_.rend())) {
    if (b == finished_.rend() || (a != runs_.rend() && a->first > b->first)) {
      out.push_back((a++)->first);
    } else {
      out.push_back((b++)->first);
    }
  }
  return out;
}

void RunStore::FillStatus(const Run& run, bool with_results, proto::RunStatus::Builder out) const {
  FillFrom(run, [this](uint64_t id) { return FindTask(id); }, with_results, out);
}

void RunStore::FillStatus(const StoredRun& stored, bool with_results,
                          proto::RunStatus::Builder out) {
  FillFrom(
      stored.run,
      [&](uint64_t id) -> const Task* {
        auto it = stored.tasks.find(id);
        return it == stored.tasks.end() ? nullptr : &it->second;
      },
      with_results, out);
  // The counts (per host, for a job run) and the job's progress as they were at the end.
  auto summary = FromBytes(stored.summary);
  if (stored.summary.empty() || !summary) return;
  (void)ReadSafely([&] {
    auto s = (*summary)->Root<proto::RunStatus>();
    out.setTotal(s.getTotal());
    out.setDone(s.getDone());
    out.setOk(s.getOk());
    out.setFailed(s.getFailed());
    out.setRunning(s.getRunning());
    if (s.hasJob()) out.setJob(s.getJob());
    return true;
  });
}

void RunStore::FillFrom(const Run& run, const TaskLookup& find, bool with_results,
                        proto::RunStatus::Builder out) {
  out.setRunId(run.id);
  out.setWho(run.who);
  out.setCreatedMs(run.created_ms);
  out.setCommand(run.command.substr(0, 200));
  out.setTotal(run.task_ids.size());
  // (job runs: these counts are per task; JobRuns fills the per-host job progress)
  out.setDone(run.done);
  out.setOk(run.ok);
  out.setFailed(run.done - run.ok);
  out.setRunning(run.task_ids.size() - run.done);
  if (!with_results) return;
  std::vector<const Task*> tasks;
  for (uint64_t id : run.task_ids) {
    if (const Task* t = find(id)) tasks.push_back(t);
  }
  auto results = out.initResults(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = *tasks[i];
    results[i].setHost(t.host);
    results[i].setTaskId(t.id);
    results[i].setDone(t.done);
    if (t.done) {
      if (auto frame = FromBytes(t.result); frame) {
        (void)ReadSafely([&] {
          results[i].setResult((*frame)->Root<proto::TaskResult>());
          return true;
        });
      }
    }
  }
}

}  // namespace shoal::planner
