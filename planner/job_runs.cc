#include "planner/job_runs.h"

#include <capnp/message.h>

#include "core/framing.h"
#include "core/log.h"
#include "planner/run_records.h"

namespace shoal::planner {

// One job run: its plan, its Rollout, and what the progress line shows (bytes moved).
class JobRuns::Active : public jobs::Rollout::Env {
 public:
  // A frozen Active is a finished run read back from LMDB to show it: it starts and writes
  // nothing.
  Active(JobRuns& owner, uint64_t run_id, PlannedJob planned, bool frozen = false)
      : owner_(owner), run_id_(run_id), planned_(std::move(planned)), frozen_(frozen) {
    rollout_ = std::make_unique<jobs::Rollout>(planned_.job, planned_.plan, *this);
  }

  jobs::Rollout& rollout() { return *rollout_; }
  const jobs::Rollout& rollout() const { return *rollout_; }
  const PlannedJob& planned() const { return planned_; }
  uint64_t bytes_finished = 0;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> in_flight;  // task -> (bytes, rate)

  bool Online(const std::string& host) override {
    if (frozen_) return false;
    Host* h = owner_.registry_.Find(host);
    return h && h->online && h->session;
  }
  void StartStep(const std::string& host, uint32_t step) override {
    if (frozen_) return;
    Run* run = owner_.runs_.FindRun(run_id_);
    if (!run) return;
    owner_.QueueSend(run_id_, owner_.runs_.AddTask(*run, host, step).id);
  }
  void Prestage(const std::string& host, uint32_t artifact) override {
    StartStep(host, jobs::kPrestage + artifact);
  }
  void MarkHost(const std::string& host, bool skipped, const std::string& why) override {
    if (frozen_) return;
    Run* run = owner_.runs_.FindRun(run_id_);
    if (!run) return;
    Task& task = owner_.runs_.AddTask(*run, host, jobs::kHostMarker);
    owner_.runs_.Settle(task.id, skipped ? proto::TaskEnd::SKIPPED : proto::TaskEnd::OFFLINE,
                        why);
  }
  void HeaderChanged() override {
    if (frozen_) return;
    const auto& h = rollout_->header();
    capnp::MallocMessageBuilder message;
    auto r = message.initRoot<proto::RunHeader>();
    r.setPhase(jobs::PhaseName(h.phase));
    r.setWave(h.wave);
    r.setPauseUntilMs(h.pause_until_ms);
    r.setWhy(h.why);
    r.setWaveStartedMs(h.wave_started_ms);
    owner_.runs_.SaveHeader(run_id_, FlatMessageBytes(message));
    if (h.phase != last_phase_ || h.wave != last_wave_) {
      SHOAL_LOG(Info) << "run " << run_id_ << " (" << planned_.job.name << "): "
                      << jobs::PhaseName(h.phase) << ", wave " << h.wave + 1 << " of "
                      << planned_.plan.wave_sizes.size() << (h.why.empty() ? "" : ": ") << h.why;
      last_phase_ = h.phase;
      last_wave_ = h.wave;
    }
  }

