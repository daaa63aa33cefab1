// Column picking (core/swarm_columns.h): which pieces a node asks the origin for, in what order,
// and which it leaves to their column's owner.
#include "core/swarm_columns.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(SwarmColumnsTest, NumberedHostsOwnOneColumnEach) {
  // node-1..node-4 (the bench) and node-0..node-3 (the test fleet) both cover columns 0..3.
  std::vector<int> seen(4, 0);
  for (int k = 1; k <= 4; ++k)
    ++seen[static_cast<size_t>(ColumnOf("node-" + std::to_string(k), 4))];
  EXPECT_EQ(seen, std::vector<int>({1, 1, 1, 1}));
  for (int k = 0; k < 4; ++k) EXPECT_EQ(ColumnOf("node-" + std::to_string(k), 4), k);
  EXPECT_EQ(ColumnOf("rack2-host13", 8), 5);
  EXPECT_EQ(ColumnOf("anything", 1), 0);
  const int hashed = ColumnOf("db-primary", 7);
  EXPECT_GE(hashed, 0);
  EXPECT_LT(hashed, 7);
  EXPECT_EQ(ColumnOf("db-primary", 7), hashed);  // stable
}

TEST(SwarmColumnsTest, OwnColumnGradedInFileOrderOthersLeftToTheirOwners) {
  // 40 pieces, 4 columns, this node owns column 1; only the origin holds anything yet.
  const std::vector<bool> have(40, false);
  const std::vector<int> origin_only(40, 1);
  auto prio = ColumnPriorities(have, origin_only, 1, 4, 0, 8);
  // Column 1 is 1, 5, 9, ...: the next two at 7, four more at 6, the rest at 5.
  EXPECT_EQ(prio[1], 7);
  EXPECT_EQ(prio[5], 7);
  for (int p : {9, 13, 17, 21}) EXPECT_EQ(prio[static_cast<size_t>(p)], 6) << p;
  for (int p : {25, 29, 33, 37}) EXPECT_EQ(prio[static_cast<size_t>(p)], 5) << p;
  // Every other piece: only the origin has it and another node owns it, so not asked for.
  for (int p = 0; p < 40; ++p)
    if (p % 4 != 1) EXPECT_EQ(prio[static_cast<size_t>(p)], 0) << p;
  // Unknown availability counts as the origin's alone.
  EXPECT_EQ(ColumnPriorities(have, {}, 1, 4, 0, 8), prio);
  // While the column count is an early guess, the others' pieces are wanted last, not skipped.
  auto early = ColumnPriorities(have, origin_only, 1, 4, 0, 8, /*early=*/true);
  EXPECT_EQ(early[0], 1);
  EXPECT_EQ(early[1], 7);
}

TEST(SwarmColumnsTest, GradingFollowsWhatTheNodeHas) {
  std::vector<bool> have(40, false);
  have[1] = have[9] = true;  // 5 missing: it comes first
  const std::vector<int> origin_only(40, 1);
  auto prio = ColumnPriorities(have, origin_only, 1, 4, 0, 0);
  EXPECT_EQ(prio[5], 7);
  EXPECT_EQ(prio[13], 7);
  EXPECT_EQ(prio[17], 6);
}

TEST(SwarmColumnsTest, PiecesAPeerHoldsAreWantedAndTheWindowPreferred) {
  const std::vector<bool> have(40, false);
  std::vector<int> availability(40, 1);
  availability[2] = availability[3] = availability[30] = 2;  // another node has these
  availability[5] = 3;                                       // and this one of our column
  auto prio = ColumnPriorities(have, availability, 1, 4, 0, 8);
  EXPECT_EQ(prio[2], 6);  // in the digest window [0, 8)
  EXPECT_EQ(prio[3], 6);
  EXPECT_EQ(prio[5], 6);   // own column, but a peer can send it: no longer asked of the origin
  EXPECT_EQ(prio[30], 4);  // outside the window: the default
  EXPECT_EQ(prio[0], 0);   // origin-only, column 0's
  // Grading skips what a peer holds: 1 and 9 are now the two next origin-only column pieces.
  EXPECT_EQ(prio[1], 7);
  EXPECT_EQ(prio[9], 7);
}

