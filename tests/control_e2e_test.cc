// The control plane end to end: a real shoal-planner, real shoal-node-agent processes, the real
// `shoal` CLI, on 127.0.0.1.
#include <capnp/message.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>
#include <sstream>

#include "core/net/framed_session.h"
#include "core/net/tls_context.h"
#include "proto/control.capnp.h"
#include "tests/control_fixture.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ControlE2eTest : public ::testing::Test {
 protected:
  TempDir dir;
  ControlPlane cp{dir};
};

TEST_F(ControlE2eTest, JoinsRegistersAndRunsACommandWithSeparateStreamsAndExitCode) {
  cp.StartPlanner();
  cp.StartNode("web-1", {"--dc", "dc1", "--rack", "r7", "--label", "role=web", "--group", "front"});
  cp.StartNode("db-1", {"--label", "role=db"});
  auto hosts = cp.Cli({"hosts"});
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  EXPECT_NE(hosts.out.find("web-1"), std::string::npos);
  EXPECT_NE(hosts.out.find("role=web"), std::string::npos);
  EXPECT_NE(hosts.out.find("[front]"), std::string::npos);
  EXPECT_NE(hosts.out.find("2 hosts, 2 online"), std::string::npos) << hosts.out;

  // A label selector picks one host; the script's streams and exit code come back intact.
  auto run = cp.Cli({"run", "printf 'to-out'; printf 'to-err' >&2; exit 3", "--on", "role=web"});
  EXPECT_EQ(run.exit_code, 1) << run.err;  // not every host succeeded
  EXPECT_NE(run.out.find("web-1"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("exited 3"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("db-1"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("1/1 done, 0 ok, 1 failed"), std::string::npos) << run.err;
  auto logs = cp.Cli({"logs", RunIdIn(run), "web-1"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_EQ(logs.out, "to-out");
  EXPECT_EQ(logs.err, "to-err");

  // Groups and "all" select; success on every host exits 0. Arguments are never re-parsed by
  // a shell: a hostile-looking argument stays one literal argument.
  auto all = cp.Cli({"run", "printf '%s' \"$1\"", "--arg", "a b; rm -rf /tmp/x", "--on", "all"});
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_NE(all.err.find("2/2 done, 2 ok"), std::string::npos) << all.err;
  EXPECT_EQ(cp.Cli({"logs", RunIdIn(all), "db-1"}).out, "a b; rm -rf /tmp/x");

  EXPECT_NE(cp.Cli({"run", "true", "--on", "no-such-group"}).exit_code, 0);
}

TEST_F(ControlE2eTest, MultiMegabyteBinaryOutputArrivesIntact) {
  cp.StartPlanner();
  cp.StartNode("n1");
  WriteRandomFile(dir / "blob", 5 * 1024 * 1024 + 17, 42);
  auto run = cp.Cli({"run",
                     "cat '" + (dir / "blob").string() + "'; head -c 100000 '" +
                         (dir / "blob").string() + "' >&2",
                     "--on", "n1"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto logs = cp.Cli({"logs", RunIdIn(run), "n1"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  std::string blob = ReadAll(dir / "blob");
  EXPECT_EQ(logs.out.size(), blob.size());
  EXPECT_TRUE(logs.out == blob);
  EXPECT_TRUE(logs.err == blob.substr(0, 100000));
}

TEST_F(ControlE2eTest, TimeoutKillsTheWholeProcessGroup) {
  cp.StartPlanner();
  cp.StartNode("n1");
  fs::path pidfile = dir / "bg.pid";
  auto run = cp.Cli({"run", "sleep 300 & echo $! > '" + pidfile.string() + "'; sleep 300", "--on",
                     "n1", "--timeout", "1"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("timed-out"), std::string::npos) << run.out;
  pid_t bg = std::stoi(ReadAll(pidfile));
  // The background child was in the task's process group: it must be gone (or a zombie).
  EXPECT_TRUE(ControlPlane::Eventually(
      [&] {
        std::string stat = ReadAll("/proc/" + std::to_string(bg) + "/stat");
        return stat.empty() || stat.find(") Z") != std::string::npos;
      },
      std::chrono::seconds(20)));
}

TEST_F(ControlE2eTest, NodeKilledMidRunReportsInterruptedAndKeepsAckedOutput) {
  cp.StartPlanner();
  cp.StartNode("n1");
  fs::path pidfile = dir / "task.pid";
  auto run = cp.Cli({"run", "echo $$ > '" + pidfile.string() + "'; echo before; exec sleep 300",
                     "--on", "n1", "--no-wait"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = RunIdIn(run);
  // Wait until the planner holds (and so has acknowledged) the first output.
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", id, "n1"}).out == "before\n";
  }));
  cp.KillNode("n1");
  // The task dies with its agent (PR_SET_PDEATHSIG): no orphan keeps running.
  pid_t task = std::stoi(ReadAll(pidfile));
  EXPECT_TRUE(ControlPlane::Eventually([&] {
    std::string stat = ReadAll("/proc/" + std::to_string(task) + "/stat");
    return stat.empty() || stat.find(") Z") != std::string::npos;
  })) << "task "
      << task << " outlived its agent";
  kill(-task, SIGKILL);  // in case it did not: do not leave it behind
  cp.StartNode("n1");
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", id}).out.find("interrupted") != std::string::npos;
  })) << cp.Cli({"logs", id}).out;
  auto logs = cp.Cli({"logs", id});
  EXPECT_NE(logs.out.find("==> n1 <==\nbefore\n(interrupted"), std::string::npos) << logs.out;
  EXPECT_EQ(cp.Cli({"logs", id, "n1"}).out, "before\n");
}

TEST_F(ControlE2eTest, PlannerRestartKeepsHostsRunsResultsAndTakesResentResults) {
  cp.StartPlanner();
  cp.StartNode("n1", {"--group", "g"});
  auto first = cp.Cli({"run", "echo first", "--on", "g"});
  ASSERT_EQ(first.exit_code, 0) << first.err;

  // A task that finishes while the planner is down: its output and result wait in the node's
  // outbox and are delivered when the planner is back.
  fs::path started = dir / "started", gate = dir / "gate";
  auto second = cp.Cli({"run",
                        "touch '" + started.string() + "'; while [ ! -e '" + gate.string() +
                            "' ]; do sleep 0.05; done; echo after-gate",
                        "--on", "n1", "--no-wait"});
  ASSERT_EQ(second.exit_code, 0);
  ASSERT_TRUE(ControlPlane::Eventually([&] { return fs::exists(started); }));
  cp.KillPlanner();
  { std::ofstream(gate).put('x'); }
  cp.StartPlanner();

  auto hosts = cp.Cli({"hosts"});
  EXPECT_NE(hosts.out.find("n1"), std::string::npos) << hosts.out;
  EXPECT_EQ(cp.Cli({"logs", RunIdIn(first), "n1"}).out, "first\n");
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", RunIdIn(second), "n1"}).out == "after-gate\n";
  }));
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"logs", RunIdIn(second)}).out.find("(exited 0)") != std::string::npos;
  }));
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cp.Cli({"hosts"}).out.find("1 online") != std::string::npos; }));
  auto third = cp.Cli({"run", "echo third", "--on", "n1"});
  EXPECT_EQ(third.exit_code, 0) << third.out << third.err;
}

