// The rollout engine alone (planner/jobs/rollout.h), driven through its Env with a hand-moved
// clock: waves, the concurrency window, budgets (exceed, not reach), gates, unreachable hosts,
// `on:` and parallel stages, pre-staging, and rebuilding a run from its tasks after a restart.
// The planner wiring and real nodes are covered end to end in job_e2e_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "planner/jobs/rollout.h"

namespace shoal::planner::jobs {
namespace {

struct Started {
  std::string host;
  uint32_t step;
  bool operator==(const Started&) const = default;
};

class FakeEnv : public Rollout::Env {
 public:
  std::set<std::string> online;
  std::vector<Started> started;
  std::vector<std::pair<std::string, uint32_t>> prestaged;
  std::vector<std::pair<std::string, bool>> marked;  // host, skipped
  int header_writes = 0;

  bool Online(const std::string& host) override { return online.count(host) != 0; }
  void StartStep(const std::string& host, uint32_t step) override {
    started.push_back({host, step});
  }
  void MarkHost(const std::string& host, bool skipped, const std::string&) override {
    marked.emplace_back(host, skipped);
  }
  void Prestage(const std::string& host, uint32_t artifact) override {
    prestaged.emplace_back(host, artifact);
  }
  void HeaderChanged() override { ++header_writes; }

  // Started steps not yet answered, in order.
  std::vector<Started> Take() {
    auto out = std::move(started);
    started.clear();
    return out;
  }
};

Step Command(std::string name, OnFailure on_failure = OnFailure::kStop) {
  Step s;
  s.kind = Step::Kind::kCommand;
  s.name = std::move(name);
  s.command.run = "true";
  s.on_failure = on_failure;
  return s;
}

Job OneStepJob(Budget budget = {}) {
  Job job;
  job.name = "test";
  job.max_failed = budget;
  job.stages.push_back({{Command("cmd")}});
  return job;
}

RolloutPlan Plan(uint32_t hosts, std::vector<uint32_t> waves, uint32_t steps = 1) {
  RolloutPlan plan;
  for (uint32_t i = 0; i < hosts; ++i) plan.hosts.push_back("h" + std::to_string(i));
  plan.wave_sizes = std::move(waves);
  plan.step_hosts.assign(steps, std::nullopt);
  return plan;
}

std::vector<std::string> Hosts(const std::vector<Started>& s) {
  std::vector<std::string> out;
  for (auto& x : s) out.push_back(x.host);
  return out;
}

struct Fixture {
  FakeEnv env;
  std::unique_ptr<Rollout> rollout;
  int64_t now = 1000;

