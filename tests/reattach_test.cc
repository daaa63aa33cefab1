// CLI clients that lose their planner: `shoal apply`, `shoal run` and `shoal watch` against a
// real shoal-planner that is SIGKILLed mid-run and restarted (same port, same state), real
// shoal-node-agent processes, the real `shoal` binary as a child process. The client must say
// that it lost the planner (with the run id), re-attach, and exit with the run's real code;
// a planner that never comes back ends the client with exit 1 once --reattach-timeout passes,
// and one that hangs (SIGSTOP: connection open, nothing answers) is noticed by
// --planner-timeout.
// And the idempotency that makes re-sending a start safe: a repeated request id is one run,
// also across a planner restart.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <regex>

#include "tests/control_fixture.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

class ReattachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cp.StartPlanner();
    cp.StartNode("a");
    cp.StartNode("b");
  }
  // A command that waits for the test's "go" file, so the run cannot end while the planner is
  // down; host `fail_host` then exits 1.
  std::string WaitForGo(const std::string& fail_host = "none") const {
    return "while [ ! -e '" + (dir / "go").string() + "' ]; do sleep 0.05; done; echo done; " +
           "test \"$SHOAL_NODE\" != " + fail_host;
  }
  fs::path Job(const std::string& max_failed, const std::string& fail_host) {
    fs::path path = dir / "job.yaml";
    std::ofstream(path) << "name: reattach\n"
                           "targets: [all]\n"
                           "max_failed: " << max_failed << "\n"
                           "steps:\n"
                           "  - command:\n"
                           "      run: |\n"
                           "        " << WaitForGo(fail_host) << "\n";
    return path;
  }
  // Starts the CLI in the background with the planner dir appended.
  std::unique_ptr<ChildProcess> Background(std::vector<std::string> args) {
    args.insert(args.end(), {"--planner-dir", cp.planner_dir().string()});
    return std::make_unique<ChildProcess>("shoal", args, dir / ("cli-" + std::to_string(++clis)));
  }
  // The run id once the client printed "run N..." on stdout.
  static std::string RunIdOf(ChildProcess& cli) {
    std::string id;
    EXPECT_TRUE(ControlPlane::Eventually([&] {
      std::smatch m;
      std::string out = cli.Stdout();
      if (!std::regex_search(out, m, std::regex(R"(run (\d+))"))) return false;
      id = m[1];
      return true;
    })) << cli.Stderr();
    return id;
  }
  static int ExitCode(ChildProcess& cli) {
    int status = cli.Wait(std::chrono::seconds(120));
    return status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // SIGKILLs the planner once the client is following run `id`, waits until the client noticed,
  // restarts the planner and lets the command finish.
  void KillAndRestartPlanner(ChildProcess& cli, const std::string& id) {
    cp.KillPlanner();
    ASSERT_TRUE(ControlPlane::Eventually([&] {
      return cli.Stderr().find("planner connection lost (run " + id + ")") != std::string::npos;
    })) << cli.Stderr();
    cp.StartPlanner();
    std::ofstream(dir / "go") << "go";
  }
  int RunsListed() {
    auto runs = cp.Cli({"runs"});
    EXPECT_EQ(runs.exit_code, 0) << runs.err;
    return static_cast<int>(std::count(runs.out.begin(), runs.out.end(), '\n')) - 1;  // header
  }

  TempDir dir;
  ControlPlane cp{dir};
  int clis = 0;
};

TEST_F(ReattachTest, ApplyReattachesAfterAPlannerSigkillAndExitsWithTheRunsCode) {
  // max_failed 1 with one failing host: the run completes with a failure, exit 2.
  auto cli = Background({"apply", Job("1", "b").string(), "--quiet"});
  std::string id = RunIdOf(*cli);
  KillAndRestartPlanner(*cli, id);
  ASSERT_EQ(ExitCode(*cli), 2) << cli->Stdout() << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("re-attached to the planner (run " + id + ")"), std::string::npos)
      << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("run " + id + " completed"), std::string::npos) << cli->Stderr();
  std::string out = cli->Stdout();
  EXPECT_NE(out.find(" a "), std::string::npos) << out;
  EXPECT_NE(out.find(" b "), std::string::npos) << out;
  EXPECT_EQ(RunsListed(), 1);
}

