// The tracker's pure parts: request parsing (and the fuzz corpus replayed through it), peer
// choice and expiry in Swarms with synthetic time, caps, and the bencoded encoders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/tracker_support.h"
#include "tracker/request.h"
#include "tracker/response.h"
#include "tracker/service.h"
#include "tracker/swarm.h"

namespace shoal::tracker {
namespace {
using shoal::testing::Bdecode;
using shoal::testing::Id20;
using shoal::testing::UrlEncodeAll;
namespace fs = std::filesystem;

const auto kLoopback = boost::asio::ip::make_address("127.0.0.1");

std::string Query(const std::string& hash, const std::string& peer, int port, int64_t left) {
  return "info_hash=" + UrlEncodeAll(hash) + "&peer_id=" + UrlEncodeAll(peer) +
         "&port=" + std::to_string(port) + "&left=" + std::to_string(left);
}

TEST(TrackerRequestTest, PercentDecodeIsExact) {
  auto all = PercentDecode("%00%01%7f%80%FF%fFa+b");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, std::string("\x00\x01\x7f\x80\xff\xff"
                              "a b",
                              9));
  EXPECT_FALSE(PercentDecode("%").ok());
  EXPECT_FALSE(PercentDecode("ab%4").ok());
  EXPECT_FALSE(PercentDecode("%g0").ok());
  EXPECT_FALSE(PercentDecode("%0g").ok());
}

TEST(TrackerRequestTest, ParsesAFullLibtorrentStyleAnnounce) {
  std::string hash = Id20("h", 3), peer = Id20("-LT2080-", 4);
  auto r = ParseTarget("/announce?dc=dc%2d1&rack=r3&info_hash=" + UrlEncodeAll(hash) +
                       "&peer_id=" + UrlEncodeAll(peer) +
                       "&port=6881&uploaded=10&downloaded=20&left=30&corrupt=0&key=abc"
                       "&event=started&numwant=500&compact=1&no_peer_id=1&supportcrypto=1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& a = std::get<AnnounceRequest>(*r);
  EXPECT_EQ(a.info_hash.view(), hash);
  EXPECT_EQ(a.peer_id.view(), peer);
  EXPECT_EQ(a.port, 6881);
  EXPECT_EQ(a.uploaded, 10);
  EXPECT_EQ(a.downloaded, 20);
  EXPECT_EQ(a.left, 30);
  EXPECT_EQ(a.event, AnnounceEvent::kStarted);
  EXPECT_EQ(a.numwant, kMaxNumWant);  // clamped
  EXPECT_TRUE(a.compact);
  EXPECT_EQ(a.dc, "dc-1");
  EXPECT_EQ(a.rack, "r3");
}

TEST(TrackerRequestTest, DefaultsAndDispatch) {
  auto r = ParseAnnounce(Query(Id20("h", 1), Id20("p", 2), 1, 0));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->numwant, kDefaultNumWant);
  EXPECT_EQ(r->event, AnnounceEvent::kNone);
  auto s = ParseTarget("/scrape?info_hash=" + UrlEncodeAll(Id20("a", 1)) +
                       "&info_hash=" + UrlEncodeAll(Id20("b", 1)));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::get<ScrapeRequest>(*s).info_hashes.size(), 2u);
  auto u = ParseTarget("/announce/../etc/passwd?x");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(std::holds_alternative<UnknownPath>(*u));
  std::string many = "/scrape?";
  for (int i = 0; i < 300; ++i) many += "info_hash=" + UrlEncodeAll(Id20("m", i)) + "&";
  auto too_many = ParseTarget(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("too many"), std::string::npos);
}

// Every file of the fuzz seed corpus goes through the parser without a crash, and the corpus
// holds both accepted and refused requests (so it covers both paths).
TEST(TrackerRequestTest, ReplaysFuzzCorpus) {
  fs::path dir = fs::path(SHOAL_SOURCE_DIR) / "tests/fuzz/corpus/tracker";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int files = 0, accepted = 0, refused = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto r = ParseTarget(data);
    ++files;
    (r.ok() ? accepted : refused)++;
    TrackerService service({}, {}, 1);
    auto answer = service.Handle(true, data, kLoopback, Clock::now());
    EXPECT_TRUE(Bdecode(answer.body)->ok) << entry.path();
  }
  EXPECT_GE(files, 8);
  EXPECT_GT(accepted, 0);
  EXPECT_GT(refused, 0);
}

AnnounceRequest Req(int peer, int port, bool seed, std::string dc = "", std::string rack = "") {
  auto r = ParseAnnounce(Query(Id20("torrent", 0), Id20("peer", peer), port, seed ? 0 : 1));
  EXPECT_TRUE(r.ok());
  r->dc = std::move(dc);
  r->rack = std::move(rack);
  return *r;
}

