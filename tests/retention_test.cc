// Run history and retention over a real shoal-planner (real LMDB), real node agents and the
// real `shoal` CLI on 127.0.0.1: a finished run leaves the planner's memory and is read back
// from LMDB (listed, logs, rerun --failed) also after a restart; --keep-runs and
// --keep-runs-bytes prune the oldest finished runs and never an unfinished one; and
// `shoal run --wait-offline` queues an offline host's task durably until it registers; the
// audit log is listed (`shoal audit`) and pruned past --keep-audit.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/control_fixture.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

// Run ids `shoal runs` lists (its lines start with the id).
std::set<std::string> Listed(ControlPlane& cp) {
  std::set<std::string> ids;
  std::istringstream in(cp.Cli({"runs"}).out);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string id;
    if (words >> id) ids.insert(id);
  }
  return ids;
}

// The `shoal runs` line of one run.
std::string RunsLine(ControlPlane& cp, const std::string& id) {
  std::istringstream in(cp.Cli({"runs"}).out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(id + " ", 0) == 0) return line;
  }
  return "";
}

class RetentionTest : public ::testing::Test {
 protected:
  TempDir dir;
  ControlPlane cp{dir};
};

TEST_F(RetentionTest, AFinishedRunIsReadFromLmdbAfterItLeavesMemoryAndAfterARestart) {
  cp.StartPlanner();
  cp.StartNode("web-1");
  cp.StartNode("web-2");
  auto run = cp.Cli({"run", "echo out-$SHOAL_NODE; echo err-$SHOAL_NODE >&2", "--on", "all"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string id = RunIdIn(run);
  // Listed and readable once finished (it is no longer in the planner's memory).
  EXPECT_NE(RunsLine(cp, id).find("[done]"), std::string::npos) << cp.Cli({"runs"}).out;
  auto logs = cp.Cli({"logs", id, "web-2"});
  EXPECT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_NE(logs.out.find("out-web-2"), std::string::npos) << logs.out;
  auto all = cp.Cli({"logs", id});
  EXPECT_NE(all.out.find("out-web-1"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("(exited 0)"), std::string::npos) << all.out;

  // After a restart the planner loads no finished run into memory, and still shows it.
  cp.KillPlanner();
  cp.StartPlanner();
  EXPECT_NE(cp.PlannerLog().find("0 unfinished runs, 1 finished"), std::string::npos)
      << cp.PlannerLog();
  auto line = RunsLine(cp, id);
  EXPECT_NE(line.find("[done]"), std::string::npos) << line;
  EXPECT_NE(line.find("echo out-"), std::string::npos) << line;
  logs = cp.Cli({"logs", id, "web-1"});
  EXPECT_NE(logs.out.find("out-web-1"), std::string::npos) << logs.out << logs.err;
  EXPECT_NE(logs.err.find("err-web-1"), std::string::npos) << logs.err;
  auto missing = cp.Cli({"logs", "999", "web-1"});
  EXPECT_NE(missing.exit_code, 0);
}

TEST_F(RetentionTest, RunsOlderThanKeepRunsArePrunedButNeverAnUnfinishedOne) {
  cp.StartPlanner({"--keep-runs", "2s"});
  cp.StartNode("web-1");
  cp.StartNode("ghost");
  cp.KillNode("ghost");
  ASSERT_TRUE(ControlPlane::Eventually([&] { return !cp.Online("ghost"); }));
  auto old = cp.Cli({"run", "echo old", "--on", "web-1"});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  const std::string old_id = RunIdIn(old);
  // Unfinished for as long as the test lasts: its host never comes back.
  auto waiting = cp.Cli({"run", "echo never", "--on", "ghost", "--wait-offline", "1h", "--no-wait"});
  ASSERT_EQ(waiting.exit_code, 0) << waiting.err;
  const std::string waiting_id = RunIdIn(waiting);

  EXPECT_TRUE(ControlPlane::Eventually([&] { return !Listed(cp).contains(old_id); }))
      << cp.Cli({"runs"}).out;
  EXPECT_NE(cp.PlannerLog().find("pruned run " + old_id), std::string::npos) << cp.PlannerLog();
  auto logs = cp.Cli({"logs", old_id, "web-1"});
  EXPECT_NE(logs.exit_code, 0) << logs.out;
  // Well past the retention, the unfinished run is still there, in memory and after a restart.
  auto newer = cp.Cli({"run", "echo newer", "--on", "web-1"});
  ASSERT_EQ(newer.exit_code, 0);
  EXPECT_TRUE(ControlPlane::Eventually([&] { return !Listed(cp).contains(RunIdIn(newer)); }));
  EXPECT_NE(RunsLine(cp, waiting_id).find("[running]"), std::string::npos)
      << cp.Cli({"runs"}).out;
  cp.KillPlanner();
  cp.StartPlanner({"--keep-runs", "2s"});
  EXPECT_NE(cp.PlannerLog().find("1 unfinished runs, 0 finished"), std::string::npos)
      << cp.PlannerLog();
  EXPECT_NE(RunsLine(cp, waiting_id).find("[running]"), std::string::npos);
}

TEST_F(RetentionTest, TheByteCapPrunesTheOldestFinishedRunsFirst) {
  cp.StartPlanner({"--keep-runs-bytes", "1M"});
  cp.StartNode("web-1");
  // Each run holds about 400 KB of output: past 1 MiB, only the newest two fit.
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = cp.Cli({"run", "head -c 400000 /dev/zero | tr '\\0' x", "--on", "web-1", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ids.push_back(RunIdIn(r));
  }
  EXPECT_TRUE(ControlPlane::Eventually([&] {
    auto listed = Listed(cp);
    return !listed.contains(ids[0]) && !listed.contains(ids[1]) && !listed.contains(ids[2]);
  })) << cp.Cli({"runs"}).out;
  auto listed = Listed(cp);
  EXPECT_TRUE(listed.contains(ids[3]) && listed.contains(ids[4])) << cp.Cli({"runs"}).out;
  auto logs = cp.Cli({"logs", ids[4], "web-1"});
  EXPECT_EQ(logs.out.size(), 400000u) << logs.err;
}

TEST_F(RetentionTest, RerunFailedOfAFinishedJobRunReadBackAfterARestart) {
  cp.StartPlanner();
  cp.StartNode("web-1", {"--label", "role=web"});
  cp.StartNode("web-2", {"--label", "role=web"});
  fs::path marks = dir / "marks";
  fs::create_directories(marks);
  std::ofstream(marks / "fail-web-2") << "1";
  fs::path job = dir / "check.yaml";
  std::ofstream(job) << "name: check\n"
                        "targets: [role=web]\n"
                        "max_failed: 1\n"
                        "steps:\n"
                        "  - command:\n"
                        "      run: |\n"
                        "        echo checked >> " + (marks / "ran-$SHOAL_NODE").string() + "\n" +
                        "        test ! -e " + (marks / "fail-$SHOAL_NODE").string() + "\n";
  auto applied = cp.Cli({"apply", job.string(), "--quiet"});
  ASSERT_NE(applied.exit_code, 0) << applied.out << applied.err;
  const std::string id = RunIdIn(applied);
  ASSERT_FALSE(id.empty()) << applied.out;

  cp.KillPlanner();
  cp.StartPlanner();
  EXPECT_NE(cp.PlannerLog().find("0 unfinished runs, 1 finished"), std::string::npos)
      << cp.PlannerLog();
  ASSERT_TRUE(ControlPlane::Eventually([&] { return cp.Online("web-1") && cp.Online("web-2"); }));
  // The finished job run, read back, still says who failed.
  auto logs = cp.Cli({"logs", id, "web-2"});
  EXPECT_NE(logs.out.find("(exited 1)"), std::string::npos) << logs.out << logs.err;
  auto watched = cp.Cli({"watch", id, "--quiet"});
  EXPECT_EQ(watched.exit_code, applied.exit_code) << watched.out << watched.err;
  // The same per-task table as when it ran (apply printed its run id first).
  ASSERT_FALSE(watched.out.empty());
  EXPECT_TRUE(applied.out.ends_with(watched.out)) << applied.out << "\n---\n" << watched.out;

  fs::remove(marks / "fail-web-2");
  auto rerun = cp.Cli({"rerun", id, "--failed", "--quiet"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  EXPECT_NE(rerun.out.find("on 1 hosts"), std::string::npos) << rerun.out;
  std::ifstream ran1(marks / "ran-web-1"), ran2(marks / "ran-web-2");
  std::string all1((std::istreambuf_iterator<char>(ran1)), {});
  std::string all2((std::istreambuf_iterator<char>(ran2)), {});
  EXPECT_EQ(all1, "checked\n");             // succeeded the first time: not run again
  EXPECT_EQ(all2, "checked\nchecked\n");    // failed, then rerun
}

TEST_F(RetentionTest, WaitOfflineQueuesATaskUntilItsHostRegistersAcrossAPlannerRestart) {
  cp.StartPlanner();
  cp.StartNode("web-1");
  cp.StartNode("late");
  cp.KillNode("late");
  ASSERT_TRUE(ControlPlane::Eventually([&] { return !cp.Online("late"); }));

  auto queued = cp.Cli(
      {"run", "echo hello-$SHOAL_NODE", "--on", "all", "--wait-offline", "10m", "--no-wait"});
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  const std::string id = RunIdIn(queued);
  ASSERT_TRUE(ControlPlane::Eventually(
      [&] { return cp.Cli({"logs", id, "web-1"}).out.find("hello-web-1") != std::string::npos; }));
  EXPECT_NE(RunsLine(cp, id).find("[running]"), std::string::npos) << cp.Cli({"runs"}).out;

  // The queue survives a planner restart; the host registers and runs the command.
  cp.KillPlanner();
  cp.StartPlanner();
  cp.StartNode("late");
  EXPECT_TRUE(ControlPlane::Eventually([&] {
    return RunsLine(cp, id).find("[done]") != std::string::npos;
  })) << cp.Cli({"runs"}).out;
  auto logs = cp.Cli({"logs", id, "late"});
  EXPECT_NE(logs.out.find("hello-late"), std::string::npos) << logs.out << logs.err;
  auto line = RunsLine(cp, id);
  EXPECT_NE(line.find("    2     0      2"), std::string::npos) << line;  // OK FAIL HOSTS

  // A host that never comes fails as offline when the wait ends; the others run.
  cp.KillNode("late");
  ASSERT_TRUE(ControlPlane::Eventually([&] { return !cp.Online("late"); }));
  auto waited = cp.Cli({"run", "echo again", "--on", "all", "--wait-offline", "2s"});
  EXPECT_EQ(waited.exit_code, 1) << waited.out << waited.err;
  std::istringstream out(waited.out);
  std::map<std::string, std::string> by_host;
  for (std::string l; std::getline(out, l);) by_host[l.substr(0, l.find(' '))] = l;
  EXPECT_NE(by_host["web-1"].find("OK"), std::string::npos) << waited.out;
  EXPECT_NE(by_host["late"].find("offline"), std::string::npos) << waited.out;
  EXPECT_NE(by_host["late"].find("--wait-offline"), std::string::npos) << waited.out;

  // Start-up validation of the retention flags: one clear line, exit 2.
  for (auto [flag, value, says] :
       {std::tuple{"--keep-runs", "0d", "more than zero"}, {"--keep-runs", "30", "unit"},
        {"--keep-runs-bytes", "12Q", "suffix"}, {"--keep-runs-bytes", "1000", "at least 1M"}}) {
    auto r = RunCommand("shoal-planner", {"serve", "--state-dir", cp.planner_dir().string(),
                                          "--listen", "127.0.0.1:0", flag, value});
    EXPECT_EQ(r.exit_code, 2) << flag << " " << value << ": " << r.err;
    EXPECT_NE(r.err.find(std::string(flag) + " " + value), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  }
  auto bad = cp.Cli({"run", "true", "--on", "all", "--wait-offline", "soon"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--wait-offline soon"), std::string::npos) << bad.err;
}

TEST_F(RetentionTest, TheAuditLogIsListedAndEntriesPastKeepAuditArePruned) {
  cp.StartPlanner({"--keep-audit", "2s"});
  cp.StartNode("web-1");
  ASSERT_EQ(cp.Cli({"run", "true", "--on", "all"}).exit_code, 0);
  auto all = cp.Cli({"audit"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find(" admin            join-token "), std::string::npos) << all.out;
  EXPECT_NE(all.out.find(" web-1            join        from 127.0.0.1"), std::string::npos)
      << all.out;
  EXPECT_NE(all.out.find(" admin            run         run 1 on 1 hosts (all): true"),
            std::string::npos)
      << all.out;
  auto node_only = cp.Cli({"audit", "--who", "web-1"});
  EXPECT_EQ(std::count(node_only.out.begin(), node_only.out.end(), '\n'), 1) << node_only.out;
  EXPECT_EQ(cp.Cli({"audit", "--since", "0s"}).exit_code, 2);  // refused: not an age

  // Entries age past --keep-audit (the age itself is what is tested: nothing to poll for);
  // the planner prunes at start, then hourly.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  cp.KillPlanner();
  cp.StartPlanner({"--keep-audit", "2s"});
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cp.PlannerLog().find("audit: pruned 3 entries") != std::string::npos;
  })) << cp.PlannerLog();
  // The node reconnects to the restarted planner before it can run anything.
  ASSERT_TRUE(ControlPlane::Eventually([&] { return cp.Online("web-1"); }));
  ASSERT_EQ(cp.Cli({"run", "echo again", "--on", "all"}).exit_code, 0);
  auto after = cp.Cli({"audit"});
  EXPECT_EQ(after.out.find("join-token"), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("run 2 on 1 hosts (all): echo again"), std::string::npos) << after.out;
  EXPECT_EQ(std::count(after.out.begin(), after.out.end(), '\n'), 1) << after.out;
}

}  // namespace
}  // namespace shoal::testing
