// shoal-tracker as a real process on 127.0.0.1: announce/scrape round trips, expiry, stop,
// topology-aware ordering, seeds-not-to-seeds, and hostile input answered without a crash.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/support/process.h"
#include "tests/tracker_support.h"

namespace shoal {
namespace {
using namespace shoal::testing;
using boost::asio::ip::tcp;

class TrackerProcess {
 public:
  // Open (any info-hash) unless `extra` gives --register-key-file.
  explicit TrackerProcess(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--listen", "127.0.0.1:0", "--ready-file", (dir_ / "ready").string(), "--interval", "7"};
    if (std::find(extra.begin(), extra.end(), "--register-key-file") == extra.end()) {
      args.push_back("--open");
    }
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<ChildProcess>("shoal-tracker", args, dir_ / "tracker");
    ready_ = WaitForReadyFile(dir_ / "ready");
    if (!ready_.empty()) endpoint_ = Endpoint(ready_["tracker"]);
  }
  const std::map<std::string, std::string>& ready() const { return ready_; }
  const tcp::endpoint& endpoint() const { return endpoint_; }
  ChildProcess& process() { return *proc_; }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> proc_;
  std::map<std::string, std::string> ready_;
  tcp::endpoint endpoint_;
};

struct Announce {
  std::string info_hash = Id20("torrent-a", 0);
  std::string peer_id;
  int port = 0;
  int64_t left = 100;
  std::string event;
  int numwant = -1;
  std::string dc, rack;

  std::string Target() const {
    std::string t = "/announce?";
    if (!dc.empty()) t += "dc=" + dc + "&";
    if (!rack.empty()) t += "rack=" + rack + "&";
    t += "info_hash=" + UrlEncodeAll(info_hash) + "&peer_id=" + UrlEncodeAll(peer_id) +
         "&port=" + std::to_string(port) + "&uploaded=0&downloaded=0&left=" + std::to_string(left) +
         "&compact=1";
    if (!event.empty()) t += "&event=" + event;
    if (numwant >= 0) t += "&numwant=" + std::to_string(numwant);
    return t;
  }
};

// Announces and returns the offered ports, in order; fails the test on a failure reason.
std::vector<uint16_t> AnnounceOk(const tcp::endpoint& ep, const Announce& a) {
  auto reply = HttpGet(ep, a.Target());
  EXPECT_EQ(reply.status, 200);
  auto d = Bdecode(reply.body);
  EXPECT_TRUE(d->ok) << reply.body;
  if (!d->ok) return {};
  EXPECT_EQ(d->node.dict_find_string_value("failure reason"), "") << reply.body;
  std::string peers = d->node.dict_find_string_value("peers").to_string();
  EXPECT_EQ(peers.size() % 6, 0u);
  std::vector<uint16_t> ports;
  for (const auto& p : SplitCompact(peers)) {
    EXPECT_EQ(p.ip, "127.0.0.1");
    ports.push_back(p.port);
  }
  return ports;
}

struct Counts {
  int64_t complete = -1, incomplete = -1, downloaded = -1;
};
Counts Scrape(const tcp::endpoint& ep, const std::string& info_hash) {
  auto reply = HttpGet(ep, "/scrape?info_hash=" + UrlEncodeAll(info_hash));
  auto d = Bdecode(reply.body);
  if (reply.status != 200 || !d->ok) return {};
  auto file = d->node.dict_find_dict("files").dict_find_dict(info_hash);
  if (!file) return {};
  return {file.dict_find_int_value("complete", -1), file.dict_find_int_value("incomplete", -1),
          file.dict_find_int_value("downloaded", -1)};
}

std::string FailureReason(const HttpReply& reply) {
  auto d = Bdecode(reply.body);
  if (!d->ok || d->node.type() != lt::bdecode_node::dict_t) return "<not bencoded>";
  return std::string(d->node.dict_find_string_value("failure reason"));
}

TEST(TrackerTest, ReadyFileNamesTrackerAndAnnounceUrl) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty()) << t.process().Stderr();
  const auto& r = t.ready();
  ASSERT_EQ(r.count("tracker"), 1u);
  EXPECT_EQ(r.at("tracker").rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(t.endpoint().port(), 0);
  EXPECT_EQ(r.at("announce"), "http://" + r.at("tracker") + "/announce");
}

TEST(TrackerTest, AnnounceAndScrapeRoundTrip) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty());
  Announce seed{.peer_id = Id20("-SH0001-seed", 1), .port = 6001, .left = 0, .event = "started"};
  EXPECT_TRUE(AnnounceOk(t.endpoint(), seed).empty());  // nobody else yet

  Announce leech{.peer_id = Id20("-SH0001-leech", 2), .port = 6002, .left = 5};
  auto reply = HttpGet(t.endpoint(), leech.Target());
  ASSERT_EQ(reply.status, 200);
  auto d = Bdecode(reply.body);
  ASSERT_TRUE(d->ok);
  EXPECT_EQ(d->node.dict_find_int_value("interval"), 7);
  EXPECT_EQ(d->node.dict_find_int_value("min interval"), 7);
  EXPECT_EQ(d->node.dict_find_int_value("complete"), 1);
  EXPECT_EQ(d->node.dict_find_int_value("incomplete"), 1);
  // The compact entry is exactly 127.0.0.1 and port 6001 in network byte order.
  EXPECT_EQ(d->node.dict_find_string_value("peers"), std::string("\x7f\x00\x00\x01\x17\x71", 6));
  EXPECT_FALSE(d->node.dict_find("peers6"));

  // Scrape two hashes at once: one tracked, one never announced.
  std::string other = Id20("torrent-b", 9);
  auto s = HttpGet(t.endpoint(), "/scrape?info_hash=" + UrlEncodeAll(seed.info_hash) +
                                     "&info_hash=" + UrlEncodeAll(other));
  ASSERT_EQ(s.status, 200);
  auto sd = Bdecode(s.body);
  ASSERT_TRUE(sd->ok);
  auto files = sd->node.dict_find_dict("files");
  ASSERT_TRUE(files);
  EXPECT_EQ(files.dict_size(), 2);
  auto a = files.dict_find_dict(seed.info_hash);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.dict_find_int_value("complete"), 1);
  EXPECT_EQ(a.dict_find_int_value("incomplete"), 1);
  EXPECT_EQ(a.dict_find_int_value("downloaded"), 0);
  EXPECT_EQ(files.dict_find_dict(other).dict_find_int_value("complete", -1), 0);

  // The leecher completes: one download counted, once, and it is now a seed.
  leech.left = 0;
  leech.event = "completed";
  AnnounceOk(t.endpoint(), leech);
  AnnounceOk(t.endpoint(), leech);
  auto c = Scrape(t.endpoint(), seed.info_hash);
  EXPECT_EQ(c.complete, 2);
  EXPECT_EQ(c.incomplete, 0);
  EXPECT_EQ(c.downloaded, 1);
}

