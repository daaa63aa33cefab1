// The node's cache: LRU eviction under --cache-max-bytes that never touches installed files or
// pinned objects (CacheManager over a real index and libtorrent session), and `shoal cache
// ls|rm|gc` against a real fleet (tracker, seeder, node) on loopback.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>

#include "node/cache_manager.h"
#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;
using node::CacheManager;

class NoEvents : public SwarmEvents {
 public:
  void OnListening(int) override {}
  void OnFinished(const ArtifactId&) override {}
  void OnFailed(const ArtifactId&, const Error&) override {}
  void OnResumeData(const ArtifactId&, std::vector<char>) override {}
};

// A verified object of `size` bytes in `index` (file and record), last used at `used_ms`.
ArtifactId AddObject(ArtifactIndex& index, int n, uint64_t size, int64_t used_ms,
                     bool verified = true) {
  std::string hex(64, '0');
  hex[63] = static_cast<char>('0' + n);
  auto id = ArtifactId::Parse("sha256:" + hex);
  EXPECT_TRUE(id.ok());
  StoredRecord r;
  r.meta.id = *id;
  r.meta.size = size;
  r.meta.name = "object-" + std::to_string(n);
  r.meta.md5_hex = std::string(32, '0');
  r.verified = verified;
  r.added_unix_ms = used_ms;
  EXPECT_TRUE(index.Put(r).ok());
  WriteRandomFile(index.ObjectPath(*id), size, n);
  EXPECT_TRUE(index.PutLastUsed(*id, used_ms).ok());
  return *id;
}

TEST(CacheManagerTest, EvictsLeastRecentlyUsedUnpinnedVerifiedObjectsOnly) {
  TempDir dir;
  boost::asio::io_context io;
  NoEvents events;
  Swarm swarm(io, SwarmOptions{}, events);
  auto index = ArtifactIndex::Open(dir / "node");
  ASSERT_TRUE(index.ok());
  ArtifactIndex& ix = **index;
  auto oldest = AddObject(ix, 1, 1000, 100);
  auto pinned = AddObject(ix, 2, 1000, 200);
  auto partial = AddObject(ix, 3, 1000, 50, /*verified=*/false);
  auto recent = AddObject(ix, 4, 1000, 400);
  CacheManager cache(ix, swarm, 2500);
  cache.Pin(pinned);
  EXPECT_EQ(cache.Usage().total_bytes, 4000u);
  EXPECT_EQ(cache.Usage().pinned_bytes, 2000u);  // the pinned one and the partial download

  cache.Enforce();
  // 4000 > 2500: the oldest unpinned verified object goes first; the partial (older still) and
  // the pinned one stay; then the cache is over quota only by what is pinned.
  EXPECT_FALSE(ix.Get(oldest).has_value());
  EXPECT_FALSE(fs::exists(ix.ObjectPath(oldest)));
  EXPECT_TRUE(ix.Get(partial).has_value());
  EXPECT_TRUE(ix.Get(pinned).has_value());
  EXPECT_FALSE(ix.Get(recent).has_value()) << "3000 > 2500: the next least recent goes too";
  EXPECT_EQ(cache.Usage().total_bytes, 2000u);

  // Room for more: refused while pinned objects fill the quota, with the numbers.
  Status room = cache.MakeRoom(1000);
  ASSERT_FALSE(room.ok());
  EXPECT_NE(room.error().message.find("2000 bytes are pinned"), std::string::npos)
      << room.error().message;
  EXPECT_FALSE(cache.Remove(pinned).ok());
  EXPECT_FALSE(cache.Remove(partial).ok());
  // Pins are counted.
  cache.Pin(pinned);
  cache.Unpin(pinned);
  EXPECT_TRUE(cache.IsPinned(pinned));
  cache.Unpin(pinned);
  EXPECT_FALSE(cache.IsPinned(pinned));
  EXPECT_TRUE(cache.MakeRoom(1000).ok());  // evicts the now unpinned object
  EXPECT_FALSE(ix.Get(pinned).has_value());
  EXPECT_EQ(cache.MakeRoom(3000).ok(), false) << "larger than the whole quota";
  // Touch moves an object to the back of the LRU order.
  auto a = AddObject(ix, 5, 10, 500), b = AddObject(ix, 6, 10, 600);
  cache.Touch(a);
  auto order = cache.List();
  ASSERT_GE(order.size(), 2u);
  EXPECT_EQ(order.back().meta.id, a);
  EXPECT_EQ(cache.EvictTo(1010).size(), 1u);
  EXPECT_FALSE(ix.Get(b).has_value());
  EXPECT_TRUE(ix.Get(a).has_value());
}

