// The swarm end to end: real shoal-tracker, shoal-seeder and shoal-node processes on loopback
// moving real files through libtorrent, verified against independent OpenSSL digests.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

// The node's own account of a fetch ("took N payload bytes, M of them from the origin"): the
// last such line in its log, as {N, M}.
std::pair<uint64_t, uint64_t> TakenBytes(const std::string& log) {
  auto at = log.rfind(": took ");
  if (at == std::string::npos) return {0, 0};
  uint64_t total = 0, origin = 0;
  std::sscanf(log.c_str() + at, ": took %lu payload bytes, %lu of them", &total, &origin);
  return {total, origin};
}

// The whole-file digests a node computed while downloading (node/stream_check.h), from the last
// "streamed digests" line of its log, as {sha256 hex, md5 hex}.
std::pair<std::string, std::string> StreamedDigests(const std::string& log) {
  auto at = log.rfind(": streamed digests sha256:");
  if (at == std::string::npos) return {};
  char sha[65] = {}, md5[33] = {};
  std::sscanf(log.c_str() + at, ": streamed digests sha256:%64s md5 %32s", sha, md5);
  return {sha, md5};
}

// What a node's last download took from its PieceCache (core/piece_cache.h), from its log: the
// bytes its digests read from memory, and the peers' reads served from memory so far.
std::pair<uint64_t, uint64_t> FromMemory(const std::string& log) {
  auto at = log.rfind(" bytes digested from memory");
  if (at == std::string::npos) return {0, 0};
  at = log.rfind("; ", at) + 2;
  uint64_t digested = 0, served = 0;
  std::sscanf(log.c_str() + at,
              "%lu bytes digested from memory; peers' reads from memory so far: %lu", &digested,
              &served);
  return {digested, served};
}

// Node `log` verified its download from the digests it streamed, and they are the file's own.
void ExpectStreamedCheckOf(const std::string& log, const fs::path& file, const std::string& who) {
  auto [sha256, md5] = StreamedDigests(log);
  EXPECT_EQ(sha256, Sha256Hex(file)) << who;
  EXPECT_EQ(md5, Md5Hex(file)) << who;
  EXPECT_EQ(log.find("checking the whole file again"), std::string::npos) << who;
  EXPECT_NE(log.find(") while downloading ("), std::string::npos) << who;
}

// Nodes 0..nodes-1 fetch `id` at once, each to its own copy-<i> in the fleet's output directory.
std::vector<FetchReply> FetchOnNodes(Fleet& fleet, const std::string& id, int nodes) {
  std::vector<std::thread> fetches;
  std::vector<FetchReply> replies(static_cast<size_t>(nodes));
  for (int i = 0; i < nodes; ++i) {
    fetches.emplace_back([&, i] {
      replies[static_cast<size_t>(i)] =
          fleet.Fetch(i, id, (fleet.OutDir() / ("copy-" + std::to_string(i))).string());
    });
  }
  for (auto& t : fetches) t.join();
  return replies;
}

TEST(SwarmTest, EightNodesReceiveVerifiedCopiesAndServeEachOther) {
  TempDir dir;
  Fleet fleet(dir.path());
  // The origin's uplink is the bottleneck (8 MB/s for 8 x 64 MiB): the nodes must trade.
  fleet.StartSeeder({"--upload-limit", "8000000"});
  constexpr int kNodes = 8;
  for (int i = 0; i < kNodes; ++i) fleet.StartNode(i);
  fs::path file = dir / "artifact.bin";
  WriteRandomFile(file, 64 << 20, 42);
  std::string id = fleet.Put(file);
  ASSERT_EQ(id, "sha256:" + Sha256Hex(file));

  std::vector<FetchReply> replies = FetchOnNodes(fleet, id, kNodes);
  const std::string md5 = Md5Hex(file);
  uint64_t uploaded_by_nodes = 0, from_origin = 0, taken_total = 0;
  uint64_t digested_from_memory = 0, served_from_memory = 0;
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(replies[i].ok) << "node " << i << ": " << replies[i].error;
    EXPECT_EQ(Md5Hex(replies[i].path), md5) << "node " << i;
    ExpectStreamedCheckOf(fleet.node(i).Stderr(), file, "node " + std::to_string(i));
    uploaded_by_nodes += fleet.UploadedBytes(i);
    auto [taken, taken_from_origin] = TakenBytes(fleet.node(i).Stderr());
    EXPECT_EQ(taken, replies[i].downloaded_bytes) << "node " << i;
    EXPECT_LE(taken_from_origin, taken) << "node " << i;
    from_origin += taken_from_origin;
    taken_total += taken;
    auto [digested, served] = FromMemory(fleet.node(i).Stderr());
    digested_from_memory += digested;
    served_from_memory += served;
  }
  // Pieces just written were digested and served to peers from memory, not read back.
  EXPECT_GT(digested_from_memory, uint64_t{kNodes} * (64 << 20) / 2);
  EXPECT_GT(served_from_memory, 0u);
  // What the nodes did not take from the origin they took from each other.
  EXPECT_NEAR(static_cast<double>(taken_total - from_origin),
              static_cast<double>(uploaded_by_nodes), 0.05 * static_cast<double>(taken_total));
  // Every piece left the origin at least once; the nodes took the rest from each other.
  EXPECT_GE(from_origin, uint64_t{64} << 20);
  EXPECT_LT(from_origin, uint64_t{kNodes} * (64 << 20));
  // At 8 MB/s the origin could have sent at most ~the bytes of a few copies in this time; the
  // nodes served the rest. Every byte a node uploaded was a verified piece another node needed.
  EXPECT_GT(uploaded_by_nodes, uint64_t{64} << 20);
  // Origin dispatch (core/swarm_dispatch.h): the origin sent each piece once (measured: 1.00
  // copies; 1.13 with the nodes' column picking alone).
  EXPECT_LE(from_origin, (uint64_t{64} << 20) * 21 / 20)
      << static_cast<double>(from_origin) / (64 << 20) << " copies of the file";
}

