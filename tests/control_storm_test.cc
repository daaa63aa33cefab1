// Faults the control plane must ride out, with real processes on 127.0.0.1: a planner
// SIGKILLed under a simulated fleet (shoal-sim) is restarted and every node re-registers by
// itself, resuming its TLS session with the ticket it held (the ticket keys outlive the
// planner), then runs a command; and a revoked host that joins again with a new token gets a
// new certificate that works, while its old one stays revoked.
#include <gtest/gtest.h>

#include <fstream>

#include "core/ready_file.h"
#include "tests/control_fixture.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

class ControlStormTest : public ::testing::Test {
 protected:
  TempDir dir;
  ControlPlane cp{dir};
};

int ReadyInt(const fs::path& file, const std::string& key) {
  auto values = ReadReadyFile(file);
  if (!values.ok() || !values->contains(key)) return -1;
  return std::stoi(values->at(key));
}

int CountOk(const std::string& out) {
  int n = 0;
  for (size_t at = out.find(" OK "); at != std::string::npos; at = out.find(" OK ", at + 1)) ++n;
  return n;
}

TEST_F(ControlStormTest, SimulatedFleetReregistersAfterPlannerSigkillAndResumesSessions) {
  constexpr int kNodes = 300;
  cp.StartPlanner();
  fs::path ready = dir / "sim.ready";
  ChildProcess sim("shoal-sim",
                   {"--planner", cp.address(), "--planner-dir", cp.planner_dir().string(),
                    "--nodes", std::to_string(kNodes), "--threads", "1", "--sources", "8",
                    "--connect-rate", "2000", "--ready-file", ready.string()},
                   dir / "sim");
  ASSERT_TRUE(ControlPlane::Eventually([&] { return ReadyInt(ready, "rounds") >= 1; }))
      << sim.Stderr();
  // First connections are full handshakes: only reconnections (a node that timed out on a
  // loaded machine) may have resumed so far.
  EXPECT_LE(ReadyInt(ready, "resumed"), ReadyInt(ready, "connects") - kNodes);
  EXPECT_TRUE(fs::exists(cp.planner_dir() / "ticket.keys"));

  cp.KillPlanner();
  cp.StartPlanner();  // same address, same state dir
  ASSERT_TRUE(ControlPlane::Eventually([&] { return ReadyInt(ready, "rounds") >= 2; }))
      << sim.Stderr();
  ASSERT_TRUE(sim.running()) << "shoal-sim must survive its planner's death";
  // Every node reconnected with the ticket of its first session, sealed by the killed
  // planner: the keys live in the state directory. Every handshake after the first kNodes
  // resumed (a loaded machine may make a node time out and reconnect before the kill too).
  EXPECT_GE(ReadyInt(ready, "resumed"), kNodes);
  EXPECT_EQ(ReadyInt(ready, "resumed"), ReadyInt(ready, "connects") - kNodes);
  auto run = cp.Cli({"run", "echo hi", "--on", "sim", "-q"});
  EXPECT_EQ(CountOk(run.out), kNodes) << run.out << run.err;
}

TEST_F(ControlStormTest, RevokedHostThatJoinsAgainGetsAWorkingCertificate) {
  cp.StartPlanner();
  cp.StartNode("n1");
  fs::path state = cp.node_state("n1");
  fs::path creds = state / "agent";  // where the agent keeps node.crt, node.key, ca.crt
  std::string old_cert = ReadFileBytes(creds / "node.crt"),
              old_key = ReadFileBytes(creds / "node.key");
  ASSERT_FALSE(old_cert.empty());
  auto r = RunCommand("shoal-planner", {"revoke", "n1", "--state-dir", cp.planner_dir().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cp.Cli({"hosts"}).out.find("0 online") != std::string::npos; }));
  cp.KillNode("n1");

  // The operator re-joins the host: its old credentials go, a new token comes.
  ASSERT_TRUE(fs::remove(creds / "node.crt"));
  ASSERT_TRUE(fs::remove(creds / "node.key"));
  fs::path ready = dir / "n1-rejoined.ready";
  ChildProcess agent("shoal-node-agent",
                     {"--planner", cp.address(), "--state-dir", state.string(), "--name", "n1",
                      "--join-token", cp.JoinToken(), "--ready-file", ready.string()},
                     dir / "n1-rejoined");
  EXPECT_EQ(WaitForReadyFile(ready)["name"], "n1") << agent.Stderr();
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cp.Cli({"hosts"}).out.find("1 online") != std::string::npos; }));
  auto run = cp.Cli({"run", "echo back", "--on", "n1"});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(ReadFileBytes(creds / "node.crt"), old_cert);

  // The revoked certificate still gets nowhere: an agent holding it is never registered.
  agent.Kill(9);
  agent.Wait();
  fs::path stale = dir / "n1-stale";
  fs::create_directories(stale / "agent");
  fs::copy_file(creds / "ca.crt", stale / "agent" / "ca.crt");
  std::ofstream(stale / "agent" / "node.crt") << old_cert;
  std::ofstream(stale / "agent" / "node.key") << old_key;
  fs::permissions(stale / "agent" / "node.key", fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cp.Cli({"hosts"}).out.find("0 online") != std::string::npos; }));
  ChildProcess stale_agent("shoal-node-agent",
                           {"--planner", cp.address(), "--state-dir", stale.string(), "--name",
                            "n1", "--ready-file", (dir / "stale.ready").string()},
                           dir / "n1-stale-agent");
  EXPECT_TRUE(WaitForReadyFile(dir / "stale.ready", std::chrono::seconds(3)).empty());
  EXPECT_NE(cp.Cli({"hosts"}).out.find("0 online"), std::string::npos);
}

}  // namespace
}  // namespace shoal::testing
