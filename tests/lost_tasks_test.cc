// Hosts that vanish with a task in flight, over a real shoal-planner, node agents and the
// `shoal` CLI on 127.0.0.1: once the host has been offline for --lost-after, its task ends as
// `lost` and its run finishes (an ad-hoc run) or moves on (a job run, across a planner restart
// too); when the host comes back after all, its late result is acknowledged and ignored.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/control_fixture.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

// The fixture's heartbeats are 500 ms (offline after 2.5 s of silence); lost after 2 s offline.
const std::vector<std::string> kQuickLoss = {"--lost-after", "2s"};

class LostTasksTest : public ::testing::Test {
 protected:
  TempDir dir;
  ControlPlane cp{dir};
};

TEST_F(LostTasksTest, AnAdHocRunWhoseHostVanishesEndsItsTaskAsLostAndIgnoresALateResult) {
  cp.StartPlanner(kQuickLoss);
  cp.StartNode("web-1");
  cp.StartNode("gone");
  auto started = cp.Cli({"run", "echo started-$SHOAL_NODE; test $SHOAL_NODE = web-1 || sleep 600",
                         "--on", "all", "--no-wait"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  const std::string id = RunIdIn(started);
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", id, "gone"}).out.find("started-gone") != std::string::npos;
  }));
  cp.KillNode("gone");

  // The closed connection marks the host offline at once; 2 s later it is lost.
  // (`logs RUN` heads each host's output with how its task ended.)
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", id}).out.find("(lost") != std::string::npos;
  })) << cp.Cli({"logs", id}).out;
  auto logs = cp.Cli({"logs", id, "gone"});
  EXPECT_NE(logs.out.find("started-gone"), std::string::npos) << logs.out;  // output kept
  // The run is over: web-1 ok, `gone` failed.
  auto runs = cp.Cli({"runs"}).out;
  EXPECT_NE(runs.find("[done]"), std::string::npos) << runs;
  EXPECT_NE(runs.find("    1     1      2"), std::string::npos) << runs;  // OK FAIL HOSTS
  EXPECT_NE(cp.PlannerLog().find("host gone lost with task"), std::string::npos) << cp.PlannerLog();

  // The host comes back: its agent reports the task interrupted; the planner takes it (the
  // outbox drains) and keeps `lost`.
  cp.StartNode("gone");
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.PlannerLog().find("gone: late result for task") != std::string::npos;
  })) << cp.PlannerLog();
  auto after = cp.Cli({"logs", id});
  EXPECT_NE(after.out.find("(lost"), std::string::npos) << after.out;
  EXPECT_EQ(after.out.find("interrupted"), std::string::npos) << after.out;
  // And it runs new work normally.
  auto again = cp.Cli({"run", "echo back-$SHOAL_NODE", "--on", "gone"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(cp.Cli({"logs", RunIdIn(again), "gone"}).out, "back-gone\n");
}

TEST_F(LostTasksTest, AJobRunWhoseHostVanishesMovesOnAlsoAcrossAPlannerRestart) {
  cp.StartPlanner(kQuickLoss);
  cp.StartNode("web-1", {"--label", "role=web"});
  cp.StartNode("web-2", {"--label", "role=web"});
  fs::path job = dir / "job.yaml";
  // web-1 finishes at once; web-2 hangs until its host is killed. One failure is allowed.
  std::ofstream(job) << "name: hang\n"
                        "targets: [role=web]\n"
                        "max_failed: 1\n"
                        "steps:\n"
                        "  - command:\n"
                        "      run: |\n"
                        "        echo started-$SHOAL_NODE\n"
                        "        test $SHOAL_NODE = web-1 || sleep 600\n";
  auto applied = cp.Cli({"apply", job.string(), "--detach"});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  const std::string id = RunIdIn(applied);
  ASSERT_FALSE(id.empty()) << applied.out;
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", id, "web-2"}).out.find("started-web-2") != std::string::npos;
  }));

  // The host and the planner die; only the planner comes back. The host counts as offline
  // from the restart, so the task is lost 2 s later, not at once.
  cp.KillNode("web-2");
  cp.KillPlanner();
  cp.StartPlanner(kQuickLoss);
  auto watched = cp.Cli({"watch", id});
  EXPECT_EQ(watched.exit_code, 2) << watched.out << watched.err;  // completed, one host failed
  EXPECT_NE(watched.out.find("lost"), std::string::npos) << watched.out;
  auto runs = cp.Cli({"runs"}).out;
  EXPECT_NE(runs.find(id + " "), std::string::npos) << runs;
  EXPECT_EQ(runs.find("[running]"), std::string::npos) << runs;
  EXPECT_FALSE(cp.Online("web-2"));
}

TEST_F(LostTasksTest, ABadLostAfterIsRefusedAtStart) {
  TempDir state;
  const std::string planner = (BinDir() / "shoal-planner").string();
  ASSERT_EQ(RunCommand(planner, {"init", "--state-dir", state.path().string()}).exit_code, 0);
  auto r = RunCommand(planner, {"serve", "--state-dir", state.path().string(), "--listen",
                                "127.0.0.1:0", "--lost-after", "10x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--lost-after 10x"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace shoal::testing
