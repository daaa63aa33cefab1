#include "planner/run_store.h"

#include <capnp/message.h>

#include "core/log.h"

namespace shoal::planner {

std::string OutputKey(uint64_t task_id, uint64_t seq) {
  return lmdb::EncodeU64Key(task_id) + lmdb::EncodeU64Key(seq);
}

namespace {
bool ResultOk(proto::TaskResult::Reader r) {
  return r.getEnd() == proto::TaskEnd::EXITED && r.getExitCode() == 0;
}
}  // namespace

Status RunStore::Load() {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  txn->Scan(store_.dbs().runs, "", [&](std::string_view, std::string_view value) {
    auto frame = FromBytes(value);
    if (!frame) return true;
    auto read = ReadSafely([&] {
      auto r = (*frame)->Root<proto::RunRecord>();
      Run run;
      run.id = r.getRunId();
      run.who = r.getWho();
      run.created_ms = r.getCreatedMs();
      for (auto t : r.getTargets()) run.targets.emplace_back(t);
      auto task = r.getTask();
      if (r.hasJob()) {
        capnp::MallocMessageBuilder job;
        job.setRoot(r.getJob());
        run.job = FlatMessageBytes(job);
        run.command = "job " + std::string(task.getBody());
      } else {
        capnp::MallocMessageBuilder spec;
        spec.setRoot(task);
        run.specs[0] = FlatMessageBytes(spec);
        run.command = task.getStoredScript().size() ? std::string(task.getStoredScript())
                                                    : std::string(task.getBody());
      }
      auto hosts = r.getHosts();
      auto ids = r.getTaskIds();
      for (size_t i = 0; i < ids.size() && i < hosts.size(); ++i) {
        run.task_ids.push_back(ids[i]);
        Task t;
        t.id = ids[i];
        t.run_id = run.id;
        t.host = hosts[i];
        tasks_[t.id] = t;
        unfinished_[t.host].insert(t.id);
      }
      return run;
    });
    if (read) {
      next_run_ = std::max(next_run_, read->id + 1);
      runs_[read->id] = std::move(*read);
    }
    return true;
  });
  txn->Scan(store_.dbs().tasks, "", [&](std::string_view key, std::string_view value) {
    uint64_t id = lmdb::DecodeU64Key(key);
    auto frame = FromBytes(value);
    if (!frame) return true;
    auto it = tasks_.find(id);
    if (it == tasks_.end()) {
      // A job run's task: job runs add tasks as they go, so only the task record lists them.
      auto added = ReadSafely([&] {
        auto rec = (*frame)->Root<proto::TaskRecord>();
        Task t;
        t.id = id;
        t.run_id = rec.getRunId();
        t.host = rec.getHost();
        t.step = rec.getStep();
        return t;
      });
      if (!added) return true;
      auto run = runs_.find(added->run_id);
      if (run == runs_.end() || !run->second.is_job()) return true;
      run->second.task_ids.push_back(id);
      unfinished_[added->host].insert(id);
      it = tasks_.emplace(id, std::move(*added)).first;
    }
    auto ok = ReadSafely([&] {
      auto rec = (*frame)->Root<proto::TaskRecord>();
      it->second.step = rec.getStep();
      if (!rec.getDone()) return false;
      capnp::MallocMessageBuilder result;
      result.setRoot(rec.getResult());
      it->second.result = FlatMessageBytes(result);
      it->second.done = true;
      it->second.ok = ResultOk(rec.getResult());
      return true;
    });
    if (ok && *ok) {
      Run& run = runs_[it->second.run_id];
      ++run.done;
      if (it->second.ok) ++run.ok;
      unfinished_[it->second.host].erase(id);
    }
    return true;
  });
  for (auto& [id, t] : tasks_) next_task_ = std::max(next_task_, id + 1);
  return Status::Ok();
}

Run& RunStore::Create(const std::string& who, std::vector<std::string> targets, std::string spec,
                      const std::vector<std::string>& hosts) {
  Run& run = runs_[next_run_];
  run.id = next_run_++;
  run.who = who;
  run.created_ms = NowMs();
  run.targets = std::move(targets);
  run.specs[0] = std::move(spec);
  capnp::MallocMessageBuilder record;
  auto r = record.initRoot<proto::RunRecord>();
  r.setRunId(run.id);
  r.setWho(who);
  r.setCreatedMs(run.created_ms);
  auto tl = r.initTargets(run.targets.size());
  for (size_t i = 0; i < run.targets.size(); ++i) tl.set(i, run.targets[i]);
  if (auto frame = FromBytes(run.specs[0]); frame) {
    (void)ReadSafely([&] {
      auto t = (*frame)->Root<proto::TaskSpec>();
      r.setTask(t);
      run.command =
          t.getStoredScript().size() ? std::string(t.getStoredScript()) : std::string(t.getBody());
      return true;
    });
  }
  auto hl = r.initHosts(hosts.size());
  auto il = r.initTaskIds(hosts.size());
  for (size_t i = 0; i < hosts.size(); ++i) {
    Task& t = tasks_[next_task_];
    t.id = next_task_++;
    t.run_id = run.id;
    t.host = hosts[i];
    run.task_ids.push_back(t.id);
    unfinished_[t.host].insert(t.id);
    hl.set(i, hosts[i]);
    il.set(i, t.id);
  }
  std::string bytes = FlatMessageBytes(record);
  store_.Write([this, id = run.id, bytes = std::move(bytes)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().runs, lmdb::EncodeU64Key(id), bytes);
  });
  return run;
}

