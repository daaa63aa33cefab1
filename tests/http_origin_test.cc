// shoal-http-origin: the shared token bucket's arithmetic on synthetic time, and the real
// process serving files intact (concurrently) while refusing names outside its root.
#include "bench/http_origin.h"

#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include "tests/support/process.h"
#include "tests/tracker_support.h"

namespace shoal {
namespace {
using namespace shoal::testing;
using bench::TokenBucket;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(TokenBucketTest, BurstThenPacedAtTheRate) {
  auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket bucket(1000, 500, t0);  // 1000 B/s, 500 B burst, starts full
  EXPECT_EQ(bucket.Reserve(500, t0), 0ns);
  EXPECT_EQ(bucket.Reserve(250, t0), 250ms);  // 250 B of debt at 1000 B/s
  EXPECT_EQ(bucket.Reserve(250, t0), 500ms);  // queues behind the first reservation
  // After the debt is paid off, more time refills but never past the burst.
  EXPECT_EQ(bucket.Reserve(0, t0 + 500ms), 0ns);
  EXPECT_EQ(bucket.Reserve(500, t0 + 10s), 0ns);
  EXPECT_EQ(bucket.Reserve(1, t0 + 10s), 1ms);
}

TEST(TokenBucketTest, SharedByManyCallersKeepsTheLongRunRate) {
  // 4 "connections" each sending 64 KiB chunks as soon as the bucket lets them: the time at
  // which the last byte may go is total/rate (minus the burst), however the calls interleave.
  auto t0 = TokenBucket::Clock::time_point{} + 1h;
  const uint64_t rate = 1 << 20, chunk = 64 << 10;
  TokenBucket bucket(rate, chunk, t0);
  std::vector<TokenBucket::Clock::time_point> next(4, t0);
  uint64_t sent = 0;
  TokenBucket::Clock::time_point last = t0;
  for (int round = 0; round < 64; ++round) {
    for (auto& t : next) {
      auto wait = bucket.Reserve(chunk, t);
      t += wait;
      last = std::max(last, t);
      sent += chunk;
    }
  }
  double seconds = std::chrono::duration<double>(last - t0).count();
  EXPECT_NEAR(seconds, static_cast<double>(sent - chunk) / rate, 1e-3);
}

TEST(TokenBucketTest, ZeroRateIsUnlimited) {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket bucket(0, 0, t0);
  EXPECT_EQ(bucket.Reserve(1ull << 40, t0), 0ns);
}

TEST(HttpOriginTest, ServesFilesIntactAndConfinesNames) {
  TempDir dir;
  fs::create_directories(dir / "root/sub");
  WriteRandomFile(dir / "root/artifact.bin", 5 * 1024 * 1024 + 17, 5);
  WriteRandomFile(dir / "root/sub/hidden", 100, 6);
  WriteRandomFile(dir / "secret", 100, 7);
  fs::create_symlink(dir / "secret", dir / "root/link");
  ChildProcess origin("shoal-http-origin",
                      {"--root", (dir / "root").string(), "--listen", "127.0.0.1:0", "--ready-file",
                       (dir / "ready").string(), "--upload-limit", "400000000"},
                      dir / "origin");
  auto ready = WaitForReadyFile(dir / "ready");
  ASSERT_EQ(ready.count("http"), 1u) << origin.Stderr();
  auto ep = Endpoint(ready["http"]);

  // Two downloads at once, through the one shared bucket.
  auto get = [&] { return HttpGet(ep, "/artifact.bin"); };
  auto a = std::async(std::launch::async, get), b = std::async(std::launch::async, get);
  std::string expected_md5 = Md5Hex(dir / "root/artifact.bin");
  for (auto* f : {&a, &b}) {
    auto reply = f->get();
    ASSERT_EQ(reply.status, 200);
    ASSERT_EQ(reply.body.size(), 5u * 1024 * 1024 + 17);
    std::ofstream(dir / "got.bin", std::ios::binary) << reply.body;
    EXPECT_EQ(Md5Hex(dir / "got.bin"), expected_md5);
  }
  EXPECT_EQ(HttpGet(ep, "/missing").status, 404);
  EXPECT_EQ(HttpGet(ep, "/sub/hidden").status, 400);
  EXPECT_EQ(HttpGet(ep, "/../secret").status, 400);
  EXPECT_EQ(HttpGet(ep, "/..").status, 400);
  EXPECT_EQ(HttpGet(ep, "/").status, 400);
  EXPECT_EQ(HttpGet(ep, "/link").status, 404);  // a symlink out of the root
  EXPECT_EQ(HttpGet(ep, "/sub").status, 404);   // a directory is not a file
  EXPECT_TRUE(origin.running());
}

}  // namespace
}  // namespace shoal