// Nodes ignore the HAVE ALL only of an origin that dispatches (core/swarm_dispatch.h): from one
// that does not, they take pieces as from any seed. (Node 1 and the origin run libtorrent on
// Shoal's batching loop, core/network_loop.h, node 0 on libtorrent's own thread: all trade.)
TEST(SwarmTest, NodesFetchFromAnOriginThatDoesNotDispatch) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder({"--upload-limit", "8000000", "--dispatch", "false", "--net-batch-us", "2000"});
  fleet.StartNode(0);
  fleet.StartNode(1, {"--net-batch-us", "2000"});
  fs::path file = dir / "artifact.bin";
  WriteRandomFile(file, 8 << 20, 5);
  std::string id = fleet.Put(file);
  std::vector<FetchReply> replies = FetchOnNodes(fleet, id, 2);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(replies[i].ok) << "node " << i << ": " << replies[i].error;
    EXPECT_EQ(Md5Hex(replies[i].path), Md5Hex(file)) << "node " << i;
    EXPECT_GT(TakenBytes(fleet.node(i).Stderr()).second, 0u) << "node " << i << " took nothing "
                                                             << "from the origin";
  }
}

TEST(SwarmTest, KilledNodeResumesWithoutRefetchingCompletedPieces) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder({"--upload-limit", "4000000"});  // ~8 s for 32 MiB: time to kill mid-way
  fleet.StartNode(0, {"--resume-interval", "1"});
  fs::path file = dir / "artifact.bin";
  constexpr uint64_t kSize = 32 << 20;
  WriteRandomFile(file, kSize, 7);
  std::string id = fleet.Put(file);

  uint64_t done_at_kill = 0;
  auto first = fleet.Fetch(0, id, (fleet.OutDir() / "copy").string(), [&](uint64_t done, uint64_t) {
    done_at_kill = done;
    return done >= kSize * 4 / 10;
  });
  ASSERT_FALSE(first.ok) << "finished before it could be interrupted";
  ASSERT_GE(done_at_kill, kSize * 4 / 10);
  fleet.KillNode(0);
  EXPECT_FALSE(fs::exists(fleet.OutDir() / "copy"));

  fleet.StartNode(0, {"--resume-interval", "1"});
  auto second = fleet.Fetch(0, id, (fleet.OutDir() / "copy").string());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_EQ(Md5Hex(second.path), Md5Hex(file));
  // Resume data is saved every second (~4 MB here): at most that much is fetched twice.
  EXPECT_LE(second.downloaded_bytes, kSize - done_at_kill + (6u << 20))
      << "refetched completed pieces: " << done_at_kill << " were done at the kill";
}