Run& RunStore::CreateJob(const std::string& who, std::vector<std::string> targets,
                         std::string summary, std::string job_record,
                         std::map<uint32_t, std::string> specs) {
  Run& run = runs_[next_run_];
  run.id = next_run_++;
  run.who = who;
  run.created_ms = NowMs();
  run.targets = std::move(targets);
  run.job = std::move(job_record);
  run.specs = std::move(specs);
  run.command = "job " + summary;
  capnp::MallocMessageBuilder record;
  auto r = record.initRoot<proto::RunRecord>();
  r.setRunId(run.id);
  r.setWho(who);
  r.setCreatedMs(run.created_ms);
  auto tl = r.initTargets(run.targets.size());
  for (size_t i = 0; i < run.targets.size(); ++i) tl.set(i, run.targets[i]);
  r.initTask().setBody(summary);
  if (auto frame = FromBytes(run.job); frame) {
    (void)ReadSafely([&] {
      r.setJob((*frame)->Root<proto::JobRecord>());
      return true;
    });
  }
  std::string bytes = FlatMessageBytes(record);
  store_.Write([this, id = run.id, bytes = std::move(bytes)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().runs, lmdb::EncodeU64Key(id), bytes);
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

namespace {
std::string HeaderKey(uint64_t run_id) { return "run-header/" + lmdb::EncodeU64Key(run_id); }
}  // namespace

void RunStore::SaveHeader(uint64_t run_id, std::string header) {
  store_.Write([this, key = HeaderKey(run_id), header = std::move(header)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().meta, key, header);
  });
}

Result<std::string> RunStore::LoadHeader(uint64_t run_id) const {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  auto value = txn->Get(store_.dbs().meta, HeaderKey(run_id));
  if (!value) return Error{"run " + std::to_string(run_id) + ": no header"};
  return std::string(*value);
}

Run* RunStore::FindRun(uint64_t id) {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : &it->second;
}

Task* RunStore::FindTask(uint64_t id) {
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
  unfinished_[t->host].erase(task_id);
  PersistTask(*t);
  return true;
}

void RunStore::PersistTask(const Task& t) {
  capnp::MallocMessageBuilder record;
  auto r = record.initRoot<proto::TaskRecord>();
  r.setTaskId(t.id);
  r.setRunId(t.run_id);
  r.setHost(t.host);
  r.setStep(t.step);
  r.setDone(t.done);
  if (auto frame = FromBytes(t.result); frame) {
    (void)ReadSafely([&] {
      r.setResult((*frame)->Root<proto::TaskResult>());
      return true;
    });
  }
  std::string bytes = FlatMessageBytes(record);
  store_.Write([this, id = t.id, bytes = std::move(bytes)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().tasks, lmdb::EncodeU64Key(id), bytes);
  });
}

void RunStore::RecordOutput(uint64_t task_id, uint8_t stream, uint64_t seq,
                            capnp::Data::Reader data) {
  if (!FindTask(task_id)) return;
  std::string value(1, static_cast<char>(stream));
  value.append(reinterpret_cast<const char*>(data.begin()), data.size());
  store_.Write([this, key = OutputKey(task_id, seq), value = std::move(value)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().output, key, value);
  });
}

Result<std::vector<RunStore::Chunk>> RunStore::ReadOutput(uint64_t task_id, uint64_t from_seq,
                                                          size_t max_bytes, bool* more) {
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

void RunStore::FillStatus(const Run& run, bool with_results, proto::RunStatus::Builder out) const {
  out.setRunId(run.id);
  out.setWho(run.who);
  out.setCreatedMs(run.created_ms);
  out.setCommand(run.command.substr(0, 200));
  out.setTotal(run.task_ids.size());
  // (job runs: FillStatus's counts are per task; JobRuns fills the per-host job progress)
  out.setDone(run.done);
  out.setOk(run.ok);
  out.setFailed(run.done - run.ok);
  out.setRunning(run.task_ids.size() - run.done);
  if (!with_results) return;
  auto results = out.initResults(run.task_ids.size());
  for (size_t i = 0; i < run.task_ids.size(); ++i) {
    const Task& t = tasks_.at(run.task_ids[i]);
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