TEST_F(ReattachTest, RunReattachesAfterAPlannerSigkill) {
  auto cli = Background({"run", WaitForGo(), "--on", "all", "--quiet"});
  std::string id = RunIdOf(*cli);
  KillAndRestartPlanner(*cli, id);
  ASSERT_EQ(ExitCode(*cli), 0) << cli->Stdout() << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("re-attached to the planner (run " + id + ")"), std::string::npos)
      << cli->Stderr();
  std::string out = cli->Stdout();  // "run N" and a line per host
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 3) << out;
  EXPECT_EQ(cp.Cli({"logs", id, "a"}).out, "done\n");
  EXPECT_EQ(RunsListed(), 1);
}

TEST_F(ReattachTest, WatchGivesUpWithExit1WhenThePlannerNeverComesBack) {
  auto started = cp.Cli({"apply", Job("0", "none").string(), "--detach"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string id = started.out.substr(4, started.out.find(':') - 4);
  auto cli = Background({"watch", id, "--reattach-timeout", "2"});
  // Following the run (its first status line) before the planner dies.
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cli->Stderr().find("] run " + id + " ") != std::string::npos; }))
      << cli->Stderr();
  cp.KillPlanner();
  ASSERT_EQ(ExitCode(*cli), 1) << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("planner connection lost (run " + id + ")"), std::string::npos)
      << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("gave up re-attaching"), std::string::npos) << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("shoal watch " + id), std::string::npos) << cli->Stderr();
}

TEST_F(ReattachTest, RunNoticesAHungPlannerWithinItsTimeoutAndReattachesWhenItAnswers) {
  // SIGSTOP: the planner's kernel keeps the connection open and even accepts new ones, but
  // nothing answers. Only --planner-timeout can tell.
  auto cli = Background({"run", WaitForGo(), "--on", "all", "--quiet", "--planner-timeout", "1"});
  std::string id = RunIdOf(*cli);
  cp.planner().Kill(SIGSTOP);
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cli->Stderr().find("planner connection lost (run " + id +
                              "): no answer from the planner within 1 s") != std::string::npos;
  })) << cli->Stderr();
  std::ofstream(dir / "go") << "go";
  cp.planner().Kill(SIGCONT);
  ASSERT_EQ(ExitCode(*cli), 0) << cli->Stdout() << cli->Stderr();
  EXPECT_NE(cli->Stderr().find("re-attached to the planner (run " + id + ")"), std::string::npos)
      << cli->Stderr();
  EXPECT_EQ(cp.Cli({"logs", id, "b"}).out, "done\n");
  EXPECT_EQ(RunsListed(), 1);
}

TEST_F(ReattachTest, ARepeatedRequestIdIsOneRunAlsoAfterAPlannerRestart) {
  fs::path job = Job("0", "none");
  std::ofstream(dir / "go") << "go";
  auto first = cp.Cli({"apply", job.string(), "--detach", "--request-id", "deploy-1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto again = cp.Cli({"apply", job.string(), "--detach", "--request-id", "deploy-1"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, first.out);
  cp.KillPlanner();
  cp.StartPlanner();
  auto after = cp.Cli({"apply", job.string(), "--detach", "--request-id", "deploy-1"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out.substr(0, after.out.find(':')), first.out.substr(0, first.out.find(':')));
  // Ad-hoc runs too; another id is another run.
  auto r1 = cp.Cli({"run", "true", "--on", "all", "--no-wait", "--request-id", "cmd-1"});
  auto r2 = cp.Cli({"run", "true", "--on", "all", "--no-wait", "--request-id", "cmd-1"});
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_EQ(r2.out, r1.out);
  auto other = cp.Cli({"apply", job.string(), "--detach", "--request-id", "deploy-2"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(other.out.substr(0, other.out.find(':')), first.out.substr(0, first.out.find(':')));
  EXPECT_EQ(RunsListed(), 3);
  // An id past 64 characters is refused, not truncated.
  auto long_id = cp.Cli({"run", "true", "--on", "all", "--request-id", std::string(65, 'x')});
  EXPECT_EQ(long_id.exit_code, 1);
  EXPECT_NE(long_id.err.find("request id longer than 64"), std::string::npos) << long_id.err;
}

}  // namespace
}  // namespace shoal::testing
