// Origin dispatch's plan (core/dispatch_plan.h): which pieces the origin hands each node.
#include "core/dispatch_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace shoal {
namespace {
using Clock = DispatchPlan::Clock;
using namespace std::chrono_literals;

constexpr int kPiece = 128 << 10;  // 1 MiB windows are 8 pieces

std::vector<int> Range(int from, int to) {
  std::vector<int> out;
  for (int p = from; p < to; ++p) out.push_back(p);
  return out;
}

// The node reports every one of `pieces` in (its HAVEs) at `when`.
void Reports(DispatchPlan& plan, DispatchPlan::PeerKey node, const std::vector<int>& pieces,
             Clock::time_point when) {
  for (int p : pieces) plan.PeerHas(node, p, when);
}

TEST(DispatchPlanTest, FirstCopiesGoOutOnceInFileOrderAWindowAtATime) {
  DispatchPlan plan(64, kPiece);
  const auto t0 = Clock::now();
  auto a = plan.AddPeer(t0), b = plan.AddPeer(t0);
  EXPECT_EQ(plan.WindowOf(a), 8);
  EXPECT_EQ(plan.Refill(a, t0), Range(0, 8));
  EXPECT_EQ(plan.Refill(b, t0), Range(8, 16));
  // Full windows: nothing more until pieces come in.
  EXPECT_TRUE(plan.Refill(a, t0).empty());
  // b takes piece 0 from a (a peer): not a piece handed to b, so b's window stays full.
  plan.PeerHas(a, 0, t0);
  plan.PeerHas(b, 0, t0);
  EXPECT_TRUE(plan.Refill(b, t0).empty());
  // a's window has room for one: the lowest piece nobody holds or fetches.
  EXPECT_EQ(plan.Refill(a, t0), std::vector<int>({16}));
  Reports(plan, b, Range(8, 16), t0);
  EXPECT_EQ(plan.Refill(b, t0), Range(17, 25));
  EXPECT_EQ(plan.handed_out(), 25);  // never the same piece twice
}

TEST(DispatchPlanTest, TheWindowFollowsTheRate) {
  DispatchPlan plan(1024, kPiece);
  auto a = plan.AddPeer(Clock::now());
  plan.SetRate(a, 12'500'000);  // 100 Mbit/s: half a second is 6.25 MB, 48 pieces
  EXPECT_EQ(plan.WindowOf(a), 48);
  DispatchPlan big(16, 4 << 20);  // big pieces: never fewer than two
  EXPECT_EQ(big.WindowOf(big.AddPeer(Clock::now())), 2);
}

TEST(DispatchPlanTest, NothingANodeAlreadyHasIsHandedToIt) {
  DispatchPlan plan(16, kPiece);
  const auto t0 = Clock::now();
  auto resumed = plan.AddPeer(t0);
  std::vector<bool> bits(16, false);
  for (int p : {0, 1, 2, 5}) bits[static_cast<size_t>(p)] = true;
  plan.PeerHasBitfield(resumed, bits, t0);
  EXPECT_EQ(plan.Refill(resumed, t0), std::vector<int>({3, 4, 6, 7, 8, 9, 10, 11}));
  // Another node is not handed what the resumed one holds: it takes those from that node.
  auto fresh = plan.AddPeer(t0);
  EXPECT_EQ(plan.Refill(fresh, t0), std::vector<int>({12, 13, 14, 15}));
  auto seed = plan.AddPeer(t0);
  plan.PeerHasAll(seed, t0);
  EXPECT_TRUE(plan.Refill(seed, t0).empty());
}

TEST(DispatchPlanTest, PiecesOfANodeThatLeftAreHandedOutAgain) {
  DispatchPlan plan(16, kPiece);
  const auto t0 = Clock::now();
  auto a = plan.AddPeer(t0), b = plan.AddPeer(t0);
  EXPECT_EQ(plan.Refill(a, t0), Range(0, 8));
  EXPECT_EQ(plan.Refill(b, t0), Range(8, 16));
  plan.PeerHas(a, 3, t0);  // the only copy of 3 leaves with a
  Reports(plan, b, Range(8, 16), t0);
  plan.RemovePeer(a);
  EXPECT_FALSE(plan.Known(a));
  EXPECT_EQ(plan.Refill(b, t0), Range(0, 8));
}

TEST(DispatchPlanTest, AStuckNodesPiecesGoToAnotherWhileItsOthersStayItsOwn) {
  DispatchPlan plan(24, kPiece);
  const auto t0 = Clock::now();
  auto slow = plan.AddPeer(t0), fast = plan.AddPeer(t0);
  EXPECT_EQ(plan.Refill(slow, t0), Range(0, 8));
  EXPECT_EQ(plan.Refill(fast, t0), Range(8, 16));
  Reports(plan, fast, Range(8, 16), t0 + 1s);
  // Not yet stuck: fast gets the next pieces nobody fetches, not slow's.
  EXPECT_EQ(plan.Refill(fast, t0 + 1s), Range(16, 24));
  Reports(plan, fast, Range(16, 24), t0 + 2s);
  EXPECT_TRUE(plan.Refill(fast, t0 + 2s).empty());
  // slow completed piece 0 at 1 s and nothing since: stuck 8 s later.
  plan.PeerHas(slow, 0, t0 + 1s);
  EXPECT_TRUE(plan.Refill(fast, t0 + 8s).empty());
  EXPECT_EQ(plan.Refill(fast, t0 + 9s), Range(1, 8));
  // Once a piece is held, the stuck node may still take it, from anyone.
  Reports(plan, fast, Range(1, 8), t0 + 10s);
  EXPECT_TRUE(plan.Refill(fast, t0 + 20s).empty());
}

TEST(DispatchPlanTest, ASlowNodeIsNotStuckWhileItsPiecesAreOnTheirWay) {
  DispatchPlan plan(32, kPiece);
  const auto t0 = Clock::now();
  auto slow = plan.AddPeer(t0), other = plan.AddPeer(t0);
  EXPECT_EQ(plan.Refill(slow, t0), Range(0, 8));
  // 100 KB/s: its 8 pieces take the origin 10.5 s to send; stuck only after twice that.
  plan.SetRate(slow, 100'000);
  EXPECT_EQ(plan.Refill(other, t0), Range(8, 16));
  Reports(plan, other, Range(8, 16), t0 + 1s);
  EXPECT_EQ(plan.Refill(other, t0 + 1s), Range(16, 24));
  Reports(plan, other, Range(16, 24), t0 + 15s);
  EXPECT_EQ(plan.Refill(other, t0 + 15s), Range(24, 32));
  Reports(plan, other, Range(24, 32), t0 + 20s);
  EXPECT_TRUE(plan.Refill(other, t0 + 20s).empty());
  EXPECT_EQ(plan.Refill(other, t0 + 22s), Range(0, 8));
}

TEST(DispatchPlanTest, ANodeThatTakesNothingFromItsPeersMayTakeEverythingFromTheOrigin) {
  DispatchPlan plan(20, kPiece);
  const auto t0 = Clock::now();
  auto a = plan.AddPeer(t0), b = plan.AddPeer(t0);
  EXPECT_EQ(plan.Refill(a, t0), Range(0, 8));
  EXPECT_EQ(plan.Refill(b, t0), Range(8, 16));
  Reports(plan, a, Range(0, 8), t0 + 1s);
  EXPECT_EQ(plan.Refill(a, t0 + 1s), Range(16, 20));
  Reports(plan, a, Range(16, 20), t0 + 1s);
  Reports(plan, b, Range(8, 16), t0 + 1s);
  // b cannot reach a: no HAVE from it for 15 s although a holds what it lacks.
  EXPECT_TRUE(plan.Refill(b, t0 + 15s).empty());
  EXPECT_EQ(plan.starved_nodes(), 0);
  std::vector<int> lacking = Range(0, 8);
  for (int p : Range(16, 20)) lacking.push_back(p);
  EXPECT_EQ(plan.Refill(b, t0 + 16s), lacking);
  EXPECT_EQ(plan.starved_nodes(), 1);
}

}  // namespace
}  // namespace shoal
