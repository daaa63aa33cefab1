// Jobs and waves end to end over real daemons on loopback: a planner, a tracker, a seeder and
// eight shoal-node processes (swarm + agent). `shoal apply` puts a 32 MiB artifact, the nodes
// fetch it through the swarm in waves "1 3 100%" with pre-staging and run a command on it; the
// failure budget, `rerun --failed`, a planner SIGKILLed between and during waves, and an
// `apply` that waits for a restarting seeder.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "tests/control_fixture.h"
#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kNodes = 8;

class JobFleet {
 public:
  JobFleet() : cp_(dir_), fleet_(dir_ / "fleet") {
    cp_.StartPlanner();
    fleet_.StartSeeder();
    for (int i = 0; i < kNodes; ++i) {
      fleet_.StartNode(i, {"--planner", cp_.address(), "--join-token", cp_.JoinToken(), "--label",
                           "role=web", "--dc", i % 2 ? "dc2" : "dc1"});
    }
    EXPECT_TRUE(AllOnline()) << cp_.Cli({"hosts"}).out;
    fs::create_directories(marks());
  }

  bool AllOnline() {
    return ControlPlane::Eventually([&] {
      auto out = cp_.Cli({"hosts", "--online"}).out;
      for (int i = 0; i < kNodes; ++i) {
        if (out.find("node-" + std::to_string(i) + " ") == std::string::npos) return false;
      }
      return true;
    });
  }

  ControlPlane& cp() { return cp_; }
  Fleet& fleet() { return fleet_; }
  fs::path dir() const { return dir_.path(); }
  fs::path marks() const { return dir_ / "marks"; }

  fs::path WriteJob(const std::string& name, const std::string& yaml) {
    fs::path path = dir_ / (name + ".yaml");
    std::ofstream(path) << yaml;
    return path;
  }
  CommandResult Shoal(std::vector<std::string> args) {
    args.push_back("--seeder");
    args.push_back((fleet_.SeederState() / "admin.sock").string());
    return cp_.Cli(args);
  }
  // Waves as `shoal plan` prints them: "  wave 2 (3): node-1 node-4 node-6".
  std::vector<std::vector<std::string>> PlanWaves(const fs::path& job) {
    auto r = Shoal({"plan", job.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<std::vector<std::string>> waves;
    std::regex line(R"(^  wave \d+ \(\d+\):(.*)$)");
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (!std::regex_match(l, m, line)) continue;
      std::istringstream names(m[1].str());
      waves.emplace_back();
      for (std::string n; names >> n;) waves.back().push_back(n);
    }
    return waves;
  }

 private:
  TempDir dir_;
  ControlPlane cp_;
  Fleet fleet_;
};

// Lines of `apply`'s per-task table for `host`: "w2  node-3  2  command md5sum ...  OK ...".
std::vector<std::string> LinesFor(const std::string& out, const std::string& host) {
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("w", 0) == 0 && l.find(" " + host + " ") != std::string::npos) lines.push_back(l);
  }
  return lines;
}

std::string ReleaseJob(const std::string& name, const std::string& max_failed,
                       const fs::path& dest, const fs::path& marks) {
  return "name: " + name + "\n" +
         "targets: [role=web]\n"
         "waves: \"1 3 100%\"\n"
         "max_failed: " + max_failed + "\n" +
         "prestage: true\n"
         "steps:\n"
         "  - file: {source: ./release.bin, dest: " + dest.string() + ", mode: \"0640\"}\n" +
         "  - command:\n"
         "      run: |\n"
         "        md5sum " + dest.string() + "\n" +
         "        echo $SHOAL_TASK >> " + marks.string() + "/ran-$SHOAL_NODE\n" +
         "        sleep 1\n"
         "        test ! -e " + marks.string() + "/fail-$SHOAL_NODE\n";
}

