// A stalled download, explained (core/swarm_stall.h): when the report is due, and what a node
// logs (`--stall-report 2`) when its only source, a real shoal-seeder, freezes mid-download
// (SIGSTOP) and comes back.
#include "core/swarm_stall.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_info.hpp>
#include <thread>

#include "core/ingest.h"
#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;
namespace lt = libtorrent;
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

TEST(PrefixWaitTest, LoggedOnlyForALongWaitWhileLaterPiecesComeIn) {
  EXPECT_FALSE(PrefixWaitWorthLogging(3s, 4s, 100)) << "not long enough";
  EXPECT_FALSE(PrefixWaitWorthLogging(9s, 4s, 7)) << "the download itself is slow";
  EXPECT_TRUE(PrefixWaitWorthLogging(4s, 4s, 8));
}

// DescribePiece on a real libtorrent session: a download with no peer yet, one piece raised.
TEST(PrefixWaitTest, DescribesAPieceItsPriorityAndThatNoPeerHasIt) {
  TempDir dir;
  const fs::path file = dir / "artifact.bin";
  WriteRandomFile(file, 1 << 20, 17);
  auto digests = HashFile(file, 64 << 10);
  ASSERT_TRUE(digests.ok()) << digests.error().message;
  auto torrent = MakeTorrent(*digests, "artifact.bin");
  ASSERT_TRUE(torrent.ok()) << torrent.error().message;

  lt::settings_pack settings;
  settings.set_str(lt::settings_pack::listen_interfaces, "127.0.0.1:0");
  settings.set_bool(lt::settings_pack::enable_dht, false);
  settings.set_bool(lt::settings_pack::enable_lsd, false);
  settings.set_bool(lt::settings_pack::enable_upnp, false);
  settings.set_bool(lt::settings_pack::enable_natpmp, false);
  lt::session session(settings);
  lt::add_torrent_params params;
  params.ti =
      std::make_shared<lt::torrent_info>(torrent->data(), static_cast<int>(torrent->size()));
  params.save_path = (dir / "download").string();  // empty: every piece missing
  lt::torrent_handle handle = session.add_torrent(std::move(params));
  handle.piece_priority(lt::piece_index_t(3), lt::download_priority_t(6));
  for (int i = 0; i < 100 && handle.status().state != lt::torrent_status::downloading; ++i)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(handle.status().state, lt::torrent_status::downloading);

  EXPECT_EQ(DescribePiece(handle, 3),
            "piece 3: not requested; 0 peers with it, priority 6; 0 pieces begun, 0 with blocks "
            "unrequested");
  EXPECT_EQ(DescribePiece(handle, 4),
            "piece 4: not requested; 0 peers with it, priority 4; 0 pieces begun, 0 with blocks "
            "unrequested");
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
  // Under origin dispatch the digest window (32 MiB: the whole file here) is at libtorrent's top
  // priority, 7; at 6 rarer default pieces went first (core/swarm_picking.h).
  EXPECT_NE(log.find(" peer with it, priority 7", report), std::string::npos) << log;
  const auto origin = log.find(" (origin): ", report);
  ASSERT_NE(origin, std::string::npos) << log;
  EXPECT_NE(log.find(" requests out (", origin), std::string::npos) << log;
  EXPECT_NE(log.find("; the stall lasted ", report), std::string::npos) << log;
}

}  // namespace
}  // namespace shoal::testing
