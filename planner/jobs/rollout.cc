#include "planner/jobs/rollout.h"

#include <algorithm>

namespace shoal::planner::jobs {

const char* HostStatusName(HostStatus status) {
  switch (status) {
    case HostStatus::kWaiting:
      return "waiting";
    case HostStatus::kUnreachable:
      return "unreachable";
    case HostStatus::kRunning:
      return "running";
    case HostStatus::kOk:
      return "ok";
    case HostStatus::kFailed:
      return "failed";
    case HostStatus::kSkipped:
      return "skipped";
    case HostStatus::kStopped:
      return "stopped";
  }
  return "?";
}

namespace {
constexpr const char* kPhaseNames[] = {"running",   "paused",    "halted",
                                       "cancelled", "succeeded", "completed"};

}  // namespace

const char* PhaseName(Phase phase) { return kPhaseNames[static_cast<int>(phase)]; }

std::optional<Phase> ParsePhase(const std::string& name) {
  for (int i = 0; i < 6; ++i) {
    if (name == kPhaseNames[i]) return static_cast<Phase>(i);
  }
  return std::nullopt;
}

bool IsFinal(Phase phase) { return phase != Phase::kRunning && phase != Phase::kPaused; }

Rollout::Rollout(Job job, RolloutPlan plan, Env& env)
    : job_(std::move(job)), plan_(std::move(plan)), env_(env) {
  uint32_t flat = 0;
  for (const Stage& stage : job_.stages) {
    std::vector<uint32_t> ids;
    for (const Step& step : stage.steps) {
      ids.push_back(flat++);
      step_on_failure_.push_back(step.on_failure);
      step_names_.push_back(step.name);
    }
    stages_.push_back(std::move(ids));
  }
  if (job_.verify) {
    stages_.push_back({flat});
    step_on_failure_.push_back(OnFailure::kStop);
    step_names_.push_back("verify");
  }
  hosts_.resize(plan_.hosts.size());
  uint32_t begin = 0;
  for (uint32_t w = 0; w < plan_.wave_sizes.size(); ++w) {
    wave_begin_.push_back(begin);
    for (uint32_t k = 0; k < plan_.wave_sizes[w] && begin + k < hosts_.size(); ++k) {
      hosts_[begin + k].wave = w;
    }
    begin += plan_.wave_sizes[w];
  }
  wave_begin_.push_back(static_cast<uint32_t>(hosts_.size()));
  wave_failed_.assign(plan_.wave_sizes.size(), 0);
  wave_done_.assign(plan_.wave_sizes.size(), 0);
  for (uint32_t i = 0; i < plan_.hosts.size(); ++i) index_[plan_.hosts[i]] = i;
}

std::string Rollout::StepName(uint32_t step) const {
  if (step == kHostMarker) return "host";
  if (step >= kPrestage) return "prestage";
  return step < step_names_.size() ? step_names_[step] : "step " + std::to_string(step);
}

bool Rollout::Applies(uint32_t step, uint32_t host) const {
  if (step >= plan_.step_hosts.size() || !plan_.step_hosts[step]) return true;
  const auto& list = *plan_.step_hosts[step];
  return std::binary_search(list.begin(), list.end(), host);
}

void Rollout::SetPhase(Phase phase, std::string why) {
  header_.phase = phase;
  header_.why = std::move(why);
  env_.HeaderChanged();
}

void Rollout::Start(int64_t now_ms) {
  header_ = RolloutHeader{};
  header_.wave_started_ms = now_ms;
  env_.HeaderChanged();
  PrestageLaterWaves();
  Pump(now_ms);
}

void Rollout::PrestageLaterWaves() {
  if (plan_.artifacts.empty() || IsFinal(header_.phase)) return;
  for (uint32_t i = wave_begin_[std::min<size_t>(header_.wave + 1, wave_begin_.size() - 1)];
       i < hosts_.size(); ++i) {
    Host& h = hosts_[i];
    if (h.prestaged || h.started || !env_.Online(plan_.hosts[i])) continue;
    h.prestaged = true;
    for (uint32_t a = 0; a < plan_.artifacts.size(); ++a) env_.Prestage(plan_.hosts[i], a);
  }
}

void Rollout::Pump(int64_t now_ms) {
  if (header_.phase != Phase::kRunning || wave_begin_.size() < 2) return;
  if (now_ms < hold_until_ms_) return;
  const uint32_t w = header_.wave;
  const uint32_t end = wave_begin_[w + 1];
  auto window_open = [&] { return job_.concurrency == 0 || active_ < job_.concurrency; };
  while (!back_online_.empty() && window_open() && header_.phase == Phase::kRunning) {
    uint32_t i = back_online_.front();
    back_online_.pop_front();
    if (hosts_[i].status == HostStatus::kWaiting && hosts_[i].wave == w) Begin(i, now_ms);
  }
  next_in_wave_ = std::max(next_in_wave_, wave_begin_[w]);
  while (next_in_wave_ < end && window_open() && header_.phase == Phase::kRunning) {
    uint32_t i = next_in_wave_++;
    if (hosts_[i].status == HostStatus::kWaiting) Begin(i, now_ms);
  }
  WaveMaybeDone(now_ms);
}

void Rollout::Begin(uint32_t i, int64_t now_ms) {
  Host& h = hosts_[i];
  if (!env_.Online(plan_.hosts[i])) {
    if (job_.unreachable_wait.count() > 0 &&
        (h.unreachable_until_ms == 0 || now_ms < h.unreachable_until_ms)) {
      if (h.unreachable_until_ms == 0)
        h.unreachable_until_ms = now_ms + job_.unreachable_wait.count();
      h.status = HostStatus::kUnreachable;
      unreachable_.insert(i);
      return;
    }
    GiveUp(i);
    return;
  }
  h.status = HostStatus::kRunning;
  h.started = true;
  ++running_;
  if (h.wave == header_.wave) ++active_;
  Advance(i);
}

void Rollout::Advance(uint32_t i) {
  Host& h = hosts_[i];
  while (h.stage < stages_.size()) {
    uint32_t started = 0;
    h.stage_failed = false;
    for (uint32_t step : stages_[h.stage]) {
      if (!Applies(step, i)) continue;
      ++started;
      ++h.in_flight;
      env_.StartStep(plan_.hosts[i], step);
    }
    if (started > 0) return;
    ++h.stage;
  }
  Finish(i, HostStatus::kOk);
}

void Rollout::Finish(uint32_t i, HostStatus status) {
  Host& h = hosts_[i];
  if (h.status == HostStatus::kRunning) {
    --running_;
    if (h.wave == header_.wave && active_ > 0) --active_;
  }
  h.status = status;
  if (h.wave < wave_done_.size()) ++wave_done_[h.wave];
  if (status == HostStatus::kFailed) {
    ++failed_;
    ++wave_failed_[h.wave];
    CheckBudget();
  }
}

void Rollout::GiveUp(uint32_t i) {
  Host& h = hosts_[i];
  unreachable_.erase(i);
  bool skip = job_.unreachable == Unreachable::kSkip;
  h.status = HostStatus::kWaiting;  // not running: Finish must not touch the window
  env_.MarkHost(plan_.hosts[i], skip,
                skip ? "offline when its wave started: skipped (unreachable: skip)"
                     : "offline when its wave started");
  Finish(i, skip ? HostStatus::kSkipped : HostStatus::kFailed);
}

void Rollout::CheckBudget() {
  if (header_.phase != Phase::kRunning && header_.phase != Phase::kPaused) return;
  const uint32_t w = header_.wave;
  const uint64_t wave_hosts = plan_.wave_sizes.empty() ? 0 : plan_.wave_sizes[w];
  std::string why;
  if (job_.max_failed.Exceeded(wave_failed_[w], wave_hosts)) {
    why = "wave " + std::to_string(w + 1) + ": " + std::to_string(wave_failed_[w]) + " of " +
          std::to_string(wave_hosts) + " hosts failed, more than max_failed " +
          job_.max_failed.str();
  } else if (job_.max_failed.Exceeded(failed_, hosts_.size())) {
    why = std::to_string(failed_) + " of " + std::to_string(hosts_.size()) +
          " hosts failed, more than max_failed " + job_.max_failed.str();
  } else {
    return;
  }
  SetPhase(Phase::kHalted, why);
}

void Rollout::WaveMaybeDone(int64_t now_ms) {
  if (header_.phase != Phase::kRunning || plan_.wave_sizes.empty()) return;
  const uint32_t w = header_.wave;
  if (wave_done_[w] < wave_begin_[w + 1] - wave_begin_[w]) return;
  const uint32_t waves = static_cast<uint32_t>(plan_.wave_sizes.size());
  if (w + 1 >= waves) {
    if (failed_ == 0) {
      SetPhase(Phase::kSucceeded, "");
    } else {
      SetPhase(Phase::kCompleted, std::to_string(failed_) + " of " + std::to_string(hosts_.size()) +
                                      " hosts failed, within max_failed " + job_.max_failed.str());
    }
    return;
  }
  std::string done = "wave " + std::to_string(w + 1) + " of " + std::to_string(waves) + " done";
  switch (job_.pause.kind) {
    case Pause::Kind::kManual:
      SetPhase(Phase::kPaused, done + "; `shoal resume` starts wave " + std::to_string(w + 2));
      return;
    case Pause::Kind::kTimed:
      header_.pause_until_ms = now_ms + job_.pause.duration.count();
      SetPhase(Phase::kPaused,
               done + "; wave " + std::to_string(w + 2) + " starts after the pause");
      return;
    case Pause::Kind::kNone:
      OpenNextWave(now_ms);
      return;
  }
}

void Rollout::OpenNextWave(int64_t now_ms) {
  ++header_.wave;
  header_.wave_started_ms = now_ms;
  header_.pause_until_ms = 0;
  active_ = 0;
  next_in_wave_ = wave_begin_[header_.wave];
  SetPhase(Phase::kRunning, "");
  Pump(now_ms);
}

bool Rollout::OnResult(const std::string& host, uint32_t step, bool ok, int64_t now_ms) {
  auto it = index_.find(host);
  if (it == index_.end() || step == kHostMarker) return false;
  if (step >= kPrestage) return true;  // pre-staging only warms the cache
  const uint32_t i = it->second;
  Host& h = hosts_[i];
  if (h.status != HostStatus::kRunning || h.in_flight == 0 || h.stage >= stages_.size()) {
    return false;
  }
  const auto& stage = stages_[h.stage];
  if (std::find(stage.begin(), stage.end(), step) == stage.end()) return false;
  --h.in_flight;
  if (!ok && step < step_on_failure_.size() && step_on_failure_[step] == OnFailure::kStop) {
    h.stage_failed = true;
  }
  if (h.in_flight > 0) return true;
  if (h.stage_failed) {
    Finish(i, HostStatus::kFailed);
  } else if (++h.stage >= stages_.size()) {
    Finish(i, HostStatus::kOk);
  } else if (header_.phase == Phase::kRunning) {
    Advance(i);
  } else {
    Finish(i, HostStatus::kStopped);  // halted or cancelled: nothing new starts
  }
  if (header_.phase == Phase::kRunning) {
    Pump(now_ms);
  } else if (running_ == 0) {
    env_.HeaderChanged();  // the run is over: its final state is worth a write
  }
  return true;
}

void Rollout::OnOnline(const std::string& host, int64_t now_ms) {
  auto it = index_.find(host);
  if (it == index_.end()) return;
  const uint32_t i = it->second;
  Host& h = hosts_[i];
  if (h.status == HostStatus::kUnreachable) {
    unreachable_.erase(i);
    h.status = HostStatus::kWaiting;
    back_online_.push_back(i);
    Pump(now_ms);
    return;
  }
  if (!h.prestaged && !h.started && !plan_.artifacts.empty() && h.wave > header_.wave &&
      !IsFinal(header_.phase)) {
    h.prestaged = true;
    for (uint32_t a = 0; a < plan_.artifacts.size(); ++a) env_.Prestage(host, a);
  }
}

void Rollout::Tick(int64_t now_ms) {
  if (hold_until_ms_ > 0 && now_ms >= hold_until_ms_) hold_until_ms_ = 0;
  if (header_.phase == Phase::kPaused && header_.pause_until_ms > 0 &&
      now_ms >= header_.pause_until_ms) {
    OpenNextWave(now_ms);
  }
  std::vector<uint32_t> expired;
  for (uint32_t i : unreachable_) {
    if (now_ms >= hosts_[i].unreachable_until_ms) expired.push_back(i);
  }
  for (uint32_t i : expired) {
    if (hosts_[i].status == HostStatus::kUnreachable) GiveUp(i);
  }
  Pump(now_ms);
}

std::optional<int64_t> Rollout::NextWakeMs() const {
  std::optional<int64_t> next;
  if (hold_until_ms_ > 0 && header_.phase == Phase::kRunning) next = hold_until_ms_;
  if (header_.phase == Phase::kPaused && header_.pause_until_ms > 0) next = header_.pause_until_ms;
  for (uint32_t i : unreachable_) {
    int64_t t = hosts_[i].unreachable_until_ms;
    if (!next || t < *next) next = t;
  }
  return next;
}

Status Rollout::Resume(int64_t now_ms) {
  switch (header_.phase) {
    case Phase::kPaused:
      OpenNextWave(now_ms);
      return Status::Ok();
    case Phase::kRunning:
      return Error{"the run is not paused"};
    case Phase::kHalted:
      return Error{"the run halted (" + header_.why +
                   "); `shoal rerun RUN --failed` runs the failed and unstarted hosts again"};
    default:
      return Error{std::string("the run is over (") + PhaseName(header_.phase) + ")"};
  }
}

std::vector<std::string> Rollout::Cancel(const std::string& who) {
  std::vector<std::string> in_flight;
  if (header_.phase == Phase::kSucceeded || header_.phase == Phase::kCompleted ||
      header_.phase == Phase::kCancelled) {
    return in_flight;
  }
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    if (hosts_[i].status == HostStatus::kRunning) in_flight.push_back(plan_.hosts[i]);
  }
  for (uint32_t i : unreachable_) hosts_[i].status = HostStatus::kWaiting;
  unreachable_.clear();
  back_online_.clear();
  SetPhase(Phase::kCancelled, "cancelled by " + who);
  return in_flight;
}

