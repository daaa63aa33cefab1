// A stalled download, explained (core/swarm_stall.h): when the report is due, and what a node
// logs (`--stall-report 2`) when its only source, a real shoal-seeder, freezes mid-download
// (SIGSTOP) and comes back.
#include "core/swarm_stall.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = StallWatch::Clock;

TEST(StallWatchTest, ReportsAfterTheFirstIntervalThenEachTimeTheStallDoubles) {
  const Clock::time_point t0{};
  StallWatch watch(t0, 4s);
  EXPECT_FALSE(watch.Due(t0 + 3s));
  EXPECT_EQ(watch.Due(t0 + 4s), Clock::duration(4s));
  EXPECT_FALSE(watch.Due(t0 + 5s)) << "one report per due time";
  EXPECT_FALSE(watch.Due(t0 + 7s));
  EXPECT_EQ(watch.Due(t0 + 8s), Clock::duration(8s));
  // Checked late (a busy thread): one report, and the next one at the doubling after it.
  EXPECT_EQ(watch.Due(t0 + 40s), Clock::duration(40s));
  EXPECT_FALSE(watch.Due(t0 + 63s));
  EXPECT_EQ(watch.Due(t0 + 64s), Clock::duration(64s));
}

TEST(StallWatchTest, ProgressEndsTheStallAndNamesItsLengthOnlyIfItWasReported) {
  const Clock::time_point t0{};
  StallWatch watch(t0, 4s);
  EXPECT_FALSE(watch.Progress(t0 + 3s)) << "not reported: not worth a line";
  EXPECT_FALSE(watch.Due(t0 + 6s)) << "the stall began again at the progress";
  EXPECT_TRUE(watch.Due(t0 + 7s));
  EXPECT_EQ(watch.Progress(t0 + 9s), Clock::duration(6s));
  EXPECT_FALSE(watch.Due(t0 + 12s)) << "back to the first interval";
  EXPECT_TRUE(watch.Due(t0 + 13s));
}

// Resumes a stopped process however the test ends: a stopped child ignores the fleet's SIGTERM.
struct ContinueOnExit {
  pid_t pid;
  ~ContinueOnExit() { kill(pid, SIGCONT); }
};

TEST(SwarmStallTest, NodeExplainsAFrozenOriginAndCompletesOnceItReturns) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder({"--upload-limit", "2000000"});  // 16 MiB in about 8 s
  fleet.StartNode(0, {"--stall-report", "2"});
  fs::path file = dir / "artifact.bin";
  WriteRandomFile(file, 16 << 20, 91);
  const std::string id = fleet.Put(file);

  const pid_t seeder = fleet.seeder().pid();
  ContinueOnExit resume{seeder};
  std::atomic<bool> frozen{false};
  std::thread thaw;
  FetchReply reply =
      fleet.Fetch(0, id, (fleet.OutDir() / "copy").string(), [&](uint64_t done, uint64_t total) {
        if (frozen || done < total / 4) return false;
        // A quarter in: freeze the only source, and thaw it once the node has explained.
        frozen = true;
        EXPECT_EQ(kill(seeder, SIGSTOP), 0);
        thaw = std::thread([&] {
          for (int i = 0; i < 300; ++i) {
            if (fleet.node(0).Stderr().find(": stall: peer ") != std::string::npos) break;
            std::this_thread::sleep_for(100ms);
          }
          kill(seeder, SIGCONT);
        });
        return false;
      });
  if (thaw.joinable()) thaw.join();
  ASSERT_TRUE(frozen) << "the fetch never reported a quarter done";
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_EQ(Md5Hex(reply.path), Md5Hex(file));

  const std::string log = fleet.node(0).Stderr();
  const auto report = log.find(id + ": no piece verified for 2 s; ");
  ASSERT_NE(report, std::string::npos) << log;
  // What it lacks, who holds its requests (the origin, the only peer), and that it ended.
  EXPECT_NE(log.find(" pieces missing, ", report), std::string::npos) << log;
  EXPECT_NE(log.find("); downloading\n", report), std::string::npos) << log;
  EXPECT_NE(log.find(id + ": stall: piece ", report), std::string::npos) << log;
  const auto origin = log.find(" (origin): ", report);
  ASSERT_NE(origin, std::string::npos) << log;
  EXPECT_NE(log.find(" requests out (", origin), std::string::npos) << log;
  EXPECT_NE(log.find("; the stall lasted ", report), std::string::npos) << log;
}

}  // namespace
}  // namespace shoal::testing
