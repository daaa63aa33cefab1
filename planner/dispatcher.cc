// Fan-out and results: starting a run on the selected hosts, sending tasks, taking in the
// nodes' outbox messages (output chunks and results) with de-duplication, and acknowledging
// them once durable.
#include <capnp/message.h>

#include <map>
#include <memory>

#include "core/log.h"
#include "planner/planner.h"
#include "planner/task_message.h"

namespace shoal::planner {

void Planner::SendAck(Host& host) {
  if (!host.session) return;
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::PlannerMessage>().setAck(host.acked_seq);
  (void)host.session->Send(message);
}

void Planner::HandleOutbox(Host& host, proto::OutboxEnvelope::Reader envelope) {
  uint64_t seq = envelope.getSeq();
  if (seq <= host.received_seq) {
    // A resend of something already taken in: ack again once it is durable.
    if (seq <= host.acked_seq) SendAck(host);
    return;
  }
  host.received_seq = seq;
  auto payload = envelope.getPayload();
  auto frame =
      FromBytes(std::string_view(reinterpret_cast<const char*>(payload.begin()), payload.size()));
  if (frame) {
    auto read = ReadSafely([&] {
      auto m = (*frame)->Root<proto::OutboxMessage>();
      if (m.isOutput()) {
        auto o = m.getOutput();
        runs_.RecordOutput(o.getTaskId(), o.getStream(), o.getSeq(), o.getData());
      } else if (m.isStats()) {
        stats_.Record(host, m.getStats());
      } else if (m.isResult()) {
        uint64_t id = m.getResult().getTaskId();
        if (runs_.RecordResult(id, m.getResult())) {
          const Task* t = runs_.FindTask(id);
          if (t && job_runs_.IsJob(t->run_id)) job_runs_.OnResult(*t, m.getResult());
        } else {
          // Not a resend (those stop at received_seq above): the planner settled the task
          // itself meanwhile (lost, offline, or its run was pruned). Its outcome stands.
          SHOAL_LOG(Info) << host.name << ": late result for task " << id
                          << " ignored (already settled by the planner)";
        }
      }
      return true;
    });
    if (!read) SHOAL_LOG(Warn) << host.name << ": dropping malformed outbox entry " << seq;
  } else {
    SHOAL_LOG(Warn) << host.name << ": dropping undecodable outbox entry " << seq;
  }
  std::string name = host.name;
  store_->Write(
      [this, name, seq](lmdb::Txn& txn) {
        return txn.Put(store_->dbs().acked, name, lmdb::EncodeU64Key(seq));
      },
      [this, &host, seq] {
        if (seq > host.acked_seq) host.acked_seq = seq;
        // One ack per host per commit: the write of its latest message sends it.
        if (seq == host.received_seq) SendAck(host);
      });
}

Result<uint64_t> Planner::StartRun(const std::string& who, proto::RunRequest::Reader request,
                                   std::function<void()> on_durable) {
  std::vector<std::string> targets;
  for (auto t : request.getTargets()) targets.emplace_back(t);
  if (targets.empty()) return Error{"no targets: use --on HOST|GROUP|key=value|all"};
  auto task = request.getTask();
  std::string interp = task.getInterpreter();
  if (interp.empty()) interp = "sh";
  if (interp != "sh" && interp != "bash" && interp != "python3" && interp != "exec") {
    return Error::of(interp, "unknown interpreter (sh, bash, python3, exec)");
  }
  if (task.getBody().size() == 0 && task.getStoredScript().size() == 0) {
    return Error{"nothing to run: give a script body or a stored script"};
  }
  int64_t wait_until_ms = 0;
  if (const uint64_t wait = request.getWaitOfflineMs(); wait > 0) {
    if (wait > static_cast<uint64_t>(kMaxWaitOfflineMs)) {
      return Error{"--wait-offline: at most 7d"};
    }
    wait_until_ms = NowMs() + static_cast<int64_t>(wait);
  }
  auto hosts = registry_.Select(targets);
  if (!hosts) return hosts.error();
  capnp::MallocMessageBuilder spec;
  spec.setRoot(task);
  auto root = spec.getRoot<proto::TaskSpec>();
  root.setInterpreter(interp);
  root.setTaskId(0);
  root.setRunId(0);
  std::vector<std::string> names;
  for (Host* h : *hosts) names.push_back(h->name);
  Run& run = runs_.Create(who, targets, FlatMessageBytes(spec), names, wait_until_ms);
  std::string command = run.command.substr(0, 200);
  audit_.Record(who, "run",
                "run " + std::to_string(run.id) + " on " + std::to_string(names.size()) +
                    " hosts (" + targets[0] + (targets.size() > 1 ? ",..." : "") + ")" +
                    (wait_until_ms ? ", waiting " +
                                         std::to_string(request.getWaitOfflineMs() / 1000) +
                                         "s for offline hosts"
                                   : "") +
                    ": " + command);
  if (wait_until_ms) offline_wait_.Watch(run.id, wait_until_ms);
  uint64_t run_id = run.id;
  // Tasks go out only once the run is durable: a result never arrives for a run we could lose.
  store_->Write([](lmdb::Txn&) { return Status::Ok(); },
                [this, run_id, on_durable = std::move(on_durable)] {
                  Run* r = runs_.FindRun(run_id);
                  if (r) SendTasks(*r, r->task_ids);
                  if (on_durable) on_durable();
                });
  return run_id;
}

void Planner::SendTasks(const Run& run, const std::vector<uint64_t>& task_ids) {
  // Copy each step's template out of its frame once: a frame's reader allows only a few
  // traversals (amplification limit), and a template is read once per host.
  std::map<uint32_t, std::unique_ptr<capnp::MallocMessageBuilder>> templates;
  auto template_for = [&](uint32_t step) -> capnp::MallocMessageBuilder* {
    auto& slot = templates[step];
    if (slot) return slot.get();
    auto it = run.specs.find(step);
    if (it == run.specs.end()) return nullptr;
    auto spec = FromBytes(it->second);
    if (!spec) return nullptr;
    auto copy = std::make_unique<capnp::MallocMessageBuilder>();
    auto copied = ReadSafely([&] {
      copy->setRoot((*spec)->Root<proto::TaskSpec>());
      return true;
    });
    if (!copied) return nullptr;
    slot = std::move(copy);
    return slot.get();
  };
  std::vector<uint64_t> after_commit;
  auto sent = ReadSafely([&] {
    for (uint64_t id : task_ids) {
      Task* t = runs_.FindTask(id);
      if (!t || t->done) continue;
      Host* h = registry_.Find(t->host);
      if (!h || !h->session || !h->online) {
        // A job run's task, or a --wait-offline run's, waits for its host to reconnect
        // (ResendUnfinished; OfflineWait ends the wait); an ad-hoc run reports the host
        // offline at once.
        if (run.is_job() || run.wait_until_ms > 0) continue;
        runs_.Settle(id, proto::TaskEnd::OFFLINE, "host offline when the run started");
        continue;
      }
      if (run.wait_until_ms > 0 && !t->sent) {
        // Durable as sent before it goes out: a crash in between must never let the wait's
        // end report a task that ran as offline. (Marked but never sent, it is resent when
        // its host registers, like any unfinished task.)
        runs_.MarkSent(*t);
        after_commit.push_back(id);
        continue;
      }
      auto* tmpl = template_for(t->step);
      if (!tmpl) {
        SHOAL_LOG(Error) << "run " << run.id << ": no task template for step " << t->step;
        continue;
      }
      capnp::MallocMessageBuilder message;
      FillTaskAssignment(message.initRoot<proto::PlannerMessage>().initTask(),
                         tmpl->getRoot<proto::TaskSpec>().asReader(), id, run.id);
      (void)h->session->Send(message);
    }
    return true;
  });
  if (!sent) SHOAL_LOG(Error) << "run " << run.id << ": bad task template";
  if (!after_commit.empty()) {
    store_->Write([](lmdb::Txn&) { return Status::Ok(); },
                  [this, run_id = run.id, ids = std::move(after_commit)] {
                    if (const Run* r = runs_.FindRun(run_id)) SendTasks(*r, ids);
                  });
  }
}

void Planner::SendCancel(const std::string& host, uint64_t task_id) {
  Host* h = registry_.Find(host);
  if (!h || !h->session) return;
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::PlannerMessage>().setCancel(task_id);
  (void)h->session->Send(message);
}

void Planner::ResendUnfinished(Host& host) {
  std::map<uint64_t, std::vector<uint64_t>> by_run;
  for (uint64_t id : runs_.Unfinished(host.name)) {
    if (Task* t = runs_.FindTask(id)) by_run[t->run_id].push_back(id);
  }
  for (auto& [run_id, ids] : by_run) {
    if (Run* r = runs_.FindRun(run_id)) SendTasks(*r, ids);
  }
}

}  // namespace shoal::planner