TEST(TrackerTest, StoppedRemovesPeerAtOnce) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty());
  Announce a{.peer_id = Id20("-SH0001-a", 1), .port = 7001};
  Announce b{.peer_id = Id20("-SH0001-b", 2), .port = 7002};
  AnnounceOk(t.endpoint(), a);
  EXPECT_EQ(AnnounceOk(t.endpoint(), b), std::vector<uint16_t>{7001});
  a.event = "stopped";
  AnnounceOk(t.endpoint(), a);
  EXPECT_EQ(Scrape(t.endpoint(), a.info_hash).incomplete, 1);
  EXPECT_TRUE(AnnounceOk(t.endpoint(), b).empty());
}

TEST(TrackerTest, PeersExpireWhenTheyStopAnnouncing) {
  TrackerProcess t({"--peer-ttl", "1"});
  ASSERT_FALSE(t.ready().empty());
  Announce a{.peer_id = Id20("-SH0001-a", 1), .port = 7001};
  AnnounceOk(t.endpoint(), a);
  EXPECT_EQ(Scrape(t.endpoint(), a.info_hash).incomplete, 1);
  // Wait on the observable state, with a generous deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t incomplete = 1;
  while (std::chrono::steady_clock::now() < deadline) {
    incomplete = Scrape(t.endpoint(), a.info_hash).incomplete;
    if (incomplete == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling pace only
  }
  EXPECT_EQ(incomplete, 0);
  Announce b{.peer_id = Id20("-SH0001-b", 2), .port = 7002};
  EXPECT_TRUE(AnnounceOk(t.endpoint(), b).empty());
}

// Peers of one torrent spread over racks and dcs: 1000+seed, 2000+leecher; the hundreds digit
// is the group: 1xx same rack, 2xx same dc other rack, 3xx other dc.
class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(t_.ready().empty());
    int n = 0;
    auto add = [&](int base, const std::string& dc, const std::string& rack, bool seed) {
      for (int i = 0; i < 3; ++i) {
        Announce a{.peer_id = Id20("-SH0001-p", ++n),
                   .port = base + i,
                   .left = seed ? 0 : 9,
                   .dc = dc,
                   .rack = rack};
        AnnounceOk(t_.endpoint(), a);
      }
    };
    add(1100, "dc1", "r1", true);
    add(2100, "dc1", "r1", false);
    add(1200, "dc1", "r2", true);
    add(2200, "dc1", "r2", false);
    add(1300, "dc2", "r1", true);  // same rack name, other dc: not the same rack
    add(2300, "dc2", "r9", false);
  }
  static int Group(uint16_t port) { return port / 100; }  // 11, 21, 12, 22, 13, 23
  TrackerProcess t_;
};