TEST(SwarmTest, CorruptPeerDataIsRejectedAndNeverInstalled) {
  TempDir dir;
  Fleet fleet(dir.path());
  // The origin is slow (1 MB/s), so that node 1 takes most pieces from node 0.
  fleet.StartSeeder({"--upload-limit", "1000000"});
  // Node 0 reads what it serves from its file, not from the pieces it keeps in memory, and does
  // not look for changes in its cache (it would stop seeding the corrupted object).
  fleet.StartNode(0, {"--piece-cache", "0", "--cache-check-interval", "86400"});
  fs::path file = dir / "artifact.bin";
  constexpr uint64_t kSize = 4 << 20;
  WriteRandomFile(file, kSize, 9);
  std::string id = fleet.Put(file);
  auto alone = fleet.Fetch(0, id, "");
  ASSERT_TRUE(alone.ok) << alone.error;
  // Alone in the swarm, node 0 took every byte from the origin.
  auto [taken, from_origin] = TakenBytes(fleet.node(0).Stderr());
  EXPECT_GE(taken, kSize);
  EXPECT_EQ(from_origin, taken);

  // Node 0 turns bad: its cached copy is overwritten in a few places behind libtorrent's back,
  // and it keeps serving it.
  fs::path object = fleet.NodeState(0) / "objects" / id.substr(7);
  ASSERT_TRUE(OverwriteBlocksInPlace(
      object, {kSize / 8, kSize / 3, kSize / 2, kSize * 3 / 4, kSize - 5000}));

  fleet.StartNode(1);
  auto reply = fleet.Fetch(1, id, (fleet.OutDir() / "copy").string());
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_EQ(Md5Hex(reply.path), Md5Hex(file));
  EXPECT_NE(fleet.node(1).Stderr().find("failed its hash check"), std::string::npos)
      << "node 1 never met the corrupt data, so this test proved nothing";
  ExpectStreamedCheckOf(fleet.node(1).Stderr(), file, "node 1");
}

// The digests a node streams while downloading are the file's own even when the download is
// SIGKILLed and resumed (the restarted node re-reads the prefix it had) and a peer sends corrupt
// pieces (a piece that fails its hash check never enters the digests).
TEST(SwarmTest, StreamedDigestsSurviveAResumeAndACorruptPeer) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder({"--upload-limit", "2000000"});
  // Serves from its file and keeps serving it once corrupted (see above).
  fleet.StartNode(0, {"--piece-cache", "0", "--cache-check-interval", "86400"});
  fs::path file = dir / "artifact.bin";
  constexpr uint64_t kSize = 6 << 20;
  WriteRandomFile(file, kSize, 21);
  std::string id = fleet.Put(file);
  ASSERT_TRUE(fleet.Fetch(0, id, "").ok);
  ExpectStreamedCheckOf(fleet.node(0).Stderr(), file, "node 0");
  // Node 0 turns bad (its object overwritten behind libtorrent's back) and keeps serving.
  fs::path object = fleet.NodeState(0) / "objects" / id.substr(7);
  std::vector<uint64_t> offsets;
  for (uint64_t offset = 100000; offset < kSize; offset += kSize / 9) offsets.push_back(offset);
  ASSERT_TRUE(OverwriteBlocksInPlace(object, offsets));

  // Node 1 is slow (1 MB/s down), so that it can be killed mid-way.
  const std::vector<std::string> slow = {"--resume-interval", "1", "--download-limit", "1000000"};
  fleet.StartNode(1, slow);
  auto first = fleet.Fetch(1, id, (fleet.OutDir() / "copy").string(),
                           [&](uint64_t done, uint64_t) { return done >= kSize / 2; });
  ASSERT_FALSE(first.ok) << "finished before it could be interrupted";
  const bool met_corruption =
      fleet.node(1).Stderr().find("failed its hash check") != std::string::npos;
  fleet.KillNode(1);
  fleet.StartNode(1, slow);
  auto second = fleet.Fetch(1, id, (fleet.OutDir() / "copy").string());
  ASSERT_TRUE(second.ok) << second.error;
  EXPECT_EQ(Md5Hex(second.path), Md5Hex(file));
  const std::string log = fleet.node(1).Stderr();
  EXPECT_NE(log.find("resuming interrupted download"), std::string::npos);
  EXPECT_TRUE(met_corruption || log.find("failed its hash check") != std::string::npos)
      << "node 1 never met the corrupt data, so this test proved less than it says";
  ExpectStreamedCheckOf(log, file, "node 1 after its restart");
}