TEST_F(ControlE2eTest, RevokedNodeIsDisconnectedAndCannotReconnect) {
  cp.StartPlanner();
  cp.StartNode("n1");
  auto r = RunCommand("shoal-planner", {"revoke", "n1", "--state-dir", cp.planner_dir().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cp.Cli({"hosts"}).out.find("0 online") != std::string::npos; }));
  auto run = cp.Cli({"run", "true", "--on", "n1"});
  EXPECT_NE(run.out.find("offline"), std::string::npos) << run.out;
}

TEST_F(ControlE2eTest, StatsAndNagiosPluginsReachThePlanner) {
  cp.StartPlanner();
  fs::path plugin = dir / "check_thing";
  {
    std::ofstream out(plugin);
    out << "#!/bin/sh\necho 'noise line'\necho 'THING WARNING - almost full | used=91;80;95'\n"
           "exit 1\n";
  }
  fs::permissions(plugin, fs::perms::owner_all);
  fs::path conf = dir / "node.conf";
  {
    std::ofstream out(conf);
    out << "[node]\nlabels = role=stats\ngroups = monitored\n"
           "[exec]\nallow_interpreters = sh\nallow_accounts = *\n"
           "[stats]\nbuiltin_interval_s = 1\n"
           "[plugin.thing]\npath = "
        << plugin.string() << "\ninterval_s = 1\n";
  }
  cp.StartNode("n1", {"--config", conf.string()});
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    auto s = cp.Cli({"stats", "n1"}).out;
    return s.find("thing: WARNING - almost full") != std::string::npos &&
           s.find("load1") != std::string::npos;
  })) << cp.Cli({"stats", "n1"}).out;
  auto hosts = cp.Cli({"hosts"}).out;
  EXPECT_NE(hosts.find("!thing WARNING"), std::string::npos) << hosts;
  EXPECT_NE(hosts.find("[monitored]"), std::string::npos) << hosts;
  // The node's [exec] policy allows only sh.
  auto py = cp.Cli({"run", "print(1)", "-i", "python3", "--on", "n1"});
  EXPECT_NE(py.out.find("rejected"), std::string::npos) << py.out;
}

