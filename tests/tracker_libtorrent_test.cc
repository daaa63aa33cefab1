// Real libtorrent against shoal-tracker: one session seeds a v2-only torrent, another downloads
// it, and the only way they can find each other is our tracker (DHT, LSD, UPnP, NAT-PMP off).
// This proves libtorrent parses our answers and that the v2 truncated info-hash works.
#include <gtest/gtest.h>

#include <libtorrent/alert_types.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <thread>

#include "tests/support/process.h"
#include "tests/tracker_support.h"

namespace shoal {
namespace {
using namespace shoal::testing;
namespace fs = std::filesystem;

lt::settings_pack LoopbackSettings() {
  lt::settings_pack s;
  s.set_bool(lt::settings_pack::enable_dht, false);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, false);
  s.set_bool(lt::settings_pack::enable_natpmp, false);
  s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
  s.set_str(lt::settings_pack::listen_interfaces, "127.0.0.1:0");
  s.set_int(lt::settings_pack::alert_mask,
            lt::alert_category::status | lt::alert_category::error | lt::alert_category::tracker);
  return s;
}

std::shared_ptr<lt::torrent_info> MakeV2Torrent(const fs::path& file) {
  lt::file_storage fs;
  lt::add_files(fs, file.string());
  lt::create_torrent ct(fs, 16 * 1024, lt::create_torrent::v2_only);
  lt::set_piece_hashes(ct, file.parent_path().string());
  std::vector<char> buf;
  lt::bencode(std::back_inserter(buf), ct.generate());
  return std::make_shared<lt::torrent_info>(buf, lt::from_span);
}

int64_t ScrapeComplete(const boost::asio::ip::tcp::endpoint& ep, const std::string& hash) {
  auto reply = HttpGet(ep, "/scrape?info_hash=" + UrlEncodeAll(hash));
  auto d = Bdecode(reply.body);
  if (!d->ok) return -1;
  return d->node.dict_find_dict("files").dict_find_dict(hash).dict_find_int_value("complete", -1);
}

// Logs tracker errors (useful when this test fails) and drains the alert queue.
void DrainAlerts(lt::session& s, const char* who) {
  std::vector<lt::alert*> alerts;
  s.pop_alerts(&alerts);
  for (auto* a : alerts) {
    if (lt::alert_cast<lt::tracker_error_alert>(a) || lt::alert_cast<lt::torrent_error_alert>(a)) {
      std::cerr << who << ": " << a->message() << "\n";
    }
  }
}

TEST(TrackerLibtorrentTest, TwoSessionsFindEachOtherThroughOurTrackerAndDownload) {
  TempDir dir;
  ChildProcess tracker("shoal-tracker",
                       {"--listen", "127.0.0.1:0", "--ready-file", (dir / "ready").string(),
                        "--interval", "2", "-v", "--open"},
                       dir / "tracker");
  auto ready = WaitForReadyFile(dir / "ready");
  ASSERT_FALSE(ready.empty()) << tracker.Stderr();
  const auto ep = Endpoint(ready["tracker"]);

  fs::create_directories(dir / "seed");
  fs::create_directories(dir / "leech");
  WriteRandomFile(dir / "seed/payload.bin", 3 * 1024 * 1024 + 123, 77);
  auto ti = MakeV2Torrent(dir / "seed/payload.bin");
  ASSERT_TRUE(ti->info_hashes().has_v2());
  ASSERT_FALSE(ti->info_hashes().has_v1());
  const lt::sha1_hash truncated = ti->info_hashes().get_best();
  const std::string hash(truncated.data(), truncated.size());

  lt::session seeder{lt::session_params(LoopbackSettings())};
  lt::session leecher{lt::session_params(LoopbackSettings())};
  auto add = [&](lt::session& s, const fs::path& save, const std::string& rack) {
    lt::add_torrent_params p;
    p.ti = ti;
    p.save_path = save.string();
    p.trackers = {ready["announce"] + "?dc=dc1&rack=" + rack};
    return s.add_torrent(p);
  };
  add(seeder, dir / "seed", "r1");

  // Wait until the tracker knows the seed (observable via scrape), so that the leecher's first
  // announce already gets it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ScrapeComplete(ep, hash) < 1 && std::chrono::steady_clock::now() < deadline) {
    DrainAlerts(seeder, "seeder");
    seeder.wait_for_alert(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(ScrapeComplete(ep, hash), 1) << tracker.Stderr();

  auto handle = add(leecher, dir / "leech", "r2");
  bool done = false;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    leecher.wait_for_alert(std::chrono::milliseconds(100));
    DrainAlerts(leecher, "leecher");
    DrainAlerts(seeder, "seeder");
    done = handle.status().is_seeding;
  }
  ASSERT_TRUE(done) << "leecher did not complete; tracker log:\n" << tracker.Stderr();
  EXPECT_EQ(Md5Hex(dir / "leech/payload.bin"), Md5Hex(dir / "seed/payload.bin"));

  // The leecher tells the tracker it completed: two seeds, one download counted.
  while (ScrapeComplete(ep, hash) < 2 && std::chrono::steady_clock::now() < deadline) {
    leecher.wait_for_alert(std::chrono::milliseconds(100));
    DrainAlerts(leecher, "leecher");
  }
  EXPECT_EQ(ScrapeComplete(ep, hash), 2);
}

}  // namespace
}  // namespace shoal