 private:
  JobRuns& owner_;
  uint64_t run_id_;
  PlannedJob planned_;
  bool frozen_;
  std::unique_ptr<jobs::Rollout> rollout_;
  jobs::Phase last_phase_ = jobs::Phase::kRunning;
  uint32_t last_wave_ = UINT32_MAX;
};

JobRuns::JobRuns(boost::asio::io_context& io, Store& store, RunStore& runs, Registry& registry,
                 Hooks hooks)
    : io_(io), store_(store), runs_(runs), registry_(registry), hooks_(std::move(hooks)),
      timer_(io) {}

JobRuns::~JobRuns() = default;

JobRuns::Active* JobRuns::Find(uint64_t run_id) {
  auto it = active_.find(run_id);
  return it == active_.end() ? nullptr : it->second.get();
}

Result<std::unique_ptr<JobRuns::Active>> JobRuns::Rebuild(const Run& run, const TaskLookup& find,
                                                         bool frozen, int64_t hold_until_ms) {
  const int64_t now = NowMs();
  auto frame = FromBytes(run.job_record);
  if (!frame) return Error{"run " + std::to_string(run.id) + ": " + frame.error().message};
  auto planned = ReadSafely([&] { return FromRecord((*frame)->Root<proto::JobRecord>()); });
  if (!planned || !*planned) {
    return Error{"run " + std::to_string(run.id) + ": cannot rebuild its job: " +
                 (planned ? (*planned).error().message : planned.error().message)};
  }
  jobs::RolloutHeader header;
  if (auto bytes = runs_.LoadHeader(run.id); bytes) {
    if (auto h = FromBytes(*bytes); h) {
      (void)ReadSafely([&] {
        auto r = (*h)->Root<proto::RunHeader>();
        header.phase = jobs::ParsePhase(r.getPhase()).value_or(jobs::Phase::kRunning);
        header.wave = r.getWave();
        header.pause_until_ms = r.getPauseUntilMs();
        header.why = r.getWhy();
        header.wave_started_ms = r.getWaveStartedMs();
        return true;
      });
    }
  }
  std::vector<jobs::TaskFact> facts;
  for (uint64_t task_id : run.task_ids) {
    const Task* t = find(task_id);
    if (!t) continue;
    jobs::TaskFact fact{t->host, t->step, t->done, t->ok, false};
    if (t->done && t->step == jobs::kHostMarker) {
      if (auto r = FromBytes(t->result); r) {
        (void)ReadSafely([&] {
          fact.skipped = (*r)->Root<proto::TaskResult>().getEnd() == proto::TaskEnd::SKIPPED;
          return true;
        });
      }
    }
    facts.push_back(std::move(fact));
  }
  auto active = std::make_unique<Active>(*this, run.id, std::move(**planned), frozen);
  active->rollout().HoldNewHostsUntil(hold_until_ms);
  active->rollout().Restore(header, facts, now);
  for (uint64_t task_id : run.task_ids) {
    const Task* t = find(task_id);
    if (!t || !t->done || t->step == jobs::kHostMarker) continue;
    if (auto r = FromBytes(t->result); r) {
      (void)ReadSafely([&] {
        auto f = (*r)->Root<proto::TaskResult>().getFetch();
        if (!f.getFromCache()) {
          active->bytes_finished += f.getBytesFromPeers() + f.getBytesFromOrigin();
        }
        return true;
      });
    }
  }
  return active;
}

Status JobRuns::Load(int64_t grace_ms) {
  const int64_t now = NowMs();
  std::vector<uint64_t> ids;  // Restore may add tasks: do not walk the map while it does
  for (const auto& [id, run] : runs_.runs()) {
    if (run.is_job()) ids.push_back(id);
  }
  for (uint64_t id : ids) {
    Run* run = runs_.FindRun(id);
    auto active = Rebuild(*run, [this](uint64_t t) { return runs_.FindTask(t); }, false,
                          now + grace_ms);
    if (!active) {
      SHOAL_LOG(Error) << active.error().message;
      continue;
    }
    // The step templates are derived from the stored plan, not stored twice.
    run->specs = StepSpecs((*active)->planned());
    run->job_record.clear();
    Active& a = **active;
    active_[id] = std::move(*active);
    if (!a.rollout().finished()) {
      SHOAL_LOG(Info) << "run " << id << " (" << a.planned().job.name << ") carries on: "
                      << jobs::PhaseName(a.rollout().header().phase) << ", wave "
                      << a.rollout().header().wave + 1;
    }
  }
  Rearm();
  return Status::Ok();
}

Result<PlannedJob> JobRuns::Plan(const std::string& file_name, const std::string& yaml,
                                 std::vector<ArtifactPin> pins) {
  return PlanJob(registry_, file_name, yaml, std::move(pins));
}

Result<uint64_t> JobRuns::Apply(const std::string& who, PlannedJob planned,
                                std::function<void()> on_durable) {
  return Launch(who, std::move(planned), std::move(on_durable));
}

Result<uint64_t> JobRuns::Launch(const std::string& who, PlannedJob planned,
                                 std::function<void()> on_durable) {
  capnp::MallocMessageBuilder record;
  ToRecord(planned, record.initRoot<proto::JobRecord>());
  auto specs = StepSpecs(planned);
  std::string summary = planned.job.name + " (" + std::to_string(planned.plan.hosts.size()) +
                        " hosts, " + std::to_string(planned.plan.wave_sizes.size()) + " waves)";
  Run& run = runs_.CreateJob(who, planned.job.targets, summary,
                             record.getRoot<proto::JobRecord>().asReader(), std::move(specs));
  const uint64_t id = run.id;
  auto active = std::make_unique<Active>(*this, id, std::move(planned));
  Active& a = *active;
  active_[id] = std::move(active);
  // The run record and its first tasks commit together; the tasks are sent after the commit.
  a.rollout().Start(NowMs());
  store_.Write([](lmdb::Txn&) { return Status::Ok(); },
               [on_durable = std::move(on_durable)] {
                 if (on_durable) on_durable();
               });
  Rearm();
  return id;
}

Result<uint64_t> JobRuns::Rerun(const std::string& who, uint64_t run_id, bool failed_only,
                                std::function<void()> on_durable) {
  Active* old = Find(run_id);
  std::unique_ptr<Active> stored;  // a finished run, read back from LMDB
  if (!old) {
    auto s = Stored(run_id);
    if (!s) return s.error();
    stored = std::move(*s);
    old = stored.get();
  }
  if (!old->rollout().finished()) {
    return Error{"run " + std::to_string(run_id) + " is still " +
                 jobs::PhaseName(old->rollout().header().phase) + ": cancel it or let it end"};
  }
  const PlannedJob& before = old->planned();
  std::vector<std::string> hosts;
  for (const auto& h : before.plan.hosts) {
    auto s = old->rollout().status(h);
    if (!failed_only || (s != jobs::HostStatus::kOk)) hosts.push_back(h);
  }
  if (hosts.empty()) return Error{"run " + std::to_string(run_id) + " has no failed or unstarted hosts"};
  auto planned = PlanJob(registry_, before.file_name, before.yaml, before.pins, hosts);
  if (!planned) return planned.error();
  planned->rerun_of = run_id;
  return Launch(who, std::move(*planned), std::move(on_durable));
}

Status JobRuns::Resume(const std::string&, uint64_t run_id) {
  Active* a = Find(run_id);
  if (!a) return NotActive(run_id);
  auto s = a->rollout().Resume(NowMs());
  Rearm();
  return s;
}

Status JobRuns::Cancel(const std::string& who, uint64_t run_id) {
  Active* a = Find(run_id);
  if (!a) return NotActive(run_id);
  if (a->rollout().finished()) {
    return Error{std::string("run is over (") + jobs::PhaseName(a->rollout().header().phase) + ")"};
  }
  a->rollout().Cancel(who);
  if (Run* run = runs_.FindRun(run_id)) {
    for (uint64_t task_id : run->task_ids) {
      const Task* t = runs_.FindTask(task_id);
      if (t && !t->done) hooks_.cancel(t->host, t->id);
    }
  }
  Rearm();
  return Status::Ok();
}

void JobRuns::OnResult(const Task& task, proto::TaskResult::Reader result) {
  Active* a = Find(task.run_id);
  if (!a) return;
  a->in_flight.erase(task.id);
  if (result.hasFetch() && !result.getFetch().getFromCache()) {
    a->bytes_finished += result.getFetch().getBytesFromPeers() + result.getFetch().getBytesFromOrigin();
  }
  a->rollout().OnResult(task.host, task.step, ResultOk(result), NowMs());
  Rearm();
}

void JobRuns::OnOnline(const std::string& host) {
  const int64_t now = NowMs();
  for (auto& [id, a] : active_) {
    if (!jobs::IsFinal(a->rollout().header().phase)) a->rollout().OnOnline(host, now);
  }
  Rearm();
}

void JobRuns::OnProgress(uint64_t task_id, uint64_t done, uint64_t rate) {
  const Task* t = runs_.FindTask(task_id);
  if (!t || t->done) return;
  if (Active* a = Find(t->run_id)) a->in_flight[task_id] = {done, rate};
}

void JobRuns::QueueSend(uint64_t run_id, uint64_t task_id) {
  to_send_[run_id].push_back(task_id);
  if (send_scheduled_) return;
  send_scheduled_ = true;
  // A no-op write whose callback runs after the commit that holds these tasks' records.
  store_.Write([](lmdb::Txn&) { return Status::Ok(); },
               [this] {
                 send_scheduled_ = false;
                 auto batch = std::move(to_send_);
                 to_send_.clear();
                 for (auto& [run_id, ids] : batch) {
                   if (const Run* run = runs_.FindRun(run_id)) hooks_.send(*run, ids);
                 }
               });
}

void JobRuns::ReapFinished() {
  for (auto& [id, a] : active_) {
    const Run* run = runs_.FindRun(id);
    if (!a->rollout().finished() || !run || run->finishing) continue;
    capnp::MallocMessageBuilder message;
    auto status = message.initRoot<proto::RunStatus>();
    runs_.FillStatus(*run, false, status);
    FillStatus(*run, false, status);
    // The Active stays until the run leaves memory, so its status reads the same meanwhile.
    runs_.Finish(id, FlatMessageBytes(message), [this, id = id] { active_.erase(id); });
  }
}

void JobRuns::Rearm() {
  ReapFinished();
  std::optional<int64_t> next;
  for (auto& [id, a] : active_) {
    if (auto t = a->rollout().NextWakeMs(); t && (!next || *t < *next)) next = t;
  }
  timer_.cancel();
  if (!next) return;
  int64_t delay = std::max<int64_t>(*next - NowMs(), 0) + 5;
  timer_.expires_after(std::chrono::milliseconds(delay));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const int64_t now = NowMs();
    for (auto& [id, a] : active_) {
      if (auto t = a->rollout().NextWakeMs(); t && *t <= now) a->rollout().Tick(now);
    }
    Rearm();
  });
}