TEST(JobE2eTest, WavesThroughTheSwarmWithBudgetAndRerun) {
  JobFleet f;
  fs::path release = f.dir() / "release.bin";
  WriteRandomFile(release, 32 << 20, 42);
  const std::string md5 = Md5Hex(release);
  fs::path dest = f.fleet().OutDir() / "release.bin";

  // A bad job file is refused with its position, before anything is put or run.
  fs::path bad = f.WriteJob("bad", "name: bad\ntargets: [role=web]\nsteps:\n  - command: {rn: x}\n");
  auto refused = f.Shoal({"apply", bad.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("bad.yaml:4:"), std::string::npos) << refused.err;

  // max_failed: 1: one host of wave 2 fails, the run goes on and completes (exit 2).
  fs::path job = f.WriteJob("release", ReleaseJob("release-42", "1", dest, f.marks()));
  auto waves = f.PlanWaves(job);
  ASSERT_EQ(waves.size(), 3u);
  ASSERT_EQ(waves[0].size(), 1u);
  ASSERT_EQ(waves[1].size(), 3u);
  ASSERT_EQ(waves[2].size(), 4u);
  const std::string failing = waves[1][0];
  std::ofstream(f.marks() / ("fail-" + failing)) << "1";
  auto applied = f.Shoal({"apply", job.string(), "--quiet"});
  ASSERT_EQ(applied.exit_code, 2) << applied.out << applied.err;
  EXPECT_EQ(Md5Hex(dest), md5);
  for (int w = 0; w < 3; ++w) {
    for (const auto& host : waves[w]) {
      auto lines = LinesFor(applied.out, host);
      ASSERT_EQ(lines.size(), 2u) << host << "\n" << applied.out;
      EXPECT_NE(lines[0].find("OK"), std::string::npos) << lines[0];
      EXPECT_NE(lines[0].find("md5 " + md5), std::string::npos) << lines[0];
      EXPECT_NE(lines[1].find(host == failing ? "FAIL" : "OK"), std::string::npos) << lines[1];
      // Pre-staged: the last wave's hosts held the artifact when their wave began.
      if (w == 2) EXPECT_NE(lines[0].find("in cache"), std::string::npos) << lines[0];
    }
  }
  // The command saw the installed file on every host.
  std::string run_id = applied.out.substr(4, applied.out.find(':') - 4);
  auto logs = f.cp().Cli({"logs", run_id, waves[2][0]});
  EXPECT_NE(logs.out.find(md5), std::string::npos) << logs.out << logs.err;

  // rerun --failed: exactly the failed host, which now succeeds.
  fs::remove(f.marks() / ("fail-" + failing));
  auto rerun = f.cp().Cli({"rerun", run_id, "--failed", "--quiet"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.out << rerun.err;
  EXPECT_NE(rerun.out.find("on 1 hosts"), std::string::npos) << rerun.out;
  EXPECT_EQ(LinesFor(rerun.out, failing).size(), 2u) << rerun.out;
  for (int i = 0; i < kNodes; ++i) {
    std::string host = "node-" + std::to_string(i);
    std::ifstream ran(f.marks() / ("ran-" + host));
    int count = 0;
    for (std::string l; std::getline(ran, l);) ++count;
    EXPECT_EQ(count, host == failing ? 2 : 1) << host;  // no host that succeeded ran again
  }

  // max_failed: 0: the failure halts the run after its wave; the last wave never starts.
  fs::path strict = f.WriteJob("strict", ReleaseJob("release-43", "0", dest, f.marks()));
  auto strict_waves = f.PlanWaves(strict);
  ASSERT_EQ(strict_waves.size(), 3u);
  std::ofstream(f.marks() / ("fail-" + strict_waves[1][1])) << "1";
  auto halted = f.Shoal({"apply", strict.string(), "--quiet"});
  ASSERT_EQ(halted.exit_code, 3) << halted.out << halted.err;
  EXPECT_NE(halted.err.find("more than max_failed 0"), std::string::npos) << halted.err;
  for (const auto& host : strict_waves[2]) {
    EXPECT_TRUE(LinesFor(halted.out, host).empty()) << host << " started:\n" << halted.out;
    EXPECT_NE(halted.out.find("never started (4):"), std::string::npos) << halted.out;
  }
  for (const auto& host : strict_waves[1]) EXPECT_EQ(LinesFor(halted.out, host).size(), 2u);
}

TEST(JobE2eTest, PlannerKilledBetweenAndDuringWavesCarriesOnWithoutRepeatingAStep) {
  JobFleet f;
  fs::path job = f.WriteJob("restart",
                            "name: restart-test\n"
                            "targets: [all]\n"
                            "waves: \"1 100%\"\n"
                            "pause: manual\n"
                            "concurrency: 2\n"
                            "steps:\n"
                            "  - command:\n"
                            "      run: |\n"
                            "        echo $SHOAL_TASK >> " + f.marks().string() + "/ran-$SHOAL_NODE\n"
                            "        sleep 1\n");
  auto started = f.Shoal({"apply", job.string(), "--detach"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string run_id = started.out.substr(4, started.out.find(':') - 4);
  auto phase = [&] { return f.cp().Cli({"runs"}).out; };
  ASSERT_TRUE(ControlPlane::Eventually([&] { return phase().find("[paused") != std::string::npos; }))
      << phase();

  // Between waves: the pause survives a SIGKILL.
  f.cp().KillPlanner();
  f.cp().StartPlanner();
  ASSERT_TRUE(f.AllOnline());
  EXPECT_NE(phase().find("[paused"), std::string::npos) << phase();
  ASSERT_EQ(f.cp().Cli({"resume", run_id}).exit_code, 0);

  // During a wave: killed once the first hosts of wave 2 reported.
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    int ran = 0;
    for (auto& e : fs::directory_iterator(f.marks())) ran += e.path().filename().string().rfind("ran-", 0) == 0;
    return ran >= 3;
  }));
  f.cp().KillPlanner();
  f.cp().StartPlanner();
  auto watched = f.cp().Cli({"watch", run_id, "--quiet"});
  ASSERT_EQ(watched.exit_code, 0) << watched.out << watched.err;
  for (int i = 0; i < kNodes; ++i) {
    std::string host = "node-" + std::to_string(i);
    std::ifstream ran(f.marks() / ("ran-" + host));
    int count = 0;
    for (std::string l; std::getline(ran, l);) ++count;
    EXPECT_EQ(count, 1) << host << " ran its step " << count << " times";
  }
}

TEST(JobE2eTest, ApplyWaitsForARestartingSeederAndPutsOnce) {
  JobFleet f;
  fs::path release = f.dir() / "release.bin";
  WriteRandomFile(release, 1 << 20, 7);
  fs::path dest = f.fleet().OutDir() / "release.bin";
  fs::path job = f.WriteJob("release", ReleaseJob("release-1", "0", dest, f.marks()));
  f.fleet().StopSeeder();
  const std::string socket = (f.fleet().SeederState() / "admin.sock").string();
  ChildProcess cli("shoal",
                   {"apply", job.string(), "--quiet", "--seeder", socket, "--planner-dir",
                    f.cp().planner_dir().string()},
                   f.dir() / "apply");
  ASSERT_TRUE(ControlPlane::Eventually([&] {
    return cli.Stderr().find("seeder unreachable") != std::string::npos;
  })) << cli.Stderr();
  f.fleet().StartSeeder();
  int status = cli.Wait(std::chrono::seconds(180));
  ASSERT_TRUE(status != -1 && WIFEXITED(status)) << cli.Stderr();
  EXPECT_EQ(WEXITSTATUS(status), 0) << cli.Stdout() << cli.Stderr();
  EXPECT_EQ(Md5Hex(dest), Md5Hex(release));
  // And a seeder that answers with a refusal is not retried: the error is final at once.
  fs::path missing = f.WriteJob("missing", "name: missing\ntargets: [role=web]\nsteps:\n"
                                           "  - file: {artifact: " + std::string(64, 'a') +
                                           ", dest: " + dest.string() + "}\n");
  auto refused = f.Shoal({"apply", missing.string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_EQ(refused.err.find("retrying"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace shoal::testing
