// A node whose cache filesystem is (or becomes) full: real daemons on loopback, the node's state
// directory on a small tmpfs (mounting needs root; the tests skip without it).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "tests/support/fleet.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

// A tmpfs of `size` mounted on `dir` for the test's lifetime.
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    std::string options = "size=" + size;
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  fs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes to `path` until the filesystem refuses; returns the bytes written.
uint64_t FillFilesystem(const fs::path& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::string block(1 << 20, 'F');
  uint64_t written = 0;
  while (true) {
    size_t n = std::fwrite(block.data(), 1, block.size(), f);
    written += n;
    if (n < block.size() || std::fflush(f) != 0) break;
  }
  std::fclose(f);
  return written;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    fleet_ = std::make_unique<Fleet>(dir_.path());
    tmpfs_ = std::make_unique<TmpfsMount>(fleet_->NodeState(0), "40M");
    if (!tmpfs_->mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << tmpfs_->error();
  }
  void TearDown() override {
    fleet_.reset();  // every daemon down before the tmpfs goes
    tmpfs_.reset();
  }
  fs::path Objects() const { return fleet_->NodeState(0) / "objects"; }
  bool ObjectExists(const std::string& id) const { return fs::exists(Objects() / id.substr(7)); }

  TempDir dir_;
  std::unique_ptr<Fleet> fleet_;
  std::unique_ptr<TmpfsMount> tmpfs_;
};

TEST_F(DiskFullTest, FetchLargerThanFreeSpaceFailsUpFrontNamingTheFilesystem) {
  fleet_->StartSeeder();
  fleet_->StartNode(0);
  fs::path big = dir_ / "big.bin";
  WriteRandomFile(big, 64 << 20, 1);
  std::string id = fleet_->Put(big);

  auto reply = fleet_->Fetch(0, id, (fleet_->OutDir() / "big").string());
  ASSERT_FALSE(reply.ok);
  EXPECT_NE(reply.error.find("not enough disk space"), std::string::npos) << reply.error;
  EXPECT_NE(reply.error.find(fleet_->NodeState(0).string()), std::string::npos) << reply.error;
  EXPECT_NE(reply.error.find("tmpfs"), std::string::npos) << reply.error;
  EXPECT_NE(reply.error.find(std::to_string(64 << 20) + " bytes needed"), std::string::npos)
      << reply.error;
  EXPECT_FALSE(ObjectExists(id));
  EXPECT_FALSE(fs::exists(fleet_->OutDir() / "big"));

  // The node is fine and fetches what fits.
  fs::path small = dir_ / "small.bin";
  WriteRandomFile(small, 4 << 20, 2);
  std::string small_id = fleet_->Put(small);
  auto ok = fleet_->Fetch(0, small_id, (fleet_->OutDir() / "small").string());
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(Md5Hex(ok.path), Md5Hex(small));
  EXPECT_TRUE(fleet_->node(0).running());
}

TEST_F(DiskFullTest, DiskFillingMidDownloadFailsThatFetchOnlyAndRestartDoesNotResumeIt) {
  fleet_->StartSeeder({"--upload-limit", "4000000"});  // ~6 s for 24 MiB: time to fill the disk
  fleet_->StartNode(0, {"--resume-interval", "1"});
  fs::path small = dir_ / "small.bin";
  WriteRandomFile(small, 1 << 20, 3);
  std::string small_id = fleet_->Put(small);
  ASSERT_TRUE(fleet_->Fetch(0, small_id, "").ok);  // cached and seeded before the disk fills

  fs::path file = dir_ / "artifact.bin";
  constexpr uint64_t kSize = 24 << 20;
  WriteRandomFile(file, kSize, 4);
  std::string id = fleet_->Put(file);
  // Something else fills the filesystem once the download is under way.
  fs::path filler = fleet_->NodeState(0) / "filler";
  bool filled = false;
  auto reply = fleet_->Fetch(0, id, (fleet_->OutDir() / "copy").string(), [&](uint64_t done, uint64_t) {
    if (!filled && done >= kSize / 5) {
      FillFilesystem(filler);
      filled = true;
    }
    return false;
  });
  ASSERT_TRUE(filled) << "finished before the disk could fill: " << reply.error;
  ASSERT_FALSE(reply.ok);
  EXPECT_NE(reply.error.find("No space left on device"), std::string::npos) << reply.error;
  EXPECT_NE(reply.error.find("partial object removed"), std::string::npos) << reply.error;
  EXPECT_FALSE(ObjectExists(id));
  EXPECT_FALSE(fs::exists(fleet_->OutDir() / "copy"));

  // Still serving: the cached artifact installs, and the daemon never went down.
  auto cached = fleet_->Fetch(0, small_id, (fleet_->OutDir() / "small").string());
  ASSERT_TRUE(cached.ok) << cached.error;
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(Md5Hex(cached.path), Md5Hex(small));
  ASSERT_TRUE(fleet_->node(0).running());

  // A restart on the still-full disk does not pick the failed download up again.
  fleet_->KillNode(0);
  fleet_->StartNode(0, {"--resume-interval", "1"});
  auto again = fleet_->Fetch(0, id, (fleet_->OutDir() / "copy").string());
  ASSERT_FALSE(again.ok);
  EXPECT_NE(again.error.find("not enough disk space"), std::string::npos) << again.error;
  EXPECT_TRUE(fleet_->node(0).running());

  // With room again, the same fetch succeeds.
  fs::remove(filler);
  auto done = fleet_->Fetch(0, id, (fleet_->OutDir() / "copy").string());
  ASSERT_TRUE(done.ok) << done.error;
  EXPECT_EQ(Md5Hex(done.path), Md5Hex(file));
  EXPECT_EQ(fleet_->node(0).Stderr().find("resuming interrupted download"), std::string::npos);
}

TEST_F(DiskFullTest, PartialDownloadThatNoLongerFitsIsDroppedOnRestart) {
  fleet_->StartSeeder({"--upload-limit", "4000000"});
  fleet_->StartNode(0, {"--resume-interval", "1"});
  fs::path file = dir_ / "artifact.bin";
  constexpr uint64_t kSize = 24 << 20;
  WriteRandomFile(file, kSize, 5);
  std::string id = fleet_->Put(file);
  auto first = fleet_->Fetch(0, id, "", [&](uint64_t done, uint64_t) { return done >= kSize / 3; });
  ASSERT_FALSE(first.ok) << "finished before it could be interrupted";
  fleet_->KillNode(0);
  ASSERT_TRUE(ObjectExists(id));

  // While the node is down the disk fills up; the partial download can no longer finish.
  fs::path filler = fleet_->NodeState(0) / "filler";
  FillFilesystem(filler);
  fleet_->StartNode(0, {"--resume-interval", "1"});
  EXPECT_FALSE(ObjectExists(id)) << "partial object kept on a full disk";
  EXPECT_NE(fleet_->node(0).Stderr().find("dropping the partial download"), std::string::npos)
      << fleet_->node(0).Stderr();
  auto refused = fleet_->Fetch(0, id, "");
  ASSERT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("not enough disk space"), std::string::npos) << refused.error;
  EXPECT_TRUE(fleet_->node(0).running());
}

}  // namespace
}  // namespace shoal::testing