TEST_F(TopologyTest, LeecherGetsRackThenDcThenOthersSeedsFirst) {
  Announce asker{.peer_id = Id20("-SH0001-asker", 1), .port = 3000, .dc = "dc1", .rack = "r1"};
  auto ports = AnnounceOk(t_.endpoint(), asker);
  ASSERT_EQ(ports.size(), 18u);
  std::vector<int> groups;
  for (auto p : ports) groups.push_back(Group(p));
  std::vector<int> expected;
  for (int g : {11, 21, 12, 22, 13, 23}) expected.insert(expected.end(), 3, g);
  EXPECT_EQ(groups, expected);
  EXPECT_EQ(std::set<uint16_t>(ports.begin(), ports.end()).size(), 18u);

  // numwant caps the answer and keeps the nearest peers.
  asker.numwant = 4;
  ports = AnnounceOk(t_.endpoint(), asker);
  ASSERT_EQ(ports.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Group(ports[i]), 11);
  EXPECT_EQ(Group(ports[3]), 21);
}

TEST_F(TopologyTest, SeedGetsLeechersOnlyNearestFirst) {
  Announce asker{
      .peer_id = Id20("-SH0001-seed", 1), .port = 3001, .left = 0, .dc = "dc1", .rack = "r2"};
  auto ports = AnnounceOk(t_.endpoint(), asker);
  std::vector<int> groups;
  for (auto p : ports) groups.push_back(Group(p));
  std::vector<int> expected;
  for (int g : {22, 21, 23}) expected.insert(expected.end(), 3, g);
  EXPECT_EQ(groups, expected);
}

TEST_F(TopologyTest, NeverOffersTheAskerItself) {
  // Same ip+port as a stored peer (it is re-announcing) ...
  Announce again{
      .peer_id = Id20("-SH0001-p", 1), .port = 1100, .left = 0, .dc = "dc1", .rack = "r1"};
  for (auto p : AnnounceOk(t_.endpoint(), again)) EXPECT_NE(p, 1100);
  // ... and same peer_id from another port.
  Announce moved = again;
  moved.port = 4000;
  moved.left = 5;
  auto ports = AnnounceOk(t_.endpoint(), moved);
  EXPECT_EQ(std::count(ports.begin(), ports.end(), 1100), 0);
  EXPECT_EQ(ports.size(), 17u);
}