void Rollout::Restore(const RolloutHeader& header, const std::vector<TaskFact>& tasks,
                      int64_t now_ms) {
  header_ = header;
  if (header_.wave >= plan_.wave_sizes.size() && !plan_.wave_sizes.empty()) {
    header_.wave = static_cast<uint32_t>(plan_.wave_sizes.size() - 1);
  }
  struct Seen {
    bool done = false, ok = false;
  };
  std::vector<std::map<uint32_t, Seen>> by_host(hosts_.size());
  for (const TaskFact& t : tasks) {
    auto it = index_.find(t.host);
    if (it == index_.end()) continue;
    Host& h = hosts_[it->second];
    if (t.step == kHostMarker) {
      h.status = t.skipped ? HostStatus::kSkipped : HostStatus::kFailed;
      continue;
    }
    if (t.step >= kPrestage) {
      h.prestaged = true;
      continue;
    }
    by_host[it->second][t.step] = Seen{t.done, t.ok};
  }
  const bool may_start = header_.phase == Phase::kRunning;
  std::vector<uint32_t> to_advance;
  std::vector<std::pair<uint32_t, uint32_t>> to_start;  // (host, step) the crash left unsent
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    Host& h = hosts_[i];
    if (h.status != HostStatus::kWaiting) {  // a marker: failed or skipped
      ++wave_done_[h.wave];
      if (h.status == HostStatus::kFailed) {
        ++failed_;
        ++wave_failed_[h.wave];
      }
      continue;
    }
    if (by_host[i].empty()) continue;  // never started
    h.started = true;
    h.status = HostStatus::kRunning;
    ++running_;
    if (h.wave == header_.wave) ++active_;
    bool settled = false;
    for (h.stage = 0; h.stage < stages_.size(); ++h.stage) {
      uint32_t applicable = 0, in_flight = 0;
      bool failed = false;
      std::vector<uint32_t> missing;
      for (uint32_t step : stages_[h.stage]) {
        if (!Applies(step, i)) continue;
        ++applicable;
        auto seen = by_host[i].find(step);
        if (seen == by_host[i].end()) {
          missing.push_back(step);
        } else if (!seen->second.done) {
          ++in_flight;
        } else if (!seen->second.ok && step_on_failure_[step] == OnFailure::kStop) {
          failed = true;
        }
      }
      if (applicable == 0) continue;
      if (missing.size() == applicable) {  // the crash came between two stages
        if (may_start) {
          to_advance.push_back(i);
        } else {
          Finish(i, HostStatus::kStopped);
        }
        settled = true;
        break;
      }
      if (in_flight > 0 || !missing.empty()) {
        h.in_flight = in_flight;
        h.stage_failed = failed;
        for (uint32_t step : missing) {
          if (may_start) {
            ++h.in_flight;
            to_start.emplace_back(i, step);
          }
        }
        if (h.in_flight == 0) Finish(i, failed ? HostStatus::kFailed : HostStatus::kStopped);
        settled = true;
        break;
      }
      if (failed) {
        Finish(i, HostStatus::kFailed);
        settled = true;
        break;
      }
    }
    if (!settled) Finish(i, HostStatus::kOk);
  }
  next_in_wave_ = wave_begin_.empty() ? 0 : wave_begin_[header_.wave];
  for (auto [i, step] : to_start) env_.StartStep(plan_.hosts[i], step);
  for (uint32_t i : to_advance) Advance(i);
  CheckBudget();
  PrestageLaterWaves();
  Pump(now_ms);
}