void JobRuns::FillStatus(const Run& run, bool with_results, proto::RunStatus::Builder out) const {
  auto it = active_.find(run.id);
  if (it == active_.end()) return;
  FillFrom(*it->second, run, [this](uint64_t id) { return runs_.FindTask(id); }, with_results,
           out);
}

Status JobRuns::FillStored(const StoredRun& stored, bool with_results,
                           proto::RunStatus::Builder out) {
  TaskLookup find = [&](uint64_t id) -> const Task* {
    auto it = stored.tasks.find(id);
    return it == stored.tasks.end() ? nullptr : &it->second;
  };
  auto a = Rebuild(stored.run, find, true, 0);
  if (!a) return a.error();
  RunStore::FillStatus(stored, false, out);
  FillFrom(**a, stored.run, find, with_results, out);
  return Status::Ok();
}

Result<std::unique_ptr<JobRuns::Active>> JobRuns::Stored(uint64_t run_id) {
  auto s = runs_.ReadStored(run_id, true);
  if (!s) return s.error();
  if (!s->run.is_job()) return Error{"run " + std::to_string(run_id) + " is not a job run"};
  return Rebuild(
      s->run,
      [&](uint64_t id) -> const Task* {
        auto it = s->tasks.find(id);
        return it == s->tasks.end() ? nullptr : &it->second;
      },
      true, 0);
}