TEST(TrackerTest, HostileRequestsGetFailureReasonsAndTrackerKeepsServing) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty());
  const std::string ih = "info_hash=" + UrlEncodeAll(Id20("x", 1));
  const std::string pid = "&peer_id=" + UrlEncodeAll(Id20("y", 2));
  struct Case {
    std::string target, expect;
  };
  std::vector<Case> cases = {
      {"/announce?" + pid.substr(1) + "&port=1&left=0", "missing info_hash"},
      {"/announce?" + ih + "&port=1&left=0", "missing peer_id"},
      {"/announce?" + ih + pid + "&left=0", "missing port"},
      {"/announce?info_hash=abc" + pid + "&port=1&left=0", "info_hash: must be 20 bytes, got 3"},
      {"/announce?info_hash=" + UrlEncodeAll(std::string(21, 'a')) + pid + "&port=1&left=0",
       "info_hash: must be 20 bytes, got 21"},
      {"/announce?info_hash=%zz" + pid + "&port=1&left=0", "info_hash: invalid %-escape"},
      {"/announce?info_hash=%4" + pid + "&port=1&left=0", "info_hash: truncated %-escape"},
      {"/announce?" + ih + pid + "&port=0&left=0", "port: out of range"},
      {"/announce?" + ih + pid + "&port=70000&left=0", "port: out of range"},
      {"/announce?" + ih + pid + "&port=http&left=0", "port: not a decimal number"},
      {"/announce?" + ih + pid + "&port=-5&left=0", "port: must not be negative"},
      {"/announce?" + ih + pid + "&port=1&left=99999999999999999999999", "left: number too large"},
      {"/announce?" + ih + pid + "&port=1&left=-1", "left: must not be negative"},
      {"/announce?" + ih + pid + "&port=1&left=0&numwant=-3", "numwant: must not be negative"},
      {"/announce?" + ih + pid + "&port=1&left=0&event=exploded", "event: unknown event"},
      {"/announce?" + ih + "&" + ih + pid + "&port=1&left=0", "info_hash: given more than once"},
      {"/announce?" + ih + pid + "&port=1&left=0&dc=" + std::string(100, 'd'),
       "dc: label too long"},
      {"/announce", "missing info_hash"},
      {"/scrape", "scrape needs at least one info_hash"},
      {"/scrape?info_hash=short", "info_hash: must be 20 bytes"},
  };
  for (const auto& c : cases) {
    auto reply = HttpGet(t.endpoint(), c.target);
    EXPECT_EQ(reply.status, 200) << c.target;
    EXPECT_NE(FailureReason(reply).find(c.expect), std::string::npos)
        << c.target << " -> " << FailureReason(reply);
  }
  auto unknown = HttpGet(t.endpoint(), "/favicon.ico");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(FailureReason(unknown).find("unknown path"), std::string::npos);

  // HTTP-level garbage: answered 400 with a reason, or dropped; never a crash.
  auto is_400_with_reason = [](const std::string& raw) {
    return raw.rfind("HTTP/1.1 400", 0) == 0 && raw.find("failure reason") != std::string::npos;
  };
  std::string garbage;
  for (int i = 0; i < 3000; ++i) garbage.push_back(static_cast<char>((i * 7919) & 0xff));
  EXPECT_TRUE(is_400_with_reason(RawExchange(t.endpoint(), garbage)));
  // Oversize request lines and headers: 431 (RFC 6585) with a reason, not a reset.
  auto is_431_with_reason = [](const std::string& raw) {
    return raw.rfind("HTTP/1.1 431", 0) == 0 && raw.find("failure reason") != std::string::npos;
  };
  std::string long_line = "GET /announce?" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n";
  EXPECT_TRUE(is_431_with_reason(RawExchange(t.endpoint(), long_line)));
  std::string many_headers = "GET /announce HTTP/1.1\r\n";
  for (int i = 0; i < 2000; ++i) many_headers += "X-Pad-" + std::to_string(i) + ": zzzzzz\r\n";
  many_headers += "\r\n";
  EXPECT_TRUE(is_431_with_reason(RawExchange(t.endpoint(), many_headers)));
  // A client that keeps sending after the answer (a 1 MiB header) still reads the 431.
  std::string huge = "GET /announce HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'b') + "\r\n\r\n";
  EXPECT_TRUE(is_431_with_reason(RawExchange(t.endpoint(), huge)));
  std::string with_body = "GET /announce HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_TRUE(is_400_with_reason(RawExchange(t.endpoint(), with_body)));
  auto post = RawExchange(t.endpoint(), "POST /announce HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  RawExchange(t.endpoint(), "GET /announce?info_hash=");  // truncated request, then EOF

  // Still serving, and still alive.
  Announce a{.peer_id = Id20("-SH0001-a", 1), .port = 7001};
  Announce b{.peer_id = Id20("-SH0001-b", 2), .port = 7002};
  AnnounceOk(t.endpoint(), a);
  EXPECT_EQ(AnnounceOk(t.endpoint(), b), std::vector<uint16_t>{7001});
  EXPECT_TRUE(t.process().running());
}

TEST(TrackerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty());
  std::string two = "GET /scrape?info_hash=" + UrlEncodeAll(Id20("k", 1)) +
                    " HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n"
                    "Connection: close\r\n\r\n";
  auto raw = RawExchange(t.endpoint(), two);
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
  EXPECT_NE(raw.find("HTTP/1.1 404"), std::string::npos) << raw;
}

// Blocks until the peer closes `socket` (true) or `seconds` pass (false); sends nothing.
bool ClosedByPeer(tcp::socket& socket, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  return ::recv(socket.native_handle(), &c, 1, 0) == 0;
}

TEST(TrackerTest, ClosesIdleConnections) {
  TrackerProcess t({"--idle-timeout", "0.3"});
  ASSERT_FALSE(t.ready().empty());
  boost::asio::io_context io;
  tcp::socket idle(io);
  idle.connect(t.endpoint());
  EXPECT_TRUE(ClosedByPeer(idle, 10));  // well under the default idle timeout (15 s)
}