// Column picking (core/swarm_columns.h) leaves origin-only pieces of other columns at priority 0
// for their owners. Alone with the origin, a node owning one column of four has no such owners:
// libtorrent calls the torrent finished with the last of those pieces missing, and the node must
// want them then and finish the download (not report it done, not stall). Column picking is the
// node's own when the origin does not dispatch (here the node declines it).
TEST(SwarmTest, ColumnPickingFetchesWhatItLeftToAbsentColumnOwners) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder({"--upload-limit", "8000000"});
  fleet.StartNode(0, {"--origin-columns", "4", "--dispatch", "false"});
  fs::path file = dir / "artifact.bin";
  constexpr uint64_t kSize = 16 << 20;
  WriteRandomFile(file, kSize, 31);
  std::string id = fleet.Put(file);
  uint64_t last_total = 0;
  auto reply =
      fleet.Fetch(0, id, (fleet.OutDir() / "copy").string(), [&](uint64_t, uint64_t total) {
        last_total = total;
        return false;
      });
  ASSERT_TRUE(reply.ok) << reply.error;
  EXPECT_EQ(Md5Hex(reply.path), Md5Hex(file));
  const std::string log = fleet.node(0).Stderr();
  EXPECT_NE(log.find("are missing; wanting them all now"), std::string::npos)
      << "the node never held every wanted piece with pieces missing: nothing was tested";
  ExpectStreamedCheckOf(log, file, "node 0");
  // Progress counts the whole file, pieces left at priority 0 included.
  if (last_total != 0) {
    EXPECT_EQ(last_total, kSize);
  }
  // Every piece came from the origin once (a few blocks may be requested twice at the end).
  auto [taken, from_origin] = TakenBytes(log);
  EXPECT_GE(taken, kSize);
  EXPECT_LE(taken, kSize + kSize / 20);
}

// --download-unchoke-slots: a node serves at most that many peers at once while it downloads
// and every interested peer once it only seeds. Capped, the swarm still trades and completes.
TEST(SwarmTest, NodesCappingUnchokesWhileDownloadingStillTradeAndComplete) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder({"--upload-limit", "8000000"});
  constexpr int kNodes = 4;
  for (int i = 0; i < kNodes; ++i) fleet.StartNode(i, {"--download-unchoke-slots", "2"});
  fs::path file = dir / "artifact.bin";
  WriteRandomFile(file, 16 << 20, 77);
  std::string id = fleet.Put(file);
  std::vector<FetchReply> replies = FetchOnNodes(fleet, id, kNodes);
  uint64_t uploaded_by_nodes = 0;
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(replies[i].ok) << "node " << i << ": " << replies[i].error;
    EXPECT_EQ(Md5Hex(replies[i].path), Md5Hex(file)) << "node " << i;
    uploaded_by_nodes += fleet.UploadedBytes(i);
    const std::string log = fleet.node(i).Stderr();
    const auto capped = log.find("unchoking at most 2 peers while downloading");
    ASSERT_NE(capped, std::string::npos) << "node " << i << " never capped its unchokes";
    EXPECT_NE(log.find("unchoking every interested peer", capped), std::string::npos)
        << "node " << i << " kept its cap after the download";
  }
  EXPECT_GT(uploaded_by_nodes, 0u) << "the capped nodes did not serve each other";
}

TEST(SwarmTest, RefusesBadRequestsWithClearErrors) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder();
  fleet.StartNode(0);
  fs::path file = dir / "small.bin";
  WriteRandomFile(file, 100000, 3);
  std::string id = fleet.Put(file);

  auto outside = fleet.Fetch(0, id, (dir / "elsewhere").string());
  EXPECT_FALSE(outside.ok);
  EXPECT_NE(outside.error.find("outside the allowed roots"), std::string::npos) << outside.error;
  auto escape = fleet.Fetch(0, id, (fleet.OutDir() / "../escape").string());
  EXPECT_FALSE(escape.ok);
  EXPECT_FALSE(fs::exists(dir / "escape"));
  auto garbage = fleet.Fetch(0, "sha256:nothex", (fleet.OutDir() / "x").string());
  EXPECT_FALSE(garbage.ok);
  EXPECT_NE(garbage.error.find("artifact id"), std::string::npos) << garbage.error;
  auto unknown = fleet.Fetch(0, "sha256:" + std::string(64, '0'), (fleet.OutDir() / "x").string());
  EXPECT_FALSE(unknown.ok);
  EXPECT_NE(unknown.error.find("not held"), std::string::npos) << unknown.error;
  // An oversize frame header on the admin socket is answered with a failure frame, not a crash.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = (fleet.NodeState(0) / "admin.sock").string();
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char hostile[] = "\xff\xff\xff\x7fgarbage!";
  ASSERT_GT(::write(fd, hostile, sizeof hostile - 1), 0);
  char answer[256];
  EXPECT_GT(::read(fd, answer, sizeof answer), 4) << "no failure frame came back";
  ::close(fd);
  // The node is still healthy after all that, and a second fetch comes from its cache.
  auto good = fleet.Fetch(0, id, (fleet.OutDir() / "ok").string());
  ASSERT_TRUE(good.ok) << good.error;
  EXPECT_EQ(Md5Hex(good.path), Md5Hex(file));
  auto again = fleet.Fetch(0, id, (fleet.OutDir() / "ok2").string());
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.from_cache);
  EXPECT_TRUE(fleet.node(0).running());
}

}  // namespace
}  // namespace shoal::testing
