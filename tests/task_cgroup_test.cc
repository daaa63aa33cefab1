// Task cgroups against the real kernel: each task in its own cgroup v2, escapees killed with the
// cgroup, a task over its memory limit OOM-killed and reported so, leftovers of a dead agent
// killed at the next start, and tasks dying with their agent (PR_SET_PDEATHSIG).
//
// Needs root (or a delegated subtree) and a cgroup2 mount; each case says why it skips.
#include "node/agent/task_cgroup.h"

#include <capnp/message.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "node/agent/agent_messages.h"
#include "node/agent/policy.h"
#include "node/agent/task_runner.h"
#include "tests/support/process.h"

namespace shoal::node {
namespace {
namespace fs = std::filesystem;
using shoal::testing::TempDir;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A process is gone once /proc has no entry or only a zombie.
bool Gone(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  return stat.empty() || stat.find(") Z") != std::string::npos;
}

bool Eventually(const std::function<bool()>& probe) {
  for (int i = 0; i < 2000; ++i) {  // bounded polling of a condition, 20 s at most
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The cgroup2 mount point, or empty.
fs::path Cgroup2Mount() {
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream in(line.substr(0, dash));
    std::string f, root, point;
    in >> f >> f >> f >> root >> point;
    if (root == "/") return point;
  }
  return {};
}

// A fresh cgroup v2 directory for one test, removed afterwards (a subtree of our own).
class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path mount = Cgroup2Mount();
    if (mount.empty()) GTEST_SKIP() << "no cgroup2 file system is mounted";
    std::string self;
    {
      std::ifstream cg("/proc/self/cgroup");
      std::string line;
      while (std::getline(cg, line)) {
        if (line.rfind("0::", 0) == 0) self = line.substr(3);
      }
    }
    fs::path parent = mount / fs::path(self).relative_path();
    dir_ = parent / ("shoal-test-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::error_code ec;
    if (!fs::create_directory(dir_, ec)) {
      GTEST_SKIP() << "cannot create a cgroup under " << parent << ": " << ec.message()
                   << " (run as root or give the tests a delegated cgroup)";
    }
  }
  void TearDown() override {
    if (dir_.empty()) return;
    // Children first (task cgroups and the agent's own leaf), then ours.
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      if (e.is_directory()) ::rmdir(e.path().c_str());
    }
    ::rmdir(dir_.c_str());
  }
  fs::path dir_;
};

struct Finished {
  std::string out;
  std::optional<TaskOutcome> outcome;
};

Finished RunTask(CgroupRoot* cgroups, TaskSpec spec, ResourceLimits policy_limits = {}) {
  boost::asio::io_context io;
  TaskRunner::Options options;
  options.cgroups = cgroups;
  options.limits = policy_limits;
  TaskRunner runner(io, options);
  Finished f;
  Status s = runner.Start(
      std::move(spec),
      [&](TaskId, OutputStream stream, uint64_t, std::string_view b) {
        if (stream == OutputStream::kStdout) f.out.append(b);
      },
      [&](const TaskOutcome& o) { f.outcome = o; });
  EXPECT_TRUE(s.ok()) << s.error().message;
  io.run_for(std::chrono::seconds(120));
  EXPECT_TRUE(f.outcome.has_value()) << "task did not finish";
  return f;
}

TaskSpec Script(uint64_t id, std::string body) {
  TaskSpec spec;
  spec.id = TaskId{id};
  spec.script_body = std::move(body);
  return spec;
}

TEST(ResourceLimitsTest, PolicyParsesLimitsAndTheTighterOfTwoWins) {
  auto p = Policy::Parse(
      "[exec]\nallow_interpreters = sh\nallow_accounts = *\ncgroup_root = none\n"
      "memory_max = 512M\ncpu_max = 0.5\npids_max = 64\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config().cgroup_root, "none");
  EXPECT_EQ(p->config().limits.memory_max, uint64_t{512} << 20);
  EXPECT_EQ(p->config().limits.cpus, 0.5);
  EXPECT_EQ(p->config().limits.pids_max, 64u);
  for (std::string bad : {"memory_max = 12Q", "memory_max = -1", "cpu_max = 0", "pids_max = 1M",
                          "memory_max = 99999999999T"}) {
    auto r = Policy::Parse("[exec]\n" + bad + "\n", "node.conf");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("node.conf:2"), std::string::npos) << r.error().message;
  }
  ResourceLimits a{uint64_t{100}, 2.0, {}}, b{uint64_t{50}, {}, uint64_t{10}};
  auto t = a.TightestWith(b);
  EXPECT_EQ(t.memory_max, 50u);
  EXPECT_EQ(t.cpus, 2.0);
  EXPECT_EQ(t.pids_max, 10u);
}

TEST(ResourceLimitsTest, ATaskAskingForLimitsWithoutACgroupSubtreeIsRefused) {
  boost::asio::io_context io;
  TaskRunner runner(io, {});
  TaskSpec spec = Script(1, "true");
  spec.limits.memory_max = 1 << 20;
  Status s = runner.Start(std::move(spec), nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("cgroup"), std::string::npos) << s.error().message;
}

TEST_F(CgroupTest, EachTaskRunsInItsOwnCgroupWhichIsRemovedAfterwards) {
  auto root = CgroupRoot::Open(dir_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  auto f = RunTask(root->get(), Script(41, "cat /proc/self/cgroup"));
  EXPECT_EQ(f.outcome->exit_code, 0);
  EXPECT_NE(f.out.find("0::/" + fs::relative(dir_, Cgroup2Mount()).string() + "/task-41\n"),
            std::string::npos)
      << f.out;
  EXPECT_FALSE(fs::exists(dir_ / "task-41"));
}

TEST_F(CgroupTest, ATimeoutKillsTheWholeCgroupIncludingProcessesThatLeftTheGroup) {
  auto root = CgroupRoot::Open(dir_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  TempDir tmp;
  fs::path pidfile = tmp / "escapee.pid";
  // setsid puts the sleeper in a session (and process group) of its own: killing the task's
  // process group would miss it; the cgroup does not.
  TaskSpec spec = Script(42, "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > '" +
                                 pidfile.string() + "'; exec sleep 1000");
  spec.timeout = std::chrono::milliseconds(300);
  spec.kill_grace = std::chrono::milliseconds(100);
  auto f = RunTask(root->get(), std::move(spec));
  EXPECT_TRUE(f.outcome->timed_out);
  pid_t escapee = std::stoi(ReadFile(pidfile));
  EXPECT_TRUE(Eventually([&] { return Gone(escapee); })) << "escapee " << escapee << " lives";
  EXPECT_FALSE(fs::exists(dir_ / "task-42"));
}

TEST_F(CgroupTest, ATaskOverItsMemoryLimitIsKilledAndReportedAsSuch) {
  auto root = CgroupRoot::Open(dir_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  ResourceLimits limits;
  limits.memory_max = 32 << 20;
  if (auto missing = (*root)->Missing(limits); !missing.empty()) {
    GTEST_SKIP() << "cannot test memory limits here: " << missing.front()
                 << "; available: " << ReadFile(dir_ / "cgroup.controllers")
                 << "(and no writable v1 memory hierarchy either)";
  }
  // 256 MiB, touched page by page, against a 32 MiB limit (given by the policy). On a hybrid
  // host the limit is applied through the v1 memory controller (task_cgroup.h).
  TaskSpec spec = Script(43, "exec python3 -c 'b = bytearray(256 << 20); print(len(b))'");
  auto f = RunTask(root->get(), std::move(spec), limits);
  EXPECT_TRUE(f.outcome->oom_killed);
  EXPECT_EQ(f.outcome->signal, SIGKILL);
  EXPECT_EQ(f.out, "");
  capnp::MallocMessageBuilder message;
  auto result = message.initRoot<proto::TaskResult>();
  FillTaskResult(result, *f.outcome);
  EXPECT_EQ(result.getEnd(), proto::TaskEnd::SIGNALED);
  EXPECT_NE(std::string(result.getError().cStr()).find("over its memory limit"), std::string::npos);
  // Under the limit, the same task runs.
  auto small = RunTask(
      root->get(), Script(44, "exec python3 -c 'b = bytearray(4 << 20); print(len(b))'"), limits);
  EXPECT_FALSE(small.outcome->oom_killed);
  EXPECT_EQ(small.outcome->exit_code, 0);
}

TEST_F(CgroupTest, ALimitTheSubtreeCannotApplyRefusesTheTask) {
  auto root = CgroupRoot::Open(dir_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  ResourceLimits limits;
  limits.pids_max = 10;
  if ((*root)->Missing(limits).empty()) GTEST_SKIP() << "the pids controller is available here";
  boost::asio::io_context io;
  TaskRunner::Options options;
  options.cgroups = root->get();
  TaskRunner runner(io, options);
  TaskSpec spec = Script(45, "true");
  spec.limits = limits;
  Status s = runner.Start(std::move(spec), nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("pids_max"), std::string::npos) << s.error().message;
}

TEST_F(CgroupTest, LeftoversOfADeadAgentAreKilledAtTheNextStart) {
  // What a SIGKILLed agent leaves: a task cgroup with a process in it.
  fs::create_directory(dir_ / "task-46");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::ofstream(dir_ / "task-46" / "cgroup.procs") << "0";
    ::execl("/bin/sleep", "sleep", "1000", nullptr);
    ::_exit(127);
  }
  ASSERT_TRUE(Eventually([&] {
    return ReadFile(dir_ / "task-46" / "cgroup.procs").find(std::to_string(child)) !=
           std::string::npos;
  }));
  auto root = CgroupRoot::Open(dir_);
  ASSERT_TRUE(root.ok()) << root.error().message;
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(fs::exists(dir_ / "task-46"));
}

TEST(PdeathsigTest, ATaskDiesWithTheAgentThatStartedIt) {
  TempDir tmp;
  fs::path pidfile = tmp / "task.pid";
  pid_t agent = ::fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {  // a stand-in agent: runs one long task, then is SIGKILLed by the test
    boost::asio::io_context io;
    TaskRunner runner(io, {});
    TaskSpec spec = Script(47, "echo $$ > '" + pidfile.string() + ".tmp'; mv '" + pidfile.string() +
                                   ".tmp' '" + pidfile.string() + "'; exec sleep 1000");
    if (!runner.Start(std::move(spec), nullptr, nullptr).ok()) ::_exit(1);
    io.run();
    ::_exit(0);
  }
  ASSERT_TRUE(Eventually([&] { return fs::exists(pidfile); }));
  pid_t task = std::stoi(ReadFile(pidfile));
  ::kill(agent, SIGKILL);
  ::waitpid(agent, nullptr, 0);
  EXPECT_TRUE(Eventually([&] { return Gone(task); })) << "task " << task << " outlived its agent";
}

}  // namespace
}  // namespace shoal::node