TEST(TrackerTest, ConnectionCapShedsExtraConnectionsAndRecovers) {
  TrackerProcess t({"--max-connections", "2", "--idle-timeout", "120"});
  ASSERT_FALSE(t.ready().empty());
  boost::asio::io_context io;
  auto first = std::make_unique<tcp::socket>(io);
  tcp::socket second(io), third(io);
  first->connect(t.endpoint());
  second.connect(t.endpoint());
  third.connect(t.endpoint());  // accepted after the other two, over the cap: closed at once
  EXPECT_TRUE(ClosedByPeer(third, 20));  // the idle timeout is far later
  first.reset();                         // frees a slot once the tracker sees the close
  const std::string scrape = "/scrape?info_hash=" + UrlEncodeAll(Id20("c", 1));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    status = HttpGet(t.endpoint(), scrape).status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pace
  }
  EXPECT_EQ(status, 200);
}

TEST(TrackerTest, ExitsCleanlyOnSigterm) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty());
  // An idle open connection must not hold the shutdown up.
  boost::asio::io_context io;
  tcp::socket idle(io);
  idle.connect(t.endpoint());
  t.process().Kill(SIGTERM);
  int status = t.process().Wait(std::chrono::seconds(20));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// POSTs a /register body with `key` (none if empty) and returns the raw answer.
std::string Register(const tcp::endpoint& ep, const std::string& key, const std::string& body) {
  std::string req = "POST /register HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!key.empty()) req += "Authorization: Bearer " + key + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return RawExchange(ep, req);
}

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

TEST(TrackerTest, AClosedTrackerTracksOnlyWhatItsSeederRegistered) {
  TempDir dir;
  const std::string key = "0123456789abcdef-test-key";
  { std::ofstream(dir / "key") << key << "\n"; }
  TrackerProcess t({"--register-key-file", (dir / "key").string()});
  ASSERT_FALSE(t.ready().empty());
  Announce a{.info_hash = Id20("registered", 1), .peer_id = Id20("-SH0001-a", 1), .port = 7001};
  Announce stranger{
      .info_hash = Id20("stranger", 2), .peer_id = Id20("-SH0001-s", 2), .port = 7002};
  // Not registered yet: a bencoded failure, and nothing is stored.
  auto refused = HttpGet(t.endpoint(), a.Target());
  EXPECT_EQ(refused.status, 200);
  EXPECT_NE(FailureReason(refused).find("unregistered torrent"), std::string::npos) << refused.body;
  // Registration needs the key; a wrong or missing one is refused and registers nothing.
  EXPECT_EQ(
      Register(t.endpoint(), "wrong-key-wrong-key", Hex(a.info_hash)).rfind("HTTP/1.1 403", 0), 0u);
  EXPECT_EQ(Register(t.endpoint(), "", Hex(a.info_hash)).rfind("HTTP/1.1 403", 0), 0u);
  EXPECT_EQ(Register(t.endpoint(), key, "not-hex\n").rfind("HTTP/1.1 400", 0), 0u);
  auto get = RawExchange(t.endpoint(), "GET /register HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(get.rfind("HTTP/1.1 405", 0), 0u) << get;
  EXPECT_NE(FailureReason(HttpGet(t.endpoint(), a.Target())).find("unregistered"),
            std::string::npos);
  // With the key: a 40-hex hash, and a 64-hex v2 hash whose first 20 bytes peers announce.
  auto ok = Register(t.endpoint(), key,
                     Hex(a.info_hash) + "\n" + Hex(Id20("v2", 3)) + std::string(24, 'f') + "\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("registeredi2e"), std::string::npos) << ok;
  EXPECT_TRUE(AnnounceOk(t.endpoint(), a).empty());
  Announce b = a;
  b.peer_id = Id20("-SH0001-b", 9);
  b.port = 7009;
  EXPECT_EQ(AnnounceOk(t.endpoint(), b), std::vector<uint16_t>{7001});
  Announce v2{.info_hash = Id20("v2", 3), .peer_id = Id20("-SH0001-c", 3), .port = 7003};
  AnnounceOk(t.endpoint(), v2);
  // Strangers are still refused.
  EXPECT_NE(FailureReason(HttpGet(t.endpoint(), stranger.Target())).find("unregistered"),
            std::string::npos);
  EXPECT_TRUE(t.process().running());
}

TEST(TrackerTest, AnOpenTrackerRefusesRegistrations) {
  TrackerProcess t;
  ASSERT_FALSE(t.ready().empty());
  EXPECT_EQ(Register(t.endpoint(), "0123456789abcdef", Hex(Id20("x", 1))).rfind("HTTP/1.1 404", 0),
            0u);
}

}  // namespace
}  // namespace shoal
