// core/: digests' text forms, frame encoding limits, path confinement, atomic install,
// check-and-copy, LMDB, swarm settings.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "core/digest.h"
#include "core/file_check.h"
#include "core/framing.h"
#include "core/lmdb.h"
#include "core/paths.h"
#include "core/swarm_settings.h"
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

bool HasStrayTemporaries(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with(".shoal-tmp")) return true;
  }
  return false;
}

TEST(PathsTest, StagedFileReachesItsDestinationOnlyOnCommit) {
  TempDir dir;
  {
    auto staged = StagedFile::Create(dir / "dropped");
    ASSERT_TRUE(staged) << staged.error().message;
    ASSERT_EQ(::write(staged->fd(), "partial", 7), 7);
  }
  EXPECT_FALSE(fs::exists(dir / "dropped"));
  EXPECT_FALSE(HasStrayTemporaries(dir.path()));

  ASSERT_TRUE(WriteFileAtomically(dir / "kept", "old"));
  auto staged = StagedFile::Create(dir / "kept", 0640);
  ASSERT_TRUE(staged);
  ASSERT_EQ(::write(staged->fd(), "new", 3), 3);
  std::ifstream before(dir / "kept");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(before), {}), "old");  // not yet
  ASSERT_TRUE(staged->Commit());
  std::ifstream after(dir / "kept");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(after), {}), "new");
  struct stat st {};
  ASSERT_EQ(stat((dir / "kept").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_FALSE(HasStrayTemporaries(dir.path()));
  EXPECT_FALSE(StagedFile::Create(dir / "no-such-dir" / "f"));
}

TEST(FileCheckTest, DigestsMatchOpenSslAndEveryCopyIsIdentical) {
  TempDir dir;
  // Not a multiple of the 4 MiB read buffer: the last buffer is short.
  const uint64_t size = (9 << 20) + 12345;
  testing::WriteRandomFile(dir / "src", size, 11);
  int a = ::open((dir / "a").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int b = ::open((dir / "b").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::vector<int> fds{a, b};
  auto checked = CheckAndCopyFile(dir / "src", fds);
  ::close(a);
  ::close(b);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_EQ(checked->size, size);
  EXPECT_EQ(checked->sha256.hex(), testing::Sha256Hex(dir / "src"));
  EXPECT_EQ(checked->md5.hex(), testing::Md5Hex(dir / "src"));
  ASSERT_EQ(checked->copies.size(), 2u);
  EXPECT_TRUE(checked->copies[0]);
  EXPECT_TRUE(checked->copies[1]);
  EXPECT_EQ(testing::Sha256Hex(dir / "a"), testing::Sha256Hex(dir / "src"));
  EXPECT_EQ(testing::Sha256Hex(dir / "b"), testing::Sha256Hex(dir / "src"));
}

TEST(FileCheckTest, AFailedCopyNeitherStopsTheDigestsNorTheOtherCopies) {
  TempDir dir;
  testing::WriteRandomFile(dir / "src", 5 << 20, 12);
  int read_only = ::open((dir / "src").c_str(), O_RDONLY);  // writes fail with EBADF
  int good = ::open((dir / "good").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<int> fds{read_only, good};
  auto checked = CheckAndCopyFile(dir / "src", fds);
  ::close(read_only);
  ::close(good);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_EQ(checked->md5.hex(), testing::Md5Hex(dir / "src"));
  EXPECT_FALSE(checked->copies[0]);
  EXPECT_NE(checked->copies[0].error().message.find("write"), std::string::npos);
  EXPECT_TRUE(checked->copies[1]);
  EXPECT_EQ(testing::Sha256Hex(dir / "good"), testing::Sha256Hex(dir / "src"));

  auto missing = CheckAndCopyFile(dir / "missing", {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing: cannot open"), std::string::npos)
      << missing.error().message;
  auto directory = CheckAndCopyFile(dir.path(), {});
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("is a directory"), std::string::npos);
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

TEST(LmdbTest, AFullMapGrowsUpToItsCapThenRefusesWritesWithAClearError) {
  TempDir dir;
  auto env = lmdb::Env::Open(dir / "db", 4, size_t{64} << 10, size_t{1} << 20);
  ASSERT_TRUE(env.ok()) << env.error().message;
  auto db = (*env)->OpenDb("things");
  ASSERT_TRUE(db.ok());
  const std::string value(8 << 10, 'x');
  uint64_t written = 0;
  Status last = Status::Ok();
  size_t sizes_seen = 0, previous_size = 0;
  while (written < 1000) {
    last = (*env)->Update(
        [&](lmdb::Txn& txn) { return txn.Put(*db, lmdb::EncodeU64Key(written), value); });
    if (!last) break;
    ++written;
    if ((*env)->map_size() != previous_size) ++sizes_seen;
    previous_size = (*env)->map_size();
  }
  // 64 KiB could hold a handful of 8 KiB values; growth took it to 1 MiB before refusing.
  ASSERT_FALSE(last.ok()) << "a 1 MiB map took " << written << " x 8 KiB";
  EXPECT_GT(written, 60u);
  EXPECT_GE(sizes_seen, 4u);  // 64 KiB, 128, 256, 512, 1024
  EXPECT_EQ((*env)->map_size(), size_t{1} << 20);
  EXPECT_NE(last.error().message.find("map full"), std::string::npos) << last.error().message;
  EXPECT_NE(last.error().message.find((dir / "db").string()), std::string::npos);
  // Still usable: reads work, and freeing space lets writes through again.
  {
    auto txn = (*env)->BeginRead();
    ASSERT_TRUE(txn.ok());
    EXPECT_TRUE(txn->Get(*db, lmdb::EncodeU64Key(0)).has_value());
  }
  ASSERT_TRUE((*env)->Update([&](lmdb::Txn& txn) -> Status {
    for (uint64_t i = 0; i < written / 2; ++i) {
      auto d = txn.Del(*db, lmdb::EncodeU64Key(i));
      if (!d) return d.error();
    }
    return Status::Ok();
  }));
  // (LMDB reuses freed pages once no snapshot holds them: at most a couple of commits later.)
  bool wrote = false;
  for (uint64_t k = 5000; k < 5003 && !wrote; ++k) {
    wrote =
        (*env)
            ->Update([&](lmdb::Txn& txn) { return txn.Put(*db, lmdb::EncodeU64Key(k), "small"); })
            .ok();
  }
  EXPECT_TRUE(wrote);
  // A plain BeginWrite transaction that fills the map fails cleanly; the next one has room.
  env->reset();
  auto reopened = lmdb::Env::Open(dir / "db", 4, size_t{64} << 10, size_t{4} << 20);
  ASSERT_TRUE(reopened.ok());
  // The grown size is kept (LMDB rounds it to whole pages).
  const size_t kept = (*reopened)->map_size();
  EXPECT_GE(kept, size_t{15} << 16);
  EXPECT_LE(kept, size_t{1} << 20);
  auto db2 = (*reopened)->OpenDb("things");
  ASSERT_TRUE(db2.ok());
  Status filled = Status::Ok();
  {
    auto txn = (*reopened)->BeginWrite();
    ASSERT_TRUE(txn.ok());
    for (uint64_t i = 10000; i < 10200 && filled; ++i)
      filled = txn->Put(*db2, lmdb::EncodeU64Key(i), value);
    EXPECT_FALSE(filled.ok());
    EXPECT_TRUE(txn->map_full());
  }
  auto txn = (*reopened)->BeginWrite();
  ASSERT_TRUE(txn.ok());
  EXPECT_GE((*reopened)->map_size(), 2 * kept - 4096);
  EXPECT_TRUE(txn->Put(*db2, lmdb::EncodeU64Key(10000), value).ok());
  EXPECT_TRUE(txn->Commit().ok());
}

}  // namespace
}  // namespace shoal

TEST(SwarmSettingsTest, AppliesOverridesOnTopOfShoalsSettings) {
  shoal::SwarmOptions options;
  options.settings = {"send_buffer_watermark=1048576", "suggest_mode=1", "enable_dht=false",
                      "user_agent=bench"};
  auto pack = shoal::MakeSwarmSettings(options);
  ASSERT_TRUE(pack) << pack.error().message;
  namespace lt = libtorrent;
  EXPECT_EQ(pack->get_int(lt::settings_pack::send_buffer_watermark), 1048576);
  EXPECT_EQ(pack->get_int(lt::settings_pack::suggest_mode), 1);
  EXPECT_EQ(pack->get_str(lt::settings_pack::user_agent), "bench");
  // Shoal's own choices stay unless overridden.
  EXPECT_EQ(pack->get_int(lt::settings_pack::unchoke_slots_limit), -1);
}

TEST(SwarmSettingsTest, RejectsUnknownMalformedAndMistypedOverridesByName) {
  auto check = [](std::vector<std::string> settings, std::string disk_io, std::string expected) {
    shoal::SwarmOptions options;
    options.settings = std::move(settings);
    options.disk_io = std::move(disk_io);
    auto valid = shoal::ValidateSwarmOptions(options);
    ASSERT_FALSE(valid) << expected;
    EXPECT_NE(valid.error().message.find(expected), std::string::npos) << valid.error().message;
  };
  check({"no_such_setting=1"}, "mmap", "no setting named 'no_such_setting'");
  check({"suggest_mode"}, "mmap", "expected name=value");
  check({"=3"}, "mmap", "expected name=value");
  check({"suggest_mode=fast"}, "mmap", "'fast' is not an integer");
  check({"suggest_mode=12abc"}, "mmap", "'12abc' is not an integer");
  check({"enable_dht=maybe"}, "posix", "'maybe' is not true/false");
  check({}, "io_uring", "expected shoal, posix or mmap");
  shoal::SwarmOptions fine;
  fine.disk_io = "posix";
  fine.settings = {"connections_limit=50"};
  EXPECT_TRUE(shoal::ValidateSwarmOptions(fine));
}