Error JobRuns::NotActive(uint64_t run_id) const {
  auto s = runs_.ReadStored(run_id, false);
  if (!s) return Error{"no such run " + std::to_string(run_id)};
  if (!s->run.is_job()) return Error{"run " + std::to_string(run_id) + " is not a job run"};
  return Error{"run is over (" + std::to_string(run_id) + " finished)"};
}

void JobRuns::FillFrom(const Active& a, const Run& run, const TaskLookup& find, bool with_results,
                       proto::RunStatus::Builder out) {
  const jobs::Rollout& r = a.rollout();
  const auto counts = r.counts();
  const auto& plan = a.planned().plan;
  const uint32_t hosts = static_cast<uint32_t>(plan.hosts.size());
  out.setTotal(hosts);
  out.setDone(counts.ok + counts.failed + counts.skipped + counts.stopped);
  out.setOk(counts.ok);
  out.setFailed(counts.failed);
  out.setRunning(counts.running);
  auto p = out.initJob();
  p.setName(a.planned().job.name);
  p.setPhase(r.finished() || !jobs::IsFinal(r.header().phase)
                 ? jobs::PhaseName(r.header().phase)
                 : (std::string(jobs::PhaseName(r.header().phase)) + " (finishing)").c_str());
  p.setWave(r.header().wave + 1);
  p.setWaves(static_cast<uint32_t>(plan.wave_sizes.size()));
  p.setOk(counts.ok);
  p.setFailed(counts.failed);
  p.setRunning(counts.running);
  p.setWaiting(counts.waiting);
  p.setSkipped(counts.skipped + counts.stopped);
  p.setHosts(hosts);
  if (jobs::IsFinal(r.header().phase)) {
    auto never = r.NeverStarted();
    auto list = p.initNeverStarted(never.size());
    for (size_t i = 0; i < never.size(); ++i) list.set(i, never[i]);
  }
  p.setWhy(r.header().why);
  uint64_t bytes = a.bytes_finished, rate = 0;
  for (const auto& [task, br] : a.in_flight) {
    bytes += br.first;
    rate += br.second;
  }
  p.setBytesMoved(bytes);
  p.setRate(rate);
  p.setPauseUntilMs(r.header().pause_until_ms);
  auto steps = p.initSteps(r.step_count());
  for (uint32_t i = 0; i < r.step_count(); ++i) steps.set(i, r.StepName(i));
  p.setStepNow(r.CurrentStepName());
  if (!with_results) return;
  // One entry per task of a job step (markers included: they say why a host never ran).
  std::vector<const Task*> tasks;
  for (uint64_t id : run.task_ids) {
    const Task* t = find(id);
    if (t && (t->step < jobs::kPrestage || t->step == jobs::kHostMarker)) tasks.push_back(t);
  }
  auto results = out.initResults(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    const Task& t = *tasks[i];
    results[i].setHost(t.host);
    results[i].setTaskId(t.id);
    results[i].setDone(t.done);
    results[i].setStep(t.step);
    results[i].setWave(r.WaveOf(t.host) + 1);
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

void JobRuns::FillPlan(const PlannedJob& p, proto::PlanReply::Builder out) {
  out.setName(p.job.name);
  auto waves = out.initWaves(p.plan.wave_sizes.size());
  size_t at = 0;
  for (size_t w = 0; w < p.plan.wave_sizes.size(); ++w) {
    auto hosts = waves[w].initHosts(p.plan.wave_sizes[w]);
    for (uint32_t k = 0; k < p.plan.wave_sizes[w]; ++k) hosts.set(k, p.plan.hosts[at++]);
  }
  std::vector<std::string> steps;
  for (size_t s = 0; s < p.job.stages.size(); ++s) {
    const auto& stage = p.job.stages[s];
    for (size_t k = 0; k < stage.steps.size(); ++k) {
      const auto& step = stage.steps[k];
      std::string line = std::to_string(s + 1) + (stage.steps.size() > 1 ? "." + std::to_string(k + 1) : "") +
                         "  " + step.name;
      if (step.kind == jobs::Step::Kind::kFile) line += "  <- " + step.file.artifact;
      if (!step.on.empty()) {
        line += "  on:";
        for (const auto& o : step.on) line += " " + o;
      }
      if (step.on_failure == jobs::OnFailure::kContinue) line += "  (on_failure: continue)";
      steps.push_back(line);
    }
  }
  if (p.job.verify) steps.push_back("verify  " + p.job.verify->run + p.job.verify->script);
  auto sl = out.initSteps(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) sl.set(i, steps[i]);
  WritePins(p.pins, out.initArtifacts(p.pins.size()));
  out.setPrestage(p.prestage);
  auto ex = out.initExcluded(p.excluded.size());
  for (size_t i = 0; i < p.excluded.size(); ++i) ex.set(i, p.excluded[i]);
  auto off = out.initOffline(p.offline.size());
  for (size_t i = 0; i < p.offline.size(); ++i) off.set(i, p.offline[i]);
}

}  // namespace shoal::planner
