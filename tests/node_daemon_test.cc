// One shoal-node daemon serving both planes: it fetches an artifact through the swarm and runs
// the planner's commands on what it installed.
#include <gtest/gtest.h>

#include "tests/control_fixture.h"
#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

TEST(NodeDaemonTest, FetchesThroughTheSwarmAndRunsPlannerCommandsOnTheResult) {
  TempDir dir;
  ControlPlane cp(dir);
  cp.StartPlanner();
  Fleet fleet(dir / "fleet");
  fleet.StartSeeder();
  fleet.StartNode(
      0, {"--planner", cp.address(), "--join-token", cp.JoinToken(), "--label", "role=web"});
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.Cli({"hosts", "--online"}).out.find("node-0") != std::string::npos;
  })) << fleet.node(0).Stderr();

  fs::path file = dir / "release.tar";
  WriteRandomFile(file, 5 << 20, 11);
  std::string id = fleet.Put(file);
  fs::path installed = fleet.OutDir() / "release.tar";
  auto fetched = fleet.Fetch(0, id, installed.string());
  ASSERT_TRUE(fetched.ok) << fetched.error;

  auto run = cp.Cli({"run", "md5sum " + installed.string(), "--on", "role=web"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto run_id = run.out.substr(run.out.find("run ") + 4);
  run_id = run_id.substr(0, run_id.find_first_of(" \n"));
  auto logs = cp.Cli({"logs", run_id, "node-0"});
  EXPECT_NE(logs.out.find(Md5Hex(file)), std::string::npos) << logs.out << logs.err;
}

}  // namespace
}  // namespace shoal::testing