Rollout::Counts Rollout::counts() const {
  Counts c;
  for (const Host& h : hosts_) {
    switch (h.status) {
      case HostStatus::kWaiting:
      case HostStatus::kUnreachable:
        ++c.waiting;
        break;
      case HostStatus::kRunning:
        ++c.running;
        break;
      case HostStatus::kOk:
        ++c.ok;
        break;
      case HostStatus::kFailed:
        ++c.failed;
        break;
      case HostStatus::kSkipped:
        ++c.skipped;
        break;
      case HostStatus::kStopped:
        ++c.stopped;
        break;
    }
  }
  return c;
}

HostStatus Rollout::status(const std::string& host) const {
  auto it = index_.find(host);
  return it == index_.end() ? HostStatus::kWaiting : hosts_[it->second].status;
}

uint32_t Rollout::WaveOf(const std::string& host) const {
  auto it = index_.find(host);
  return it == index_.end() ? UINT32_MAX : hosts_[it->second].wave;
}

std::vector<std::string> Rollout::NeverStarted() const {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < hosts_.size(); ++i) {
    const Host& h = hosts_[i];
    if (!h.started && (h.status == HostStatus::kWaiting || h.status == HostStatus::kUnreachable ||
                       h.status == HostStatus::kStopped)) {
      out.push_back(plan_.hosts[i]);
    }
  }
  return out;
}

std::string Rollout::CurrentStepName() const {
  std::map<uint32_t, uint32_t> on_stage;
  for (const Host& h : hosts_) {
    if (h.status == HostStatus::kRunning && h.stage < stages_.size()) ++on_stage[h.stage];
  }
  if (on_stage.empty()) return "";
  auto best = std::max_element(on_stage.begin(), on_stage.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  std::string name;
  for (uint32_t step : stages_[best->first]) {
    if (!name.empty()) name += " + ";
    name += StepName(step);
  }
  return name;
}

}  // namespace shoal::planner::jobs
