// core/: digests' text forms, frame encoding limits, path confinement, atomic install, LMDB.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/digest.h"
#include "core/framing.h"
#include "core/lmdb.h"
#include "core/paths.h"
#include "proto/common.capnp.h"
#include "tests/support/process.h"

namespace shoal {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

TEST(ArtifactIdTest, ParsesPrefixedAndBareHexAndRejectsGarbage) {
  std::string hex(64, 'a');
  auto a = ArtifactId::Parse("sha256:" + hex);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->str(), "sha256:" + hex);
  EXPECT_TRUE(ArtifactId::Parse(hex).ok());
  EXPECT_TRUE(ArtifactId::Parse("SHA256:" + hex).ok() == false);
  auto bad = ArtifactId::Parse("sha256:" + std::string(63, 'a') + "g");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("invalid hex digit"), std::string::npos);
  EXPECT_FALSE(ArtifactId::Parse("").ok());
  EXPECT_FALSE(ArtifactId::Parse("sha256:abc").ok());
}

TEST(FramingTest, RoundTripsAMessage) {
  capnp::MallocMessageBuilder builder;
  auto failure = builder.initRoot<proto::Failure>();
  failure.setMessage("disk full at /var/x");
  auto frame = EncodeFrame(builder);
  ASSERT_TRUE(frame.ok());
  const auto* bytes = reinterpret_cast<const uint8_t*>(frame->data());
  auto size = ParseFrameHeader(std::span<const uint8_t, 4>(bytes, 4));
  ASSERT_TRUE(size.ok());
  ASSERT_EQ(*size + 4, frame->size());
  auto decoded = Frame::Decode({bytes + 4, *size});
  ASSERT_TRUE(decoded.ok());
  auto text = ReadSafely(
      [&] { return std::string((*decoded)->Root<proto::Failure>().getMessage().cStr()); });
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "disk full at /var/x");
}

TEST(FramingTest, RejectsOversizeEmptyAndGarbageFrames) {
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0x7f};
  EXPECT_FALSE(ParseFrameHeader(std::span<const uint8_t, 4>(huge, 4)).ok());
  uint8_t zero[4] = {0, 0, 0, 0};
  EXPECT_FALSE(ParseFrameHeader(std::span<const uint8_t, 4>(zero, 4)).ok());
  // A segment table claiming a huge segment count must fail cleanly.
  std::vector<uint8_t> garbage(64, 0xff);
  auto decoded = Frame::Decode(garbage);
  if (decoded.ok()) {
    auto read = ReadSafely(
        [&] { return std::string((*decoded)->Root<proto::Failure>().getMessage().cStr()); });
    EXPECT_FALSE(read.ok());
  }
}

TEST(PathsTest, ConfinesToRootsAndRefusesEscapes) {
  TempDir dir;
  fs::create_directories(dir / "root/sub");
  fs::create_directories(dir / "outside");
  fs::create_symlink(dir / "outside", dir / "root/link");
  std::vector<fs::path> roots{dir / "root"};
  EXPECT_TRUE(ConfinePath(dir / "root/sub/file", roots).ok());
  EXPECT_FALSE(ConfinePath(dir / "root/../outside/file", roots).ok());
  EXPECT_FALSE(ConfinePath(dir / "root/link/file", roots).ok());
  EXPECT_FALSE(ConfinePath(dir / "outside/file", roots).ok());
  EXPECT_FALSE(ConfinePath("relative/file", roots).ok());
  EXPECT_FALSE(ConfinePath(dir / "root/missing-dir/file", roots).ok());
  // A root that is a prefix string of another directory must not admit it.
  fs::create_directories(dir / "rootx");
  EXPECT_FALSE(ConfinePath(dir / "rootx/file", roots).ok());
}

TEST(PathsTest, InstallsAtomicallyWithMode) {
  TempDir dir;
  testing::WriteRandomFile(dir / "src", 3 << 20, 7);
  ASSERT_TRUE(InstallFileAtomically(dir / "src", dir / "dst", 0600).ok());
  EXPECT_EQ(testing::Sha256Hex(dir / "src"), testing::Sha256Hex(dir / "dst"));
  struct stat st {};
  ASSERT_EQ(stat((dir / "dst").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".shoal-tmp"), std::string::npos);
  }
  EXPECT_FALSE(InstallFileAtomically(dir / "nope", dir / "dst2").ok());
  EXPECT_FALSE(fs::exists(dir / "dst2"));
}

TEST(LmdbTest, PersistsAcrossReopenAndScansInOrder) {
  TempDir dir;
  {
    auto env = lmdb::Env::Open(dir / "db");
    ASSERT_TRUE(env.ok());
    auto db = (*env)->OpenDb("things");
    ASSERT_TRUE(db.ok());
    auto txn = (*env)->BeginWrite();
    ASSERT_TRUE(txn.ok());
    for (uint64_t i : {3, 1, 2}) {
      ASSERT_TRUE(txn->Put(*db, lmdb::EncodeU64Key(i), "v" + std::to_string(i)).ok());
    }
    ASSERT_TRUE(txn->Commit().ok());
    auto aborted = (*env)->BeginWrite();
    ASSERT_TRUE(aborted->Put(*db, lmdb::EncodeU64Key(9), "lost").ok());
    // destroyed without commit: aborted
  }
  auto env = lmdb::Env::Open(dir / "db");
  ASSERT_TRUE(env.ok());
  auto db = (*env)->OpenDb("things");
  auto txn = (*env)->BeginRead();
  std::vector<uint64_t> keys;
  txn->Scan(*db, "", [&](std::string_view k, std::string_view) {
    keys.push_back(lmdb::DecodeU64Key(k));
    return true;
  });
  EXPECT_EQ(keys, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(txn->Get(*db, lmdb::EncodeU64Key(2)).value(), "v2");
  EXPECT_FALSE(txn->Get(*db, lmdb::EncodeU64Key(9)).has_value());
}

}  // namespace
}  // namespace shoal