// Connects to the planner without a certificate, writes `bytes`, and reports whether the
// planner closed the connection (reading until EOF or error).
bool PlannerDropsUnauthenticated(const std::string& address, const std::string& bytes) {
  namespace asio = boost::asio;
  auto hp = net::ParseHostPort(address);
  auto ctx = net::TlsContext::Join();
  asio::io_context io;
  bool dropped = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto stream = co_await net::ConnectTls(io.get_executor(), hp->first, hp->second, **ctx);
        if (!stream.ok()) co_return;
        (void)co_await (*stream)->WriteAll(bytes);
        char buf[4096];
        for (;;) {
          auto s = co_await (*stream)->ReadExact(buf, 1);
          if (!s.ok()) break;
        }
        dropped = true;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(60));
  return dropped;
}

TEST_F(ControlE2eTest, UnauthenticatedAndMalformedInputIsDroppedAndThePlannerCarriesOn) {
  cp.StartPlanner();
  capnp::MallocMessageBuilder hello;
  hello.initRoot<proto::NodeMessage>().initHello().setName("intruder");
  // No certificate: a hello is refused; only join is allowed.
  EXPECT_TRUE(PlannerDropsUnauthenticated(cp.address(), *EncodeFrame(hello)));
  // Oversize, misaligned and garbage frames.
  EXPECT_TRUE(PlannerDropsUnauthenticated(cp.address(), std::string(4, '\xff') + "xxxx"));
  EXPECT_TRUE(PlannerDropsUnauthenticated(cp.address(), std::string({'\x05', 0, 0, 0}) + "abcde"));
  std::string garbage(4 + 256, '\xff');
  garbage[0] = 0;
  garbage[1] = 1;
  garbage[2] = garbage[3] = 0;
  EXPECT_TRUE(PlannerDropsUnauthenticated(cp.address(), garbage));
  // A join with a made-up token gets nothing.
  capnp::MallocMessageBuilder join;
  auto j = join.initRoot<proto::NodeMessage>().initJoin();
  j.setToken("0000.1111." + std::string(64, 'a'));
  j.setName("intruder");
  j.setCsrPem("junk");
  EXPECT_TRUE(PlannerDropsUnauthenticated(cp.address(), *EncodeFrame(join)));
  auto hosts = cp.Cli({"hosts"});
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  EXPECT_NE(hosts.out.find("0 hosts"), std::string::npos) << hosts.out;
  cp.StartNode("n1");
  EXPECT_EQ(cp.Cli({"run", "true", "--on", "n1"}).exit_code, 0);
}

TEST_F(ControlE2eTest, AnAgentWhoseTokenIsRefusedExitsNonZeroWithTheReason) {
  cp.StartPlanner();
  std::string token = cp.JoinToken();
  // The first agent uses the token up (a token is good for one join).
  ChildProcess first(
      "shoal-node-agent",
      {"--planner", cp.address(), "--state-dir", (dir / "first").string(), "--name", "first",
       "--join-token", token, "--ready-file", (dir / "first.ready").string()},
      dir / "first");
  ASSERT_EQ(WaitForReadyFile(dir / "first.ready")["name"], "first") << first.Stderr();
  for (const char* binary : {"shoal-node-agent", "shoal-node"}) {
    std::string name = std::string("second-") + binary;
    std::vector<std::string> args{"--planner", cp.address(), "--state-dir",  (dir / name).string(),
                                  "--name",    name,         "--join-token", token};
    if (std::string(binary) == "shoal-node") {
      for (std::string a : {"--origin", "127.0.0.1:9", "--tracker", "http://127.0.0.1:9/announce"})
        args.push_back(a);
    }
    ChildProcess second(binary, args, dir / name);
    int status = second.Wait();
    ASSERT_TRUE(WIFEXITED(status)) << binary << " still running or killed: " << second.Stderr();
    EXPECT_EQ(WEXITSTATUS(status), 1) << second.Stderr();
    EXPECT_NE(second.Stderr().find("unknown or used-up join token"), std::string::npos)
        << second.Stderr();
  }
  // An unreachable planner is a network error: the agent keeps retrying.
  ChildProcess offline("shoal-node-agent",
                       {"--planner", "127.0.0.1:1", "--state-dir", (dir / "offline").string(),
                        "--name", "offline", "--join-token", cp.JoinToken()},
                       dir / "offline");
  EXPECT_TRUE(ControlPlane::Eventually([&] {
    return offline.Stderr().find("planner connection") != std::string::npos;
  })) << offline.Stderr();
  EXPECT_TRUE(offline.running());
}

}  // namespace
}  // namespace shoal::testing
