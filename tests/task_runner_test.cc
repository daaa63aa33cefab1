// TaskRunner and Policy against real child processes: separate binary-safe streams, exit codes,
// signals, timeouts that kill the whole process group, clean environments, working directories,
// interpreters, accounts and policy refusals.
#include "node/agent/task_runner.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <fstream>

#include "node/agent/policy.h"
#include "tests/support/process.h"

namespace shoal::node {
namespace {
namespace fs = std::filesystem;
using shoal::testing::TempDir;

struct Collected {
  std::string out, err;
  std::vector<uint64_t> seqs;
  size_t max_chunk = 0;
  std::optional<TaskOutcome> outcome;
};

OutputCallback Collect(Collected& c) {
  return [&c](TaskId, OutputStream stream, uint64_t seq, std::string_view bytes) {
    (stream == OutputStream::kStdout ? c.out : c.err).append(bytes);
    c.seqs.push_back(seq);
    c.max_chunk = std::max(c.max_chunk, bytes.size());
  };
}

// Runs one task to completion on its own io_context.
Collected RunTask(TaskSpec spec, TaskRunner::Options options = {}) {
  boost::asio::io_context io;
  TaskRunner runner(io, options);
  Collected c;
  Status s =
      runner.Start(std::move(spec), Collect(c), [&c](const TaskOutcome& o) { c.outcome = o; });
  EXPECT_TRUE(s.ok()) << s.error().message;
  io.run_for(std::chrono::seconds(120));
  EXPECT_TRUE(c.outcome.has_value()) << "task did not finish";
  return c;
}

TaskSpec Script(std::string body, std::vector<std::string> args = {}) {
  TaskSpec spec;
  spec.id = TaskId{1};
  spec.script_body = std::move(body);
  spec.args = std::move(args);
  return spec;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Live (not zombie) processes whose process group is `pgid`, found through /proc.
std::vector<pid_t> LiveGroupMembers(pid_t pgid) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 2));
    char state;
    pid_t ppid, pgrp;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != 'Z' && state != 'X') out.push_back(std::stoi(name));
  }
  return out;
}

