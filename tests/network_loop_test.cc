// NetworkLoop (core/network_loop.h): every handler runs, on its thread, and the passes over
// ready work are at most one per batch interval however fast work arrives (a bound the design
// guarantees, not a timing: the loop sleeps until a pass's start plus the interval).
#include "core/network_loop.h"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>

namespace shoal::testing {
namespace {
using namespace std::chrono_literals;

struct Posted {
  int ran = 0;  // touched only on the loop's thread
  bool off_thread = true;
};

// Posts `count` handlers, one a millisecond, and returns how long that took.
std::chrono::steady_clock::duration PostSpaced(NetworkLoop& loop, Posted& posted, int count) {
  const auto start = std::chrono::steady_clock::now();
  const auto poster = std::this_thread::get_id();
  for (int i = 0; i < count; ++i) {
    boost::asio::post(loop.context(), [&posted, poster] {
      ++posted.ran;
      if (std::this_thread::get_id() == poster) posted.off_thread = false;
    });
    std::this_thread::sleep_for(1ms);
  }
  return std::chrono::steady_clock::now() - start;
}

TEST(NetworkLoopTest, BatchesWorkIntoAPassPerInterval) {
  constexpr auto kBatch = 20ms;
  constexpr int kCount = 100;
  NetworkLoop loop(kBatch);
  loop.Start();
  Posted posted;
  const auto took = PostSpaced(loop, posted, kCount);
  loop.Finish();  // runs what is left, then joins
  EXPECT_EQ(posted.ran, kCount);
  EXPECT_TRUE(posted.off_thread);
  // Passes start at least kBatch apart; the last may start up to kBatch after the last post.
  const uint64_t bound = static_cast<uint64_t>((took + kBatch) / kBatch) + 1;
  EXPECT_LE(loop.passes(), bound) << "took " << took / 1ms << " ms";
  EXPECT_GE(loop.passes(), 1u);
}

// Without a batch interval every wake-up is a pass: handlers posted a millisecond apart each
// find the loop asleep (this is what the bound above is measured against).
TEST(NetworkLoopTest, WithoutBatchingEveryPostIsAPass) {
  NetworkLoop loop(0us);
  loop.Start();
  Posted posted;
  const auto took = PostSpaced(loop, posted, 100);
  loop.Finish();
  EXPECT_EQ(posted.ran, 100);
  EXPECT_GT(loop.passes(), static_cast<uint64_t>((took + 20ms) / 20ms) + 1)
      << "took " << took / 1ms << " ms";
}

TEST(NetworkLoopTest, FinishWithoutStartReturns) {
  NetworkLoop loop(2ms);
  loop.Finish();
  EXPECT_EQ(loop.passes(), 0u);
}

}  // namespace
}  // namespace shoal::testing