TEST(SwarmColumnsTest, OriginOnlyPiecesFarBehindAreTakenOverOwnerSuccessorFirst) {
  // 200 pieces, 4 columns: the node (column 0) has its column up to piece 100; the rest is the
  // origin's alone. The lag is kColumnLagRounds x 4 = 16 pieces per column of distance from
  // the owner: column 3's next node is this one (1 lag), column 2's is 2 lags away, column 1's 3.
  std::vector<bool> have(200, false);
  for (int p = 0; p < 100; p += 4) have[static_cast<size_t>(p)] = true;
  const std::vector<int> origin_only(200, 1);
  auto prio = ColumnPriorities(have, origin_only, 0, 4, 1, 0);
  EXPECT_EQ(prio[83], 4);  // column 3: 83 + 16 < 100, taken over
  EXPECT_EQ(prio[87], 0);  // 87 + 16 >= 100: still its owner's
  EXPECT_EQ(prio[66], 4);  // column 2: 66 + 32 < 100
  EXPECT_EQ(prio[70], 0);  // 70 + 32 >= 100
  EXPECT_EQ(prio[49], 4);  // column 1: 49 + 48 < 100
  EXPECT_EQ(prio[53], 0);
  EXPECT_EQ(prio[100], 7);  // the node's own next piece
  EXPECT_EQ(prio[104], 7);
  EXPECT_EQ(prio[108], 6);
  // With its whole column in, only the last lags' pieces are left to their owners (Swarm wants
  // them all if libtorrent calls the download finished without them).
  for (int p = 100; p < 200; p += 4) have[static_cast<size_t>(p)] = true;
  prio = ColumnPriorities(have, origin_only, 0, 4, 1, 0);
  EXPECT_EQ(prio[183], 4);
  EXPECT_EQ(prio[199], 0);
  EXPECT_EQ(prio[197], 0);  // column 1: 197 + 48 >= 200
  // A piece a peer got hold of meanwhile is no longer the origin's alone: wanted from the peer.
  std::vector<int> availability(200, 1);
  availability[199] = 2;
  EXPECT_EQ(ColumnPriorities(have, availability, 0, 4, 1, 0)[199], 4);
  EXPECT_EQ(ColumnPriorities(have, availability, 0, 4, 190, 16)[199], 6);  // in the window
}

TEST(SwarmColumnsTest, OneColumnIsTheWholeFileInOrder) {
  const std::vector<bool> have(10, false);
  auto prio = ColumnPriorities(have, std::vector<int>(10, 1), 0, 1, 0, 4);
  EXPECT_EQ(prio, std::vector<uint8_t>({7, 7, 6, 6, 6, 6, 5, 5, 5, 5}));
}

TEST(SwarmColumnsTest, ColumnCountGuessesEarlyAndHoldsSteady) {
  using std::chrono::milliseconds;
  const auto t0 = ColumnCount::Clock::now();
  auto at = [&](int ms) { return t0 + milliseconds(ms); };
  ColumnCount count(t0);
  // The early guess until the count seen has held for 300 ms.
  EXPECT_EQ(count.Update(1, at(0)), ColumnCount::kEarlyColumns);
  EXPECT_EQ(count.Update(3, at(200)), ColumnCount::kEarlyColumns);
  EXPECT_EQ(count.Update(15, at(400)), ColumnCount::kEarlyColumns);
  EXPECT_EQ(count.Update(15, at(800)), 15);
  EXPECT_EQ(count.Update(16, at(1000)), 16);  // still joining: growth taken at once
  // Later, a peer briefly connected twice: 17 for less than a second changes nothing.
  EXPECT_EQ(count.Update(17, at(3100)), 16);
  EXPECT_EQ(count.Update(17, at(4000)), 16);
  EXPECT_EQ(count.Update(16, at(4100)), 16);
  EXPECT_EQ(count.Update(17, at(4200)), 16);
  // A change that lasts is taken: a node joined late, or one left.
  EXPECT_EQ(count.Update(17, at(5300)), 17);
  EXPECT_EQ(count.Update(15, at(5400)), 17);
  EXPECT_EQ(count.Update(15, at(6500)), 15);
  // A lone node (origin only) stops guessing once the wait is over.
  ColumnCount alone(t0);
  EXPECT_EQ(alone.Update(1, at(0)), ColumnCount::kEarlyColumns);
  EXPECT_EQ(alone.Update(1, at(1000)), ColumnCount::kEarlyColumns);
  EXPECT_EQ(alone.Update(1, at(2000)), 1);
}

}  // namespace
}  // namespace shoal