TEST(TrackerSwarmTest, ExpiresPeersByTtlWithSyntheticTime) {
  SwarmLimits limits;
  limits.peer_ttl = std::chrono::seconds(10);
  Swarms swarms(limits, 1);
  auto t0 = Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(swarms.Announce(Req(1, 1001, true), kLoopback, t0).ok());
  ASSERT_TRUE(swarms.Announce(Req(2, 1002, false), kLoopback, t0 + std::chrono::seconds(5)).ok());
  EXPECT_EQ(swarms.Expire(t0 + std::chrono::seconds(9)), 0u);
  // Peer 1 re-announces: its clock restarts.
  ASSERT_TRUE(swarms.Announce(Req(1, 1001, true), kLoopback, t0 + std::chrono::seconds(9)).ok());
  EXPECT_EQ(swarms.Expire(t0 + std::chrono::seconds(15)), 1u);  // peer 2 only
  auto s = swarms.Scrape(Req(1, 1, true).info_hash);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->complete, 1);
  EXPECT_EQ(s->incomplete, 0);
  EXPECT_EQ(swarms.Expire(t0 + std::chrono::seconds(19)), 1u);
  EXPECT_EQ(swarms.torrent_count(), 0u);
  EXPECT_EQ(swarms.peer_count(), 0u);
}

TEST(TrackerSwarmTest, CapsBoundTorrentsAndPeers) {
  SwarmLimits limits;
  limits.max_torrents = 1;
  limits.max_peers_per_torrent = 2;
  Swarms swarms(limits, 1);
  auto now = Clock::now();
  ASSERT_TRUE(swarms.Announce(Req(1, 1001, true), kLoopback, now).ok());
  ASSERT_TRUE(swarms.Announce(Req(2, 1002, false), kLoopback, now).ok());
  auto third = swarms.Announce(Req(3, 1003, false), kLoopback, now);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->stored);
  EXPECT_EQ(third->peers.size(), 2u);  // still served
  EXPECT_EQ(swarms.peer_count(), 2u);
  auto other = Req(4, 1004, false);
  other.info_hash.bytes[0] ^= 1;
  auto refused = swarms.Announce(other, kLoopback, now);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("too many torrents"), std::string::npos);
}

// A large swarm: the answer is numwant long, nearest group first, and varies between asks
// (random within the group) while covering only that group.
TEST(TrackerSwarmTest, LargeSwarmAnswersNumwantFromNearestGroupRandomly) {
  Swarms swarms({}, 42);
  auto now = Clock::now();
  int id = 0;
  for (int i = 0; i < 20000; ++i) {
    auto r = Req(++id, 10000 + i, i % 2 == 0, "dc" + std::to_string(i % 4),
                 "r" + std::to_string(i % 40));
    ASSERT_TRUE(swarms.Announce(r, kLoopback, now).ok());
  }
  // Rack r5 of dc1 holds ports 10005, 10045, ... (i % 40 == 5): 500 peers, all odd i: leechers.
  auto asker = Req(++id, 9000, false, "dc1", "r5");
  std::set<uint16_t> seen;
  for (int round = 0; round < 20; ++round) {
    auto reply = swarms.Announce(asker, kLoopback, now);
    ASSERT_TRUE(reply.ok());
    ASSERT_EQ(reply->peers.size(), static_cast<size_t>(kDefaultNumWant));
    for (const auto& p : reply->peers) {
      EXPECT_EQ((p.port - 10000) % 40, 5) << p.port;
      seen.insert(p.port);
    }
  }
  EXPECT_GT(seen.size(), 200u);  // 20 draws of 50 from 500: random, not a fixed window
}

TEST(TrackerResponseTest, EncodesIpv6PeersInPeers6) {
  AnnounceReply reply;
  reply.peers.push_back({boost::asio::ip::make_address("10.1.2.3"), 0x1234, {}});
  reply.peers.push_back({boost::asio::ip::make_address("::1"), 0x0102, {}});
  auto d = Bdecode(EncodeAnnounce(reply, {}, true, false));
  ASSERT_TRUE(d->ok);
  EXPECT_EQ(d->node.dict_find_string_value("peers"), std::string("\x0a\x01\x02\x03\x12\x34", 6));
  std::string v6(15, '\0');
  v6 += std::string("\x01\x01\x02", 3);
  EXPECT_EQ(d->node.dict_find_string_value("peers6"), v6);
  auto dict = Bdecode(EncodeAnnounce(reply, {}, false, false));
  ASSERT_TRUE(dict->ok);
  auto list = dict->node.dict_find_list("peers");
  ASSERT_EQ(list.list_size(), 2);
  EXPECT_EQ(list.list_at(1).dict_find_string_value("ip"), "::1");
  EXPECT_EQ(list.list_at(0).dict_find_int_value("port"), 0x1234);
}

}  // namespace
}  // namespace shoal::tracker
