// The pieces of issue 12's download path that need no network: the prefix digest that follows a
// download (against OpenSSL over the whole file), and the piece-picking policy.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "core/prefix_digest.h"
#include "core/swarm_picking.h"
#include "tests/support/process.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

TEST(PrefixDigestTest, DigestsAndCopiesEqualTheWholeFile) {
  TempDir dir;
  const fs::path file = dir / "object";
  constexpr uint64_t kSize = (5 << 20) + 12345;  // not a multiple of anything
  WriteRandomFile(file, kSize, 11);
  PrefixDigest digest(file);
  auto early = StagedFile::Create(dir / "early", 0644);
  ASSERT_TRUE(early) << early.error().message;
  digest.AddSink(std::move(*early));
  // Uneven steps, as a verified prefix grows, with a second install joining midway: it is
  // caught up from the file, then fed from the same pass.
  for (uint64_t end : {uint64_t{1}, uint64_t{70000}, uint64_t{70000}, uint64_t{3 << 20}}) {
    ASSERT_TRUE(digest.AdvanceTo(end));
    EXPECT_EQ(digest.digested(), end);
  }
  auto late = StagedFile::Create(dir / "late", 0600);
  ASSERT_TRUE(late);
  digest.AddSink(std::move(*late));
  ASSERT_TRUE(digest.AdvanceTo(kSize));
  auto [sha256, md5] = digest.Final();
  EXPECT_EQ(sha256.hex(), Sha256Hex(file));
  EXPECT_EQ(md5.hex(), Md5Hex(file));
  for (auto& sink : digest.sinks()) {
    ASSERT_TRUE(sink.status);
    ASSERT_TRUE(sink.file.Commit());
  }
  EXPECT_EQ(ReadFileBytes(dir / "early"), ReadFileBytes(file));
  EXPECT_EQ(ReadFileBytes(dir / "late"), ReadFileBytes(file));
  EXPECT_EQ(fs::status(dir / "late").permissions() & fs::perms::all, fs::perms(0600));
}

TEST(PrefixDigestTest, ReadPastTheFileIsAnErrorThatSticks) {
  TempDir dir;
  const fs::path file = dir / "short";
  WriteRandomFile(file, 1000, 1);
  PrefixDigest digest(file);
  auto s = digest.AdvanceTo(4096);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("shorter"), std::string::npos) << s.error().message;
  EXPECT_FALSE(digest.AdvanceTo(500));  // no partial digest is ever passed off as whole
  PrefixDigest missing(dir / "absent");
  EXPECT_FALSE(missing.AdvanceTo(1));
}

TEST(SwarmPickingTest, StripeOffsetsSpreadNumberedHostsEvenly) {
  std::set<double> offsets;
  for (int i = 1; i <= 16; ++i) offsets.insert(StripeOffsetOf("node-" + std::to_string(i)));
  ASSERT_EQ(offsets.size(), 16u);
  double expected = 0;
  for (double o : offsets) {  // exactly the 16ths of the file
    EXPECT_DOUBLE_EQ(o, expected);
    expected += 1.0 / 16;
  }
  EXPECT_DOUBLE_EQ(StripeOffsetOf("node-1"), 0);
  EXPECT_DOUBLE_EQ(StripeOffsetOf("node-2"), 0.5);
  const double named = StripeOffsetOf("build-host");
  EXPECT_GE(named, 0);
  EXPECT_LT(named, 1);
  EXPECT_EQ(named, StripeOffsetOf("build-host"));
}

TEST(SwarmPickingTest, StripeSkipsHeldPiecesAndStopsAtAPeersPiece) {
  std::vector<bool> have(10, false);
  have[3] = have[4] = true;
  EXPECT_EQ(StripePieces(2, have, {}, 4), (std::vector<int>{2, 5, 6, 7}));
  // Piece 7 is held by another node (availability 2 with the origin): the stripe ends there.
  std::vector<int> availability(10, 1);
  availability[7] = 2;
  EXPECT_EQ(StripePieces(2, have, availability, 4), (std::vector<int>{2, 5, 6}));
  // Wraps around the end of the file.
  EXPECT_EQ(StripePieces(8, have, {}, 4), (std::vector<int>{8, 9, 0, 1}));
  std::vector<bool> all(10, true);
  EXPECT_TRUE(StripePieces(0, all, {}, 4).empty());
}

TEST(SwarmPickingTest, PrioritiesPutTheStripeFirstThenTheDigestWindow) {
  auto p = PickPriorities(10, {8, 9}, 2, 3);
  EXPECT_EQ(p, (std::vector<uint8_t>{4, 4, 6, 6, 6, 4, 4, 4, 7, 7}));
  // The window is clipped at the end and never turns a piece off.
  p = PickPriorities(4, {}, 3, 8);
  EXPECT_EQ(p, (std::vector<uint8_t>{4, 4, 4, 6}));
  for (uint8_t v : PickPriorities(100, {5, 6}, 0, 0)) EXPECT_GE(v, 1);
  // Under origin dispatch the window is top priority (core/swarm.cc): libtorrent 2.0 only scales
  // a piece's availability by its priority, and at 6 the window lost to rarer default pieces.
  EXPECT_EQ(PickPriorities(6, {}, 1, 3, {}, 7), (std::vector<uint8_t>{4, 7, 7, 7, 4, 4}));
}

TEST(SwarmPickingTest, WindowIsTakenFromPeersOnceTheyHoldPieces) {
  // Only the origin holds anything (availability 1 everywhere): the whole window is raised.
  EXPECT_EQ(PickPriorities(6, {}, 1, 3, {1, 1, 1, 1, 1, 1}),
            (std::vector<uint8_t>{4, 6, 6, 6, 4, 4}));
  // Peers hold pieces 2 and 5: of the window, only piece 2 is raised; piece 1 and 3, which only
  // the origin has, stay at the default so that every node does not ask the origin for them.
  EXPECT_EQ(PickPriorities(6, {}, 1, 3, {1, 1, 2, 1, 1, 3}),
            (std::vector<uint8_t>{4, 4, 6, 4, 4, 4}));
}

}  // namespace
}  // namespace shoal::testing