TEST(CacheManagerTest, ParsesByteSizes) {
  EXPECT_EQ(*node::ParseByteSize("0"), 0u);
  EXPECT_EQ(*node::ParseByteSize("20G"), uint64_t{20} << 30);
  EXPECT_EQ(*node::ParseByteSize("512k"), uint64_t{512} << 10);
  EXPECT_FALSE(node::ParseByteSize("").ok());
  EXPECT_FALSE(node::ParseByteSize("12Q").ok());
  EXPECT_FALSE(node::ParseByteSize("-1").ok());
}

CommandResult Cache(Fleet& fleet, int node, std::vector<std::string> args) {
  args.push_back("--node");
  args.push_back((fleet.NodeState(node) / "admin.sock").string());
  args.insert(args.begin(), "cache");
  return RunCommand("shoal", args);
}

TEST(CacheCliTest, QuotaEvictsLeastRecentlyUsedAndLsRmGcWorkWithoutTouchingInstalledFiles) {
  TempDir dir;
  Fleet fleet(dir.path());
  fleet.StartSeeder();
  // Room for two of the three 1 MiB artifacts.
  fleet.StartNode(0, {"--cache-max-bytes", "2500K"});
  std::vector<std::string> ids;
  std::vector<std::string> md5s;
  for (int i = 0; i < 3; ++i) {
    fs::path f = dir / ("a" + std::to_string(i));
    WriteRandomFile(f, 1 << 20, 100 + i);
    ids.push_back(fleet.Put(f));
    md5s.push_back(Md5Hex(f));
  }
  auto out = [&](int i) { return (fleet.OutDir() / ("copy-" + std::to_string(i))).string(); };
  ASSERT_TRUE(fleet.Fetch(0, ids[0], out(0)).ok);
  ASSERT_TRUE(fleet.Fetch(0, ids[1], out(1)).ok);
  // Use artifact 0 again (from the cache): artifact 1 is now the least recently used.
  auto again = fleet.Fetch(0, ids[0], (fleet.OutDir() / "copy-0b").string());
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.from_cache);
  ASSERT_TRUE(fleet.Fetch(0, ids[2], out(2)).ok);

  auto ls = Cache(fleet, 0, {"ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find(ids[0]), std::string::npos) << ls.out;
  EXPECT_EQ(ls.out.find(ids[1]), std::string::npos) << "evicted as least recently used\n" << ls.out;
  EXPECT_NE(ls.out.find(ids[2]), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("2 objects, 2097152 bytes (0 pinned), quota 2560000 bytes"),
            std::string::npos)
      << ls.out;
  // Installed files are copies: eviction left every one of them intact.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Md5Hex(out(i)), md5s[i]) << i;

  auto rm = Cache(fleet, 0, {"rm", ids[0]});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_NE(rm.out.find("removed " + ids[0]), std::string::npos) << rm.out;
  auto rm_again = Cache(fleet, 0, {"rm", ids[0]});
  EXPECT_EQ(rm_again.exit_code, 1);
  EXPECT_NE(rm_again.err.find("not in the cache"), std::string::npos) << rm_again.err;
  EXPECT_EQ(Cache(fleet, 0, {"rm", "not-an-id"}).exit_code, 1);

  auto gc = Cache(fleet, 0, {"gc", "--to", "0"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_NE(gc.out.find("removed " + ids[2]), std::string::npos) << gc.out;
  EXPECT_NE(gc.out.find("0 objects, 0 bytes"), std::string::npos) << gc.out;
  EXPECT_TRUE(fs::is_empty(fleet.NodeState(0) / "objects"));
  EXPECT_EQ(Md5Hex(out(0)), md5s[0]);
  EXPECT_EQ(Md5Hex(out(2)), md5s[2]);

  // An evicted artifact comes back through the swarm.
  auto refetch = fleet.Fetch(0, ids[1], (fleet.OutDir() / "copy-1b").string());
  ASSERT_TRUE(refetch.ok) << refetch.error;
  EXPECT_FALSE(refetch.from_cache);
  EXPECT_EQ(Md5Hex(refetch.path), md5s[1]);
  EXPECT_TRUE(fleet.node(0).running());
}

}  // namespace
}  // namespace shoal::testing