// Polls /proc until the group has no live member; SIGKILL delivery is asynchronous.
bool GroupGone(pid_t pgid) {
  for (int i = 0; i < 1000; ++i) {
    if (LiveGroupMembers(pgid).empty()) return true;
    usleep(10'000);
  }
  return false;
}

TEST(TaskRunnerTest, StreamsMultiMegabyteBinaryStdoutAndStderrSeparatelyAndIntact) {
  TempDir dir;
  shoal::testing::WriteRandomFile(dir / "out.bin", 5'000'000, 1);
  shoal::testing::WriteRandomFile(dir / "err.bin", 3'000'001, 2);
  // Both streams at once, so the runner must drain them concurrently.
  auto c = RunTask(Script("cat \"$1\" & cat \"$2\" >&2; wait",
                          {(dir / "out.bin").string(), (dir / "err.bin").string()}));
  ASSERT_TRUE(c.outcome);
  EXPECT_EQ(c.outcome->exit_code, 0);
  EXPECT_EQ(c.outcome->stdout_bytes, 5'000'000u);
  EXPECT_EQ(c.outcome->stderr_bytes, 3'000'001u);
  { std::ofstream(dir / "got-out.bin", std::ios::binary) << c.out; }
  { std::ofstream(dir / "got-err.bin", std::ios::binary) << c.err; }
  EXPECT_EQ(shoal::testing::Sha256Hex(dir / "got-out.bin"),
            shoal::testing::Sha256Hex(dir / "out.bin"));
  EXPECT_EQ(shoal::testing::Sha256Hex(dir / "got-err.bin"),
            shoal::testing::Sha256Hex(dir / "err.bin"));
  EXPECT_LE(c.max_chunk, 64u * 1024);
  for (size_t i = 0; i < c.seqs.size(); ++i) ASSERT_EQ(c.seqs[i], i);  // one sequence, no gaps
}

TEST(TaskRunnerTest, KeepsNulBytesAndInvalidUtf8AndHonoursChunkSize) {
  TaskRunner::Options options;
  options.chunk_size = 7;
  auto c = RunTask(Script("printf 'a\\000b\\377\\376c\\000'; printf 'x\\000\\300y' >&2; "
                          "head -c 100 /dev/zero"),
                   options);
  EXPECT_EQ(c.out, std::string("a\0b\xff\xfe"
                               "c\0",
                               7) +
                       std::string(100, '\0'));
  EXPECT_EQ(c.err, std::string("x\0\xc0y", 4));
  EXPECT_LE(c.max_chunk, 7u);
  EXPECT_GE(c.seqs.size(), 16u);
}

TEST(TaskRunnerTest, ReportsExitCodesSignalsAndTimes) {
  auto exited = RunTask(Script("exit 7"));
  EXPECT_EQ(exited.outcome->exit_code, 7);
  EXPECT_FALSE(exited.outcome->signal);
  EXPECT_FALSE(exited.outcome->succeeded());
  EXPECT_GT(exited.outcome->start_unix_ms, 1'600'000'000'000);
  EXPECT_GE(exited.outcome->end_unix_ms, exited.outcome->start_unix_ms);

  auto signalled = RunTask(Script("kill -USR1 $$; sleep 5"));
  EXPECT_FALSE(signalled.outcome->exit_code);
  EXPECT_EQ(signalled.outcome->signal, SIGUSR1);
  EXPECT_FALSE(signalled.outcome->timed_out);

  auto ok = RunTask(Script("true"));
  EXPECT_TRUE(ok.outcome->succeeded());
}

TEST(TaskRunnerTest, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  // The grandchild `sleep` would outlive a runner that killed only the shell.
  auto spec = Script("sleep 1000 & echo $! > \"$1\"; echo started; wait", {(dir / "gc").string()});
  spec.timeout = std::chrono::milliseconds(300);
  auto c = RunTask(spec);
  ASSERT_TRUE(c.outcome);
  EXPECT_TRUE(c.outcome->timed_out);
  EXPECT_EQ(c.outcome->signal, SIGTERM);
  EXPECT_EQ(c.out, "started\n");
  pid_t grandchild = std::stoi(ReadFile(dir / "gc"));
  EXPECT_TRUE(GroupGone(c.outcome->pid)) << "group " << c.outcome->pid << " still has members";
  EXPECT_TRUE(LiveGroupMembers(c.outcome->pid).empty());
  // The grandchild is dead (gone, or at most a zombie awaiting its new parent).
  EXPECT_TRUE(::kill(grandchild, 0) != 0 ||
              ReadFile("/proc/" + std::to_string(grandchild) + "/stat").find(") Z") !=
                  std::string::npos);
}

TEST(TaskRunnerTest, TimeoutEscalatesToSigkillWhenSigtermIsIgnored) {
  auto spec = Script("trap '' TERM; sleep 1000 & echo ready; wait; wait; wait");
  spec.timeout = std::chrono::milliseconds(200);
  spec.kill_grace = std::chrono::milliseconds(200);
  auto c = RunTask(spec);
  EXPECT_TRUE(c.outcome->timed_out);
  EXPECT_EQ(c.outcome->signal, SIGKILL);
  EXPECT_TRUE(GroupGone(c.outcome->pid));
}

TEST(TaskRunnerTest, LeftoverGroupMembersAreKilledWhenTheTaskExits) {
  auto c = RunTask(Script("sleep 1000 > /dev/null 2>&1 & exit 0"));
  EXPECT_EQ(c.outcome->exit_code, 0);
  EXPECT_TRUE(GroupGone(c.outcome->pid));
}

TEST(TaskRunnerTest, ProcessThatEscapedTheGroupCannotHoldTheTaskOpen) {
  TempDir dir;
  TaskRunner::Options options;
  options.drain_limit = std::chrono::milliseconds(200);
  // setsid puts the sleeper in its own session, out of reach, still holding stdout.
  auto c = RunTask(
      Script("setsid sleep 1000 & echo $! > \"$1\"; echo bye", {(dir / "pid").string()}), options);
  EXPECT_EQ(c.outcome->exit_code, 0);
  EXPECT_EQ(c.out, "bye\n");
  pid_t escaped = std::stoi(ReadFile(dir / "pid"));
  ::kill(escaped, SIGKILL);
}

TEST(TaskRunnerTest, CancelKillsARunningTask) {
  boost::asio::io_context io;
  TaskRunner runner(io, {});
  Collected c;
  auto spec = Script("echo up; exec sleep 1000");
  spec.id = TaskId{42};
  ASSERT_TRUE(runner
                  .Start(
                      spec,
                      [&](TaskId id, OutputStream, uint64_t, std::string_view b) {
                        c.out.append(b);
                        EXPECT_TRUE(runner.Cancel(id));
                      },
                      [&](const TaskOutcome& o) { c.outcome = o; })
                  .ok());
  EXPECT_TRUE(runner.IsRunning(TaskId{42}));
  EXPECT_FALSE(runner.Start(spec, nullptr, nullptr).ok()) << "a running id must be refused";
  io.run_for(std::chrono::seconds(60));
  ASSERT_TRUE(c.outcome);
  EXPECT_TRUE(c.outcome->cancelled);
  EXPECT_EQ(c.outcome->signal, SIGTERM);
  EXPECT_FALSE(runner.IsRunning(TaskId{42}));
  EXPECT_FALSE(runner.Cancel(TaskId{42}));
}

TEST(TaskRunnerTest, RunsSeveralTasksConcurrentlyOnOneThread) {
  TempDir dir;
  boost::asio::io_context io;
  TaskRunner runner(io, {});
  constexpr int kTasks = 4;
  int started = 0, done = 0;
  // Each task announces itself and then waits for "go", which the test creates only once all
  // of them are running at the same time.
  for (int i = 0; i < kTasks; ++i) {
    auto spec = Script("echo started; while [ ! -e \"$1\" ]; do sleep 0.02; done; echo $2",
                       {(dir / "go").string(), std::to_string(i)});
    spec.id = TaskId{static_cast<uint64_t>(100 + i)};
    ASSERT_TRUE(runner
                    .Start(
                        spec,
                        [&](TaskId, OutputStream, uint64_t, std::string_view b) {
                          if (b.starts_with("started") && ++started == kTasks) {
                            EXPECT_EQ(runner.running_count(), size_t{kTasks});
                            std::ofstream(dir / "go") << "";
                          }
                        },
                        [&](const TaskOutcome& o) { done += o.exit_code == 0; })
                    .ok());
  }
  io.run_for(std::chrono::seconds(60));
  EXPECT_EQ(started, kTasks);
  EXPECT_EQ(done, kTasks);
}

TEST(TaskRunnerTest, EnvironmentIsCleanPlusTheGivenVariables) {
  ::setenv("SHOAL_DAEMON_SECRET", "must-not-leak", 1);
  auto spec = Script("env");
  spec.env = {{"GREETING", "hello world"}, {"EMPTY", ""}};
  auto c = RunTask(spec);
  EXPECT_EQ(c.out.find("SHOAL_DAEMON_SECRET"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("GREETING=hello world\n"), std::string::npos);
  EXPECT_NE(c.out.find("EMPTY=\n"), std::string::npos);
  EXPECT_NE(c.out.find("PATH=/usr/local/sbin:"), std::string::npos);
  EXPECT_NE(c.out.find("HOME="), std::string::npos);
  ::unsetenv("SHOAL_DAEMON_SECRET");

  auto bad = Script("true");
  bad.env = {{"A=B", "x"}};
  boost::asio::io_context io;
  TaskRunner runner(io, {});
  EXPECT_FALSE(runner.Start(bad, nullptr, nullptr).ok());
}

TEST(TaskRunnerTest, WorkingDirectoryIsHonouredAndDefaultsToAPrivateDirectory) {
  TempDir dir;
  auto spec = Script("pwd");
  spec.working_dir = fs::canonical(dir.path());
  EXPECT_EQ(RunTask(spec).out, fs::canonical(dir.path()).string() + "\n");

  TaskRunner::Options options;
  options.scratch_dir = dir.path();
  auto c = RunTask(Script("pwd; stat -c %a .; stat -c %a \"$0\""), options);
  auto lines = c.out;
  fs::path private_dir = lines.substr(0, lines.find('\n'));
  EXPECT_EQ(private_dir.parent_path(), fs::canonical(dir.path()));
  EXPECT_NE(c.out.find("\n700\n700\n"), std::string::npos) << c.out;
  EXPECT_FALSE(fs::exists(private_dir)) << "the private directory must be removed";

  boost::asio::io_context io;
  TaskRunner runner(io, {});
  auto missing = Script("true");
  missing.working_dir = dir / "no-such-dir";
  Status s = runner.Start(missing, nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("chdir"), std::string::npos) << s.error().message;
}

TEST(TaskRunnerTest, ArgumentsAreNeverReparsedByAShell) {
  TempDir dir;
  std::vector<std::string> args = {
      "a b", "$(touch " + (dir / "pwned").string() + ")", "; ls", "-c", "'\"", ""};
  auto c = RunTask(Script("for a in \"$@\"; do printf '[%s]' \"$a\"; done", args));
  EXPECT_EQ(c.out, "[a b][$(touch " + (dir / "pwned").string() + ")][; ls][-c]['\"][]");
  EXPECT_FALSE(fs::exists(dir / "pwned"));
  // The same through stdin (sh -s -- args).
  auto spec = Script("printf '[%s]' \"$@\"", {"-x", "y z"});
  spec.body_on_stdin = true;
  EXPECT_EQ(RunTask(spec).out, "[-x][y z]");
}

TEST(TaskRunnerTest, RunsPython3FromAFileAndFromStdinAndBashAndStoredScripts) {
  auto py = Script("import sys\nprint(sum(range(10)), sys.argv[1:])\nsys.stderr.write('e')\n",
                   {"x", "y"});
  py.interpreter = Interpreter::kPython3;
  auto c = RunTask(py);
  EXPECT_EQ(c.out, "45 ['x', 'y']\n");
  EXPECT_EQ(c.err, "e");
  py.body_on_stdin = true;
  EXPECT_EQ(RunTask(py).out, "45 ['x', 'y']\n");

  auto bash = Script("echo ${BASH_VERSION:+bash}; arr=(1 2 3); echo ${#arr[@]}");
  bash.interpreter = Interpreter::kBash;
  EXPECT_EQ(RunTask(bash).out, "bash\n3\n");

  TempDir dir;
  std::ofstream(dir / "stored.sh") << "#!/bin/sh\necho stored \"$1\"\n";
  fs::permissions(dir / "stored.sh", fs::perms::owner_all);
  TaskSpec stored;
  stored.id = TaskId{9};
  stored.script_path = dir / "stored.sh";
  stored.args = {"arg"};
  EXPECT_EQ(RunTask(stored).out, "stored arg\n");
  stored.interpreter = Interpreter::kExec;
  EXPECT_EQ(RunTask(stored).out, "stored arg\n");
}

TEST(TaskRunnerTest, RejectsInvalidSpecs) {
  boost::asio::io_context io;
  TaskRunner runner(io, {});
  TaskSpec neither;
  EXPECT_FALSE(runner.Start(neither, nullptr, nullptr).ok());
  TaskSpec both = Script("true");
  both.script_path = "/bin/true";
  EXPECT_FALSE(runner.Start(both, nullptr, nullptr).ok());
  TaskSpec relative;
  relative.script_path = "bin/true";
  EXPECT_FALSE(runner.Start(relative, nullptr, nullptr).ok());
  TaskSpec exec_body = Script("true");
  exec_body.interpreter = Interpreter::kExec;
  EXPECT_FALSE(runner.Start(exec_body, nullptr, nullptr).ok());
  TaskSpec missing;
  missing.script_path = "/no/such/script";
  missing.interpreter = Interpreter::kExec;
  Status s = runner.Start(missing, nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("execve /no/such/script"), std::string::npos)
      << s.error().message;
  TaskSpec nobody_here = Script("true");
  nobody_here.run_as = "no-such-account-xyz";
  s = runner.Start(nobody_here, nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no such account"), std::string::npos);
  EXPECT_EQ(runner.running_count(), 0u);
}

TEST(TaskRunnerTest, RunsAsAnotherAccountWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  TempDir dir;
  TaskRunner::Options options;
  options.scratch_dir = dir.path();
  fs::permissions(dir.path(), fs::perms::all);  // nobody must reach its private dir
  auto spec = Script("id -u; id -g; echo $USER; cat /proc/self/status | grep ^Groups");
  spec.run_as = "nobody";
  auto c = RunTask(spec, options);
  EXPECT_EQ(c.outcome->exit_code, 0) << c.err;
  EXPECT_TRUE(c.out.starts_with("65534\n65534\nnobody\n")) << c.out;
  EXPECT_EQ(c.out.find("Groups:\t0"), std::string::npos) << "root's groups leaked: " << c.out;
}

TEST(TaskRunnerTest, ANonRootDaemonRunsTasksOnlyAsItself) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become a non-root daemon";
  // A forked copy of this test drops to nobody and plays the non-root daemon; its exit code
  // says which check failed.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) _exit(10);
    boost::asio::io_context io;
    TaskRunner::Options options;
    options.scratch_dir = "/tmp";
    TaskRunner runner(io, options);
    auto as_root = Script("true");
    as_root.run_as = "root";
    Status s = runner.Start(as_root, nullptr, nullptr);
    if (s.ok()) _exit(11);
    if (s.error().message.find("not root") == std::string::npos) _exit(12);
    std::string out;
    std::optional<TaskOutcome> outcome;
    if (!runner
             .Start(
                 Script("id -u"),
                 [&](TaskId, OutputStream, uint64_t, std::string_view b) { out.append(b); },
                 [&](const TaskOutcome& o) { outcome = o; })
             .ok()) {
      _exit(13);
    }
    io.run_for(std::chrono::seconds(30));
    _exit(outcome && outcome->exit_code == 0 && out == "65534\n" ? 0 : 14);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the _exit codes in the child above";
}

// ---- Policy ---------------------------------------------------------------------------------

TEST(PolicyTest, ParsesNodeConfAndReportsBadLines) {
  auto policy = Policy::Parse(
      "# node config\n[node]\nname = n1\n\n[exec]\nallow_interpreters = sh, python3 ; c\n"
      "allow_accounts = deploy\nallow_accounts = www-data nobody\ndeny_accounts=root\n"
      "allow_paths = /srv\n");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_EQ(policy->config().allow_interpreters, (std::vector<std::string>{"sh", "python3"}));
  EXPECT_EQ(policy->config().allow_accounts,
            (std::vector<std::string>{"deploy", "www-data", "nobody"}));

  auto unknown =
      Policy::Parse("[exec]\nallow_interpreters = sh\nallow_everything = yes\n", "n.conf");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("n.conf:3"), std::string::npos) << unknown.error().message;
  auto no_eq = Policy::Parse("[exec]\njust words\n", "n.conf");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_NE(no_eq.error().message.find("n.conf:2"), std::string::npos);
  EXPECT_FALSE(Policy::Parse("[exec\n").ok());
  EXPECT_FALSE(Policy::Parse("[exec]\nallow_interpreters = perl\n").ok());
  EXPECT_FALSE(Policy::Parse("[exec]\nallow_paths = relative/dir\n").ok());
}

TEST(PolicyTest, RefusesWithTheRuleThatRefused) {
  TempDir dir;
  fs::create_directories(dir / "srv/app");
  fs::create_directories(dir / "srv/secrets");
  fs::create_directories(dir / "elsewhere");
  fs::create_symlink(dir / "elsewhere", dir / "srv/escape");
  PolicyConfig config;
  config.allow_interpreters = {"sh", "bash"};
  config.deny_interpreters = {"bash"};
  config.allow_accounts = {"*"};
  config.deny_accounts = {"root"};
  config.allow_paths = {dir / "srv"};
  config.deny_paths = {dir / "srv/secrets"};
  auto policy = Policy::FromConfig(config);
  ASSERT_TRUE(policy.ok()) << policy.error().message;

  auto refusal = [&](TaskSpec spec) {
    auto r = policy->Admit(std::move(spec));
    return r.ok() ? std::string("admitted") : r.error().message;
  };
  auto spec = Script("true");
  spec.run_as = "nobody";
  EXPECT_EQ(refusal(spec), "admitted");
  auto py = spec;
  py.interpreter = Interpreter::kPython3;
  EXPECT_EQ(refusal(py), "policy: interpreter 'python3' is not in allow_interpreters");
  auto bash = spec;
  bash.interpreter = Interpreter::kBash;
  EXPECT_EQ(refusal(bash), "policy: interpreter 'bash' refused by deny_interpreters");
  auto root = spec;
  root.run_as = "root";
  EXPECT_EQ(refusal(root), "policy: account 'root' refused by deny_accounts");
  auto cwd = spec;
  cwd.working_dir = dir / "srv/app";
  EXPECT_EQ(refusal(cwd), "admitted");
  cwd.working_dir = dir / "srv/secrets";
  EXPECT_NE(refusal(cwd).find("refused by deny_paths"), std::string::npos) << refusal(cwd);
  cwd.working_dir = dir / "elsewhere";
  EXPECT_NE(refusal(cwd).find("not under any allow_paths root"), std::string::npos);
  cwd.working_dir = dir / "srv/escape";  // a symlink out of the root
  EXPECT_NE(refusal(cwd).find("not under any allow_paths root"), std::string::npos);
  auto script = spec;
  script.script_body.reset();
  script.script_path = dir / "srv/secrets/run.sh";
  EXPECT_NE(refusal(script).find("script_path"), std::string::npos);

  auto empty = Policy::FromConfig({});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->Admit(spec).ok()) << "an empty policy allows nothing";
}

TEST(PolicyTest, RunnerEnforcesThePolicyIncludingRunAs) {
  PolicyConfig config;
  config.allow_interpreters = {"sh"};
  config.allow_accounts = {"deploy-only"};
  auto policy = Policy::FromConfig(config);
  ASSERT_TRUE(policy.ok());
  boost::asio::io_context io;
  TaskRunner::Options options;
  options.policy = &*policy;
  TaskRunner runner(io, options);
  bool called = false;
  auto spec = Script("echo should-not-run");
  spec.run_as = "nobody";
  Status s = runner.Start(spec, nullptr, [&](const TaskOutcome&) { called = true; });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "policy: account 'nobody' is not in allow_accounts");
  spec.run_as.clear();  // the daemon's own account must be allowed too
  s = runner.Start(spec, nullptr, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("is not in allow_accounts"), std::string::npos);
  io.run();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace shoal::node