  Fixture(Job job, RolloutPlan plan, bool all_online = true) {
    if (all_online) env.online.insert(plan.hosts.begin(), plan.hosts.end());
    rollout = std::make_unique<Rollout>(std::move(job), std::move(plan), env);
  }
  // Answers every started step (ok unless the host is in `fail`).
  void AnswerAll(const std::set<std::string>& fail = {}) {
    for (auto& s : env.Take()) rollout->OnResult(s.host, s.step, !fail.count(s.host), now);
  }
};

TEST(RolloutTest, WavesRunOneAfterAnother) {
  Fixture f(OneStepJob(), Plan(8, {1, 3, 4}));
  f.rollout->Start(f.now);
  EXPECT_EQ(Hosts(f.env.started), (std::vector<std::string>{"h0"}));
  f.AnswerAll();
  EXPECT_EQ(Hosts(f.env.started), (std::vector<std::string>{"h1", "h2", "h3"}));
  EXPECT_EQ(f.rollout->header().wave, 1u);
  f.AnswerAll();
  EXPECT_EQ(f.env.started.size(), 4u);
  f.AnswerAll();
  EXPECT_EQ(f.rollout->header().phase, Phase::kSucceeded);
  EXPECT_TRUE(f.rollout->finished());
  EXPECT_EQ(f.rollout->counts().ok, 8u);
}

TEST(RolloutTest, BudgetHaltsWhenExceededNotWhenReached) {
  {  // max_failed 1: one failure is tolerated
    Fixture f(OneStepJob({Budget::Kind::kCount, 1}), Plan(8, {1, 3, 4}));
    f.rollout->Start(f.now);
    f.AnswerAll();
    f.AnswerAll({"h2"});
    EXPECT_EQ(f.rollout->header().phase, Phase::kRunning);
    f.AnswerAll();
    EXPECT_EQ(f.rollout->header().phase, Phase::kCompleted);
    EXPECT_EQ(f.rollout->counts().failed, 1u);
    EXPECT_EQ(f.rollout->counts().ok, 7u);
  }
  {  // max_failed 0: the first failure halts; the third wave never starts
    Fixture f(OneStepJob({Budget::Kind::kCount, 0}), Plan(8, {1, 3, 4}));
    f.rollout->Start(f.now);
    f.AnswerAll();
    auto wave2 = f.env.Take();
    ASSERT_EQ(wave2.size(), 3u);
    f.rollout->OnResult(wave2[0].host, 0, false, f.now);
    EXPECT_EQ(f.rollout->header().phase, Phase::kHalted);
    EXPECT_FALSE(f.rollout->finished());  // two hosts still in flight
    f.rollout->OnResult(wave2[1].host, 0, true, f.now);
    f.rollout->OnResult(wave2[2].host, 0, true, f.now);
    EXPECT_TRUE(f.rollout->finished());
    EXPECT_TRUE(f.env.started.empty());
    EXPECT_EQ(f.rollout->NeverStarted(),
              (std::vector<std::string>{"h4", "h5", "h6", "h7"}));
    EXPECT_NE(f.rollout->header().why.find("more than max_failed 0"), std::string::npos);
  }
  {  // 25% of a 4-host wave tolerates one failure, not two
    Fixture f(OneStepJob({Budget::Kind::kPercent, 25}), Plan(4, {4}));
    f.rollout->Start(f.now);
    auto s = f.env.Take();
    f.rollout->OnResult(s[0].host, 0, false, f.now);
    EXPECT_EQ(f.rollout->header().phase, Phase::kRunning);
    f.rollout->OnResult(s[1].host, 0, false, f.now);
    EXPECT_EQ(f.rollout->header().phase, Phase::kHalted);
  }
}

TEST(RolloutTest, ConcurrencyIsASlidingWindow) {
  Job job = OneStepJob();
  job.concurrency = 2;
  Fixture f(std::move(job), Plan(5, {5}));
  f.rollout->Start(f.now);
  auto first = f.env.Take();
  ASSERT_EQ(first.size(), 2u);
  f.rollout->OnResult(first[0].host, 0, true, f.now);  // one ends: exactly one more starts
  EXPECT_EQ(f.env.Take().size(), 1u);
  f.rollout->OnResult(first[1].host, 0, true, f.now);
  EXPECT_EQ(f.env.Take().size(), 1u);
}

TEST(RolloutTest, StagesRunInOrderWithParallelStepsAndOnNarrowing) {
  Job job;
  job.name = "stages";
  job.stages.push_back({{Command("a"), Command("b")}});  // parallel: a on h0, b on h1
  job.stages.push_back({{Command("restart")}});
  job.verify = CommandStep{};
  RolloutPlan plan = Plan(2, {2}, 4);
  plan.step_hosts[0] = std::vector<uint32_t>{0};
  plan.step_hosts[1] = std::vector<uint32_t>{1};
  Fixture f(std::move(job), std::move(plan));
  f.rollout->Start(f.now);
  EXPECT_EQ(f.env.started, (std::vector<Started>{{"h0", 0}, {"h1", 1}}));
  f.AnswerAll();
  EXPECT_EQ(f.env.started, (std::vector<Started>{{"h0", 2}, {"h1", 2}}));
  f.AnswerAll({"h1"});  // h1's restart fails: it stops there, no verify
  EXPECT_EQ(f.env.started, (std::vector<Started>{{"h0", 3}}));
  f.AnswerAll();
  EXPECT_EQ(f.rollout->status("h0"), HostStatus::kOk);
  EXPECT_EQ(f.rollout->status("h1"), HostStatus::kFailed);
}

TEST(RolloutTest, ContinueOnFailureIsNotCountedAndTheHostGoesOn) {
  Job job;
  job.name = "continue";
  job.stages.push_back({{Command("may-fail", OnFailure::kContinue)}});
  job.stages.push_back({{Command("next")}});
  Fixture f(std::move(job), Plan(1, {1}, 2));
  f.rollout->Start(f.now);
  f.AnswerAll({"h0"});
  EXPECT_EQ(f.env.started, (std::vector<Started>{{"h0", 1}}));
  f.AnswerAll();
  EXPECT_EQ(f.rollout->header().phase, Phase::kSucceeded);
}

TEST(RolloutTest, ManualAndTimedPauses) {
  {
    Job job = OneStepJob();
    job.pause.kind = Pause::Kind::kManual;
    Fixture f(std::move(job), Plan(3, {1, 2}));
    f.rollout->Start(f.now);
    f.AnswerAll();
    EXPECT_EQ(f.rollout->header().phase, Phase::kPaused);
    EXPECT_TRUE(f.env.started.empty());
    EXPECT_FALSE(f.rollout->NextWakeMs().has_value());
    ASSERT_TRUE(f.rollout->Resume(f.now).ok());
    EXPECT_EQ(f.env.Take().size(), 2u);
    EXPECT_FALSE(f.rollout->Resume(f.now).ok());  // not paused any more
  }
  {
    Job job = OneStepJob();
    job.pause = {Pause::Kind::kTimed, Millis(300000)};
    Fixture f(std::move(job), Plan(3, {1, 2}));
    f.rollout->Start(f.now);
    f.AnswerAll();
    ASSERT_EQ(f.rollout->NextWakeMs(), f.now + 300000);
    f.rollout->Tick(f.now + 299999);
    EXPECT_TRUE(f.env.started.empty());
    f.rollout->Tick(f.now + 300000);
    EXPECT_EQ(f.env.Take().size(), 2u);
  }
}

TEST(RolloutTest, UnreachableHostsFailSkipOrAreWaitedFor) {
  {  // fail (the default): counts against the budget
    Fixture f(OneStepJob({Budget::Kind::kCount, 0}), Plan(3, {3}), false);
    f.env.online = {"h0", "h1"};
    f.rollout->Start(f.now);
    EXPECT_EQ(f.env.marked, (std::vector<std::pair<std::string, bool>>{{"h2", false}}));
    EXPECT_EQ(f.rollout->header().phase, Phase::kHalted);
  }
  {  // skip: not counted
    Job job = OneStepJob();
    job.unreachable = Unreachable::kSkip;
    Fixture f(std::move(job), Plan(2, {2}), false);
    f.env.online = {"h0"};
    f.rollout->Start(f.now);
    f.AnswerAll();
    EXPECT_EQ(f.rollout->header().phase, Phase::kSucceeded);
    EXPECT_EQ(f.rollout->counts().skipped, 1u);
  }
  {  // unreachable_wait: a host back in time is picked up, one that is not gives up
    Job job = OneStepJob({Budget::Kind::kCount, 5});
    job.unreachable_wait = Millis(60000);
    Fixture f(std::move(job), Plan(3, {3}), false);
    f.env.online = {"h0"};
    f.rollout->Start(f.now);
    EXPECT_EQ(f.env.Take().size(), 1u);
    f.env.online.insert("h1");
    f.rollout->OnOnline("h1", f.now + 1000);
    EXPECT_EQ(f.env.started, (std::vector<Started>{{"h1", 0}}));
    f.AnswerAll();
    EXPECT_EQ(f.rollout->NextWakeMs(), f.now + 60000);
    f.rollout->Tick(f.now + 60000);
    EXPECT_EQ(f.env.marked, (std::vector<std::pair<std::string, bool>>{{"h2", false}}));
  }
}

TEST(RolloutTest, PrestagesLaterWavesAtStart) {
  RolloutPlan plan = Plan(4, {1, 3});
  plan.artifacts = {"sha256:aa"};
  Fixture f(OneStepJob(), std::move(plan), false);
  f.env.online = {"h0", "h1", "h2"};  // h3 comes later
  f.rollout->Start(f.now);
  EXPECT_EQ(f.env.prestaged,
            (std::vector<std::pair<std::string, uint32_t>>{{"h1", 0}, {"h2", 0}}));
  f.env.online.insert("h3");
  f.rollout->OnOnline("h3", f.now);
  EXPECT_EQ(f.env.prestaged.back(), (std::pair<std::string, uint32_t>{"h3", 0}));
  EXPECT_TRUE(f.rollout->OnResult("h1", kPrestage, true, f.now));  // ignored by the rollout
  EXPECT_EQ(f.rollout->status("h1"), HostStatus::kWaiting);
}

TEST(RolloutTest, CancelStartsNothingNew) {
  Fixture f(OneStepJob(), Plan(4, {2, 2}));
  f.rollout->Start(f.now);
  auto running = f.rollout->Cancel("alice");
  EXPECT_EQ(running, (std::vector<std::string>{"h0", "h1"}));
  f.AnswerAll();
  EXPECT_TRUE(f.rollout->finished());
  EXPECT_TRUE(f.env.started.empty());
  EXPECT_EQ(f.rollout->header().why, "cancelled by alice");
  EXPECT_EQ(f.rollout->NeverStarted(), (std::vector<std::string>{"h2", "h3"}));
}

// A restart: the run is rebuilt from its header and tasks. Steps that have a task are never
// started again; in-flight ones are awaited; the rollout carries on from where it was.
TEST(RolloutTest, RestoreCarriesOnWithoutRepeatingAStep) {
  Job job;
  job.name = "restore";
  job.stages.push_back({{Command("fetch")}});
  job.stages.push_back({{Command("run")}});
  RolloutHeader header;
  header.wave = 1;
  std::vector<TaskFact> facts = {
      {"h0", 0, true, true}, {"h0", 1, true, true},  // wave 1: done
      {"h1", 0, true, true}, {"h1", 1, false},       // in flight
      {"h2", 0, true, true},                         // between its stages at the crash
      {"h3", 0, false},                              // in flight
  };
  FakeEnv env;
  env.online = {"h0", "h1", "h2", "h3", "h4"};
  Rollout r(job, Plan(5, {1, 4}, 2), env);
  r.HoldNewHostsUntil(5000);
  r.Restore(header, facts, 1000);
  // Only h2's second step starts; h4 (never started) waits for the hold to pass.
  EXPECT_EQ(env.started, (std::vector<Started>{{"h2", 1}}));
  EXPECT_EQ(r.status("h0"), HostStatus::kOk);
  env.started.clear();
  r.Tick(5000);
  EXPECT_EQ(env.started, (std::vector<Started>{{"h4", 0}}));
  EXPECT_FALSE(r.OnResult("h0", 0, true, 5000));  // a step it already has
  r.OnResult("h1", 1, true, 5000);
  r.OnResult("h2", 1, true, 5000);
  r.OnResult("h3", 0, true, 5000);
  r.OnResult("h3", 1, true, 5000);
  r.OnResult("h4", 0, true, 5000);
  r.OnResult("h4", 1, true, 5000);
  EXPECT_EQ(r.header().phase, Phase::kSucceeded);
}

TEST(RolloutTest, RestoreKeepsAHaltedRunHalted) {
  RolloutHeader header;
  header.phase = Phase::kHalted;
  header.why = "budget";
  FakeEnv env;
  env.online = {"h0", "h1", "h2"};
  Rollout r(OneStepJob(), Plan(3, {1, 2}), env);
  r.Restore(header, {{"h0", 0, true, false}}, 1000);
  EXPECT_TRUE(env.started.empty());
  EXPECT_TRUE(r.finished());
  EXPECT_EQ(r.counts().failed, 1u);
  EXPECT_EQ(r.NeverStarted(), (std::vector<std::string>{"h1", "h2"}));
}

TEST(RolloutTest, TenThousandHostsInOneWave) {
  Fixture f(OneStepJob(), Plan(10000, {1, 100, 1000, 8899}));
  f.rollout->Start(f.now);
  for (int wave = 0; wave < 4; ++wave) f.AnswerAll();
  EXPECT_EQ(f.rollout->header().phase, Phase::kSucceeded);
  EXPECT_EQ(f.rollout->counts().ok, 10000u);
}

}  // namespace
}  // namespace shoal::planner::jobs
