#include "planner/run_records.h"

#include <capnp/message.h>

#include "core/framing.h"

namespace shoal::planner {

bool ResultOk(proto::TaskResult::Reader r) {
  return r.getEnd() == proto::TaskEnd::EXITED && r.getExitCode() == 0;
}

Run RunFromRecord(proto::RunRecord::Reader r, std::map<uint64_t, Task>* tasks) {
  Run run;
  run.id = r.getRunId();
  run.who = r.getWho();
  run.created_ms = r.getCreatedMs();
  run.first_task_id = r.getFirstTaskId();
  run.wait_until_ms = r.getWaitOfflineUntilMs();
  for (auto t : r.getTargets()) run.targets.emplace_back(t);
  auto task = r.getTask();
  if (r.hasJob()) {
    capnp::MallocMessageBuilder job;
    job.setRoot(r.getJob());
    run.job = true;
    run.job_record = FlatMessageBytes(job);
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
  for (size_t i = 0; i < ids.size(); ++i) {
    run.task_ids.push_back(ids[i]);
    if (tasks && i < hosts.size()) {
      Task& t = (*tasks)[ids[i]];
      t.id = ids[i];
      t.run_id = run.id;
      t.host = hosts[i];
    }
  }
  if (r.hasSummary()) {
    run.done = r.getSummary().getDone();
    run.ok = r.getSummary().getOk();
  }
  run.bytes = r.getDataBytes();
  return run;
}

Task TaskFromRecord(uint64_t id, proto::TaskRecord::Reader r) {
  Task t;
  t.id = id;
  t.run_id = r.getRunId();
  t.host = r.getHost();
  t.step = r.getStep();
  t.sent = r.getSent();
  if (r.getDone()) {
    capnp::MallocMessageBuilder result;
    result.setRoot(r.getResult());
    t.result = FlatMessageBytes(result);
    t.done = true;
    t.ok = ResultOk(r.getResult());
  }
  return t;
}

void TaskToRecord(const Task& t, proto::TaskRecord::Builder r) {
  r.setTaskId(t.id);
  r.setRunId(t.run_id);
  r.setHost(t.host);
  r.setStep(t.step);
  r.setDone(t.done);
  r.setSent(t.sent);
  if (t.result.empty()) return;
  if (auto frame = FromBytes(t.result); frame) {
    (void)ReadSafely([&] {
      r.setResult((*frame)->Root<proto::TaskResult>());
      return true;
    });
  }
}

}  // namespace shoal::planner
