// Installs that share the downloaded file's blocks (core/file_copy.h): on a real XFS (a loop
// mount; needs root, mkfs.xfs and a loop device, and skips without them) the streamed install
// is a copy that shares the file's blocks (a reflink), and so is the cached install; across
// filesystems, and on tmpfs, the bytes are copied. A real node's fetch onto such an XFS needs
// room for the file once, not twice. With `--install-link` an install on the cache's mount is the
// cached file itself (a hard link), on any filesystem; a linked install written to afterwards is
// found before the cache is used again, and the artifact is fetched afresh.
#include "core/file_copy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/paths.h"
#include "core/prefix_digest.h"
#include "tests/support/fleet.h"
#include "tests/support/process.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

// An XFS of 320 MiB (mkfs.xfs's minimum is 300) in a sparse image, loop-mounted for the
// test's lifetime.
class XfsMount {
 public:
  explicit XfsMount(const fs::path& dir) : mount_point_(dir / "xfs") {
    if (::geteuid() != 0) {
      why_not_ = "mounting needs root";
      return;
    }
    const fs::path image = dir / "xfs.img";
    std::ofstream(image).close();
    fs::resize_file(image, 320ull << 20);
    fs::create_directories(mount_point_);
    CommandResult mkfs = RunCommand("/sbin/mkfs.xfs", {"-q", image.string()});
    if (mkfs.exit_code != 0) {
      why_not_ = "mkfs.xfs (package xfsprogs) failed or is missing: " + mkfs.err;
      return;
    }
    CommandResult mount =
        RunCommand("/bin/mount", {"-o", "loop", image.string(), mount_point_.string()});
    if (mount.exit_code != 0) {
      why_not_ = "no loop mount here: " + mount.err;
      return;
    }
    mounted_ = true;
  }
  ~XfsMount() {
    if (mounted_) RunCommand("/bin/umount", {"-l", mount_point_.string()});
  }
  const fs::path& path() const { return mount_point_; }
  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

 private:
  fs::path mount_point_;
  bool mounted_ = false;
  std::string why_not_;
};

// Whether every extent of `path` is shared with another file (FIEMAP), and it has some.
bool AllExtentsShared(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  constexpr int kExtents = 64;
  std::vector<char> buf(sizeof(fiemap) + kExtents * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buf.data());
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = kExtents;
  const bool ok = ::ioctl(fd, FS_IOC_FIEMAP, map) == 0;
  ::close(fd);
  if (!ok || map->fm_mapped_extents == 0) return false;
  for (uint32_t i = 0; i < map->fm_mapped_extents; ++i)
    if (!(map->fm_extents[i].fe_flags & FIEMAP_EXTENT_SHARED)) return false;
  return true;
}

uint64_t FreeBytes(const fs::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

constexpr uint64_t kSize = (24 << 20) + 777;  // not a whole number of blocks

// Wherever the tests run (tmpfs, ext4, overlayfs: no reflinks), the copy is byte for byte, and
// a source shorter than promised is an error, not a short install.
TEST(FileCopyTest, CopiesWhereBlocksCannotBeShared) {
  TempDir dir;
  const fs::path source = dir / "source", dest = dir / "dest";
  WriteRandomFile(source, (3 << 20) + 5, 4);
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  int out = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  struct statfs st {};
  ASSERT_EQ(::fstatfs(out, &st), 0);
  if (st.f_type == TMPFS_MAGIC || st.f_type == EXT4_SUPER_MAGIC) {
    EXPECT_FALSE(CanShareBlocks(dir.path(), out));
  }
  EXPECT_EQ(::lseek(out, 0, SEEK_END), 0) << "the probe leaves the file empty";
  ASSERT_TRUE(CopyFileContents(in, out, fs::file_size(source), source, dest));
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(source));

  ASSERT_EQ(::ftruncate(out, 0), 0);
  ASSERT_EQ(::lseek(out, 0, SEEK_SET), 0);
  Status longer = CopyFileContents(in, out, fs::file_size(source) + 1, source, dest);
  ASSERT_FALSE(longer);
  EXPECT_NE(longer.error().message.find("shrank"), std::string::npos) << longer.error().message;
  ::close(in);
  ::close(out);
}

struct stat StatOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st;
}

bool SameFile(const fs::path& a, const fs::path& b) {
  const struct stat x = StatOf(a), y = StatOf(b);
  return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

unsigned ModeOf(const fs::path& path) { return StatOf(path).st_mode & 07777; }

// `--install-link`: the streamed install, added half-way through the digests, is never written;
// at the end it becomes a second name of the downloaded file, with the install's mode (which the
// file then has too). Later installs of another mode are copies (one file cannot have two
// modes), of the same mode further links, and one the owner could not read a copy.
TEST(FileCopyTest, LinkedInstallIsTheFileItself) {
  TempDir dir;
  const fs::path object = dir / "objects" / "object", dest = dir / "opt" / "app.img";
  fs::create_directories(object.parent_path());
  fs::create_directories(dest.parent_path());
  WriteRandomFile(object, kSize, 5);
  ASSERT_TRUE(CanHardLinkInto(object.parent_path(), dest.parent_path()));
  for (const auto& entry : fs::directory_iterator(dest.parent_path()))
    ADD_FAILURE() << "the probe left " << entry.path();

  PrefixDigest digest(object, nullptr, /*share_blocks=*/false, /*link_sinks=*/true);
  ASSERT_TRUE(digest.AdvanceTo(kSize / 2));
  auto staged = StagedFile::Create(dest, 0755);
  ASSERT_TRUE(staged);
  const int staged_fd = staged->fd();
  digest.AddSink(std::move(*staged));
  ASSERT_TRUE(digest.sinks()[0].links);
  ASSERT_TRUE(digest.AdvanceTo(kSize));
  EXPECT_EQ(::lseek(staged_fd, 0, SEEK_END), 0) << "nothing written while digesting";
  digest.FillSharedSinks();
  ASSERT_TRUE(digest.sinks()[0].status) << digest.sinks()[0].status.error().message;
  EXPECT_TRUE(digest.sinks()[0].links);
  ASSERT_TRUE(digest.sinks()[0].file.Commit());
  auto [sha256, md5] = digest.Final();
  EXPECT_EQ(sha256.hex(), Sha256Hex(object));
  EXPECT_EQ(md5.hex(), Md5Hex(object));
  EXPECT_TRUE(SameFile(dest, object));
  EXPECT_EQ(StatOf(object).st_nlink, 2u);
  EXPECT_EQ(ModeOf(dest), 0755u);
  EXPECT_EQ(ModeOf(object), 0755u);

  const fs::path other_mode = dir / "opt" / "other-mode", same_mode = dir / "opt" / "same-mode",
                 unreadable = dir / "opt" / "unreadable";
  ASSERT_TRUE(InstallFileAtomically(object, other_mode, 0644, false, /*may_link=*/true));
  EXPECT_FALSE(SameFile(other_mode, object));
  EXPECT_TRUE(ReadFileBytes(other_mode) == ReadFileBytes(object));
  EXPECT_EQ(ModeOf(other_mode), 0644u);
  EXPECT_EQ(ModeOf(object), 0755u) << "the linked install's mode is left alone";
  ASSERT_TRUE(InstallFileAtomically(object, same_mode, 0755, false, /*may_link=*/true));
  EXPECT_TRUE(SameFile(same_mode, object));
  EXPECT_EQ(StatOf(object).st_nlink, 3u);
  fs::remove(dest);
  fs::remove(same_mode);
  ASSERT_TRUE(InstallFileAtomically(object, unreadable, 0200, false, /*may_link=*/true));
  EXPECT_FALSE(SameFile(unreadable, object));
  EXPECT_EQ(ModeOf(object), 0755u);
  for (const auto& entry : fs::directory_iterator(dest.parent_path()))
    EXPECT_FALSE(entry.path().filename().string().starts_with(".shoal-tmp")) << entry.path();
}

// A link refused at the end (another install of the file, of another mode, came first) leaves
// the staged install as it was, and it is copied instead: never a missing or partial install.
TEST(FileCopyTest, LinkRefusedAtTheEndIsCopied) {
  TempDir dir;
  const fs::path object = dir / "object", first = dir / "first", dest = dir / "dest";
  WriteRandomFile(object, (2 << 20) + 3, 6);
  PrefixDigest digest(object, nullptr, /*share_blocks=*/false, /*link_sinks=*/true);
  auto staged = StagedFile::Create(dest, 0640);
  ASSERT_TRUE(staged);
  digest.AddSink(std::move(*staged));
  ASSERT_TRUE(digest.sinks()[0].links);
  ASSERT_TRUE(digest.AdvanceTo(fs::file_size(object)));
  ASSERT_TRUE(InstallFileAtomically(object, first, 0600, false, /*may_link=*/true));
  ASSERT_TRUE(SameFile(first, object));
  digest.FillSharedSinks();
  ASSERT_TRUE(digest.sinks()[0].status) << digest.sinks()[0].status.error().message;
  EXPECT_FALSE(digest.sinks()[0].links);
  ASSERT_TRUE(digest.sinks()[0].file.Commit());
  EXPECT_FALSE(SameFile(dest, object));
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object));
  EXPECT_EQ(ModeOf(dest), 0640u);
  EXPECT_EQ(ModeOf(object), 0600u);
}

// link(2) refuses across mounts, even two of one filesystem (the bench's bind-mounted install
// directories): the probe says so, and the install is written as it is digested.
TEST(FileCopyTest, NoLinkAcrossMounts) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  TempDir dir;
  const fs::path object = dir / "object", inside = dir / "node-1", bound = dir / "inst";
  fs::create_directories(inside);
  fs::create_directories(bound);
  WriteRandomFile(object, (1 << 20) + 9, 7);
  ASSERT_EQ(RunCommand("/bin/mount", {"--bind", inside.string(), bound.string()}).exit_code, 0);
  const fs::path dest = bound / "payload.bin";
  EXPECT_TRUE(CanHardLinkInto(dir.path(), inside));
  EXPECT_FALSE(CanHardLinkInto(dir.path(), bound));
  {
    PrefixDigest digest(object, nullptr, /*share_blocks=*/false, /*link_sinks=*/true);
    auto staged = StagedFile::Create(dest, 0644);
    ASSERT_TRUE(staged);
    digest.AddSink(std::move(*staged));
    EXPECT_FALSE(digest.sinks()[0].links);
    ASSERT_TRUE(digest.AdvanceTo(fs::file_size(object)));
    digest.FillSharedSinks();
    ASSERT_TRUE(digest.sinks()[0].status);
    ASSERT_TRUE(digest.sinks()[0].file.Commit());
  }
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object));
  EXPECT_EQ(StatOf(object).st_nlink, 1u);
  const fs::path cached = bound / "cached.bin";
  ASSERT_TRUE(InstallFileAtomically(object, cached, 0644, false, /*may_link=*/true));
  EXPECT_TRUE(ReadFileBytes(cached) == ReadFileBytes(object));
  EXPECT_EQ(StatOf(object).st_nlink, 1u);
  RunCommand("/bin/umount", {"-l", bound.string()});
}

// A real node (links allowed, the default): the install is its cached object. Written to
// afterwards, the object no longer matches what was verified; the next fetch of the artifact
// finds that, fetches it afresh from the swarm and installs the right bytes, and leaves the
// changed install as its owner left it. With `--install-link false` an install is a file of its
// own.
TEST(FileCopyTest, NodeRefetchesWhenALinkedInstallWasChanged) {
  TempDir dir;
  if (CanShareBlocksInto(dir.path(), dir.path()))
    GTEST_SKIP() << "this filesystem clones an install (a reflink) rather than link it";
  Fleet fleet(dir / "fleet");
  fleet.StartSeeder();
  const fs::path payload = dir / "payload.bin";
  WriteRandomFile(payload, (6 << 20) + 11, 23);
  const std::string id = fleet.Put(payload);
  const fs::path object = fleet.NodeState(0) / "objects" / id.substr(id.find(':') + 1);
  fs::create_directories(fleet.OutDir());
  const fs::path first = fleet.OutDir() / "first.img", second = fleet.OutDir() / "second.img";

  fleet.StartNode(0);
  FetchReply fetched = fleet.Fetch(0, id, first.string());
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_FALSE(fetched.from_cache);
  ASSERT_TRUE(fs::exists(object)) << object;
  EXPECT_TRUE(SameFile(first, object));
  EXPECT_EQ(Md5Hex(first), Md5Hex(payload));

  {
    std::ofstream out(first, std::ios::binary | std::ios::app);
    out << "edited in place";
  }
  const std::string edited = ReadFileBytes(first);
  FetchReply again = fleet.Fetch(0, id, second.string());
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_FALSE(again.from_cache) << "a changed object is not installed again";
  EXPECT_EQ(Md5Hex(second), Md5Hex(payload));
  EXPECT_TRUE(SameFile(second, object)) << "the new object, linked";
  EXPECT_FALSE(SameFile(first, object));
  EXPECT_TRUE(ReadFileBytes(first) == edited);

  fleet.KillNode(0);
  fleet.StartNode(0, {"--install-link", "false"});
  const fs::path copied = fleet.OutDir() / "copied.img";
  FetchReply cached = fleet.Fetch(0, id, copied.string());
  ASSERT_TRUE(cached.ok) << cached.error;
  EXPECT_TRUE(cached.from_cache);
  EXPECT_FALSE(SameFile(copied, object));
  EXPECT_EQ(Md5Hex(copied), Md5Hex(payload));
}

// A linked install written in place while its node seeds it: within the node's check interval
// the object is dropped (no longer seeded, out of the cache), so a node that comes later meets
// no corrupt data from it, and gets the right bytes.
TEST(FileCopyTest, NodeStopsSeedingAChangedLinkedInstall) {
  TempDir dir;
  if (CanShareBlocksInto(dir.path(), dir.path()))
    GTEST_SKIP() << "this filesystem clones an install (a reflink) rather than link it";
  Fleet fleet(dir / "fleet");
  fleet.StartSeeder({"--upload-limit", "1000000"});  // so that node 1 would take from node 0
  const fs::path payload = dir / "payload.bin";
  constexpr uint64_t kFile = 4 << 20;
  WriteRandomFile(payload, kFile, 29);
  const std::string id = fleet.Put(payload);
  const fs::path object = fleet.NodeState(0) / "objects" / id.substr(id.find(':') + 1);
  fs::create_directories(fleet.OutDir());
  const fs::path installed = fleet.OutDir() / "installed.img";

  fleet.StartNode(0, {"--cache-check-interval", "0.2", "--piece-cache", "0"});
  FetchReply fetched = fleet.Fetch(0, id, installed.string());
  ASSERT_TRUE(fetched.ok) << fetched.error;
  ASSERT_TRUE(SameFile(installed, object));
  std::vector<uint64_t> offsets;
  for (uint64_t offset = 50000; offset < kFile; offset += kFile / 7) offsets.push_back(offset);
  ASSERT_TRUE(OverwriteBlocksInPlace(installed, offsets));
  const std::string edited = ReadFileBytes(installed);
  for (int i = 0; i < 200 && fs::exists(object); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(fs::exists(object)) << "still cached 10 s after its install changed";
  EXPECT_NE(fleet.node(0).Stderr().find("changed since it was verified; no longer seeding it"),
            std::string::npos);

  fleet.StartNode(1);
  FetchReply later = fleet.Fetch(1, id, (fleet.OutDir() / "later.img").string());
  ASSERT_TRUE(later.ok) << later.error;
  EXPECT_EQ(Md5Hex(later.path), Md5Hex(payload));
  EXPECT_EQ(fleet.node(1).Stderr().find("failed its hash check"), std::string::npos)
      << "node 0 kept seeding its changed object";
  EXPECT_TRUE(ReadFileBytes(installed) == edited) << "the changed install is its owner's";
}

class FileCopyXfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    xfs_ = std::make_unique<XfsMount>(dir_.path());
    if (!xfs_->mounted()) GTEST_SKIP() << xfs_->why_not();
    object_ = xfs_->path() / "objects" / "object";
    fs::create_directories(object_.parent_path());
    WriteRandomFile(object_, kSize, 9);
    ::sync();  // the free-space figures below count allocated blocks
  }

  TempDir dir_;
  std::unique_ptr<XfsMount> xfs_;
  fs::path object_;
};

// The streamed install (node/stream_check.h) of a download on XFS: added while the digests are
// half-way, it is never written, then filled at the end by a copy that shares its blocks; its bytes
// are the file's, its extents shared with it, and it takes no space of its own.
TEST_F(FileCopyXfsTest, StreamedInstallSharesTheFilesBlocks) {
  const fs::path dest = xfs_->path() / "opt" / "app.img";
  fs::create_directories(dest.parent_path());
  const uint64_t free_before = FreeBytes(xfs_->path());

  // Links allowed too, as a node's default: a clone is preferred (a file of its own).
  PrefixDigest digest(object_, nullptr, /*share_blocks=*/true, /*link_sinks=*/true);
  ASSERT_TRUE(digest.AdvanceTo(kSize / 2));
  auto staged = StagedFile::Create(dest, 0755);
  ASSERT_TRUE(staged);
  const int staged_fd = staged->fd();
  digest.AddSink(std::move(*staged));
  ASSERT_TRUE(digest.sinks()[0].shares_blocks) << "XFS made with reflink (mkfs.xfs's default)";
  EXPECT_FALSE(digest.sinks()[0].links);
  ASSERT_TRUE(digest.AdvanceTo(kSize));
  EXPECT_EQ(::lseek(staged_fd, 0, SEEK_END), 0) << "nothing written while digesting";
  digest.FillSharedSinks();
  ASSERT_TRUE(digest.sinks()[0].status);
  ASSERT_TRUE(digest.sinks()[0].file.Commit());
  auto [sha256, md5] = digest.Final();

  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object_));
  EXPECT_EQ(sha256.hex(), Sha256Hex(dest));
  EXPECT_EQ(md5.hex(), Md5Hex(dest));
  EXPECT_EQ(fs::status(dest).permissions() & fs::perms::all, static_cast<fs::perms>(0755));
  EXPECT_TRUE(AllExtentsShared(dest));
  EXPECT_FALSE(SameFile(dest, object_));
  ::sync();
  EXPECT_LT(free_before - FreeBytes(xfs_->path()), kSize / 4) << "shared, not a second copy";

  // The copies are independent: changing the install leaves the downloaded file as it was.
  const std::string object_bytes = ReadFileBytes(object_);
  {
    std::fstream out(dest, std::ios::binary | std::ios::in | std::ios::out);
    out << "changed";
  }
  EXPECT_TRUE(ReadFileBytes(object_) == object_bytes);
}

// The bench's fleet (bench/netns) gives each node its install directory by a bind mount: a
// second mount of the same XFS, where FICLONE refuses (EXDEV) but copy_file_range shares.
TEST_F(FileCopyXfsTest, AcrossABindMountBlocksAreShared) {
  const fs::path inside = xfs_->path() / "node-1", bound = dir_.path() / "inst";
  fs::create_directories(inside);
  fs::create_directories(bound);
  ASSERT_EQ(RunCommand("/bin/mount", {"--bind", inside.string(), bound.string()}).exit_code, 0);
  const fs::path dest = bound / "payload.bin";
  {
    PrefixDigest digest(object_);
    ASSERT_TRUE(digest.AdvanceTo(kSize));
    auto staged = StagedFile::Create(dest, 0644);
    ASSERT_TRUE(staged);
    digest.AddSink(std::move(*staged));
    EXPECT_TRUE(digest.sinks()[0].shares_blocks);
    digest.FillSharedSinks();
    ASSERT_TRUE(digest.sinks()[0].status);
    ASSERT_TRUE(digest.sinks()[0].file.Commit());
  }
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object_));
  EXPECT_TRUE(AllExtentsShared(dest));
  RunCommand("/bin/umount", {"-l", bound.string()});
}

// `shoal-node --install-reflink false`: on the same XFS, each install has blocks of its own.
TEST_F(FileCopyXfsTest, WithSharingOffInstallsAreCopies) {
  const fs::path streamed = xfs_->path() / "streamed", cached = xfs_->path() / "cached";
  {
    PrefixDigest digest(object_, nullptr, /*share_blocks=*/false);
    auto staged = StagedFile::Create(streamed, 0644);
    ASSERT_TRUE(staged);
    digest.AddSink(std::move(*staged));
    EXPECT_FALSE(digest.sinks()[0].shares_blocks);
    ASSERT_TRUE(digest.AdvanceTo(kSize));
    ASSERT_TRUE(digest.sinks()[0].status);
    ASSERT_TRUE(digest.sinks()[0].file.Commit());
  }
  ASSERT_TRUE(InstallFileAtomically(object_, cached, 0644, /*may_share=*/false));
  for (const fs::path& dest : {streamed, cached}) {
    EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object_)) << dest;
    EXPECT_FALSE(AllExtentsShared(dest)) << dest;
  }
}

// A cached artifact installed later (InstallFileAtomically: copy_file_range) shares blocks too.
TEST_F(FileCopyXfsTest, CachedInstallSharesBlocks) {
  const fs::path dest = xfs_->path() / "installed";
  ASSERT_TRUE(InstallFileAtomically(object_, dest, 0644, /*may_share=*/true, /*may_link=*/true));
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object_));
  EXPECT_TRUE(AllExtentsShared(dest));
  EXPECT_FALSE(SameFile(dest, object_)) << "a clone is preferred to a link";
}

// Across filesystems (the file on XFS, the install on tmpfs) nothing can be shared: the probe
// says so and leaves the staged file empty, and the install is written as it is digested.
TEST_F(FileCopyXfsTest, AcrossFilesystemsTheInstallIsCopied) {
  struct statfs shm {};
  if (::statfs("/dev/shm", &shm) != 0 || shm.f_type != TMPFS_MAGIC)
    GTEST_SKIP() << "/dev/shm is not a tmpfs here";
  TempDir shm_dir;  // for the name only
  const fs::path dest =
      fs::path("/dev/shm") / ("shoal-file-copy-" + shm_dir.path().filename().string());
  auto staged = StagedFile::Create(dest, 0644);
  ASSERT_TRUE(staged);
  EXPECT_FALSE(CanShareBlocks(object_.parent_path(), staged->fd()));
  EXPECT_EQ(::lseek(staged->fd(), 0, SEEK_END), 0);

  PrefixDigest digest(object_);
  digest.AddSink(std::move(*staged));
  EXPECT_FALSE(digest.sinks()[0].shares_blocks);
  ASSERT_TRUE(digest.AdvanceTo(kSize));
  digest.FillSharedSinks();  // nothing to do
  ASSERT_TRUE(digest.sinks()[0].status);
  ASSERT_TRUE(digest.sinks()[0].file.Commit());
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object_));
  fs::remove(dest);

  // And the cached install from XFS to tmpfs goes through a buffer (copy_file_range: EXDEV).
  ASSERT_TRUE(InstallFileAtomically(object_, dest, 0644));
  EXPECT_TRUE(ReadFileBytes(dest) == ReadFileBytes(object_));
  fs::remove(dest);
}

// A node's fetch onto the XFS that holds its cache, with room there for the file once but not
// twice: with sharing and links off the node refuses it up front (cached file plus install),
// naming the space; with sharing on (the default) it fetches it, the install sharing the cached
// file's blocks, and the filesystem loses one copy's worth of space, not two.
TEST_F(FileCopyXfsTest, FetchNeedsRoomForOneCopyWhenTheInstallSharesBlocks) {
  constexpr uint64_t kFile = 32 << 20;
  Fleet fleet(xfs_->path() / "fleet");
  fleet.StartSeeder();
  const fs::path payload = dir_ / "payload.bin";  // off the XFS
  WriteRandomFile(payload, kFile, 21);
  const std::string id = fleet.Put(payload);
  fs::create_directories(fleet.OutDir());
  const fs::path dest = fleet.OutDir() / "app.img";

  // Leave 48 MiB: one copy fits with room to spare, two do not.
  ::sync();
  const uint64_t leave = 48ull << 20;
  ASSERT_GT(FreeBytes(xfs_->path()), leave);
  const fs::path filler = xfs_->path() / "filler";
  {
    int fd = ::open(filler.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::posix_fallocate(fd, 0, static_cast<off_t>(FreeBytes(xfs_->path()) - leave)), 0);
    ::close(fd);
  }
  ::sync();
  const uint64_t free_before = FreeBytes(xfs_->path());
  ASSERT_LT(free_before, 2 * kFile);
  ASSERT_GT(free_before, kFile);

  fleet.StartNode(0, {"--install-reflink", "false", "--install-link", "false"});
  FetchReply refused = fleet.Fetch(0, id, dest.string());
  ASSERT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("not enough disk space"), std::string::npos) << refused.error;
  EXPECT_NE(refused.error.find(std::to_string(2 * kFile) + " bytes needed"), std::string::npos)
      << refused.error;
  EXPECT_FALSE(fs::exists(dest));

  fleet.KillNode(0);
  fleet.StartNode(0);
  FetchReply fetched = fleet.Fetch(0, id, dest.string());
  ASSERT_TRUE(fetched.ok) << fetched.error;
  EXPECT_EQ(Md5Hex(dest), Md5Hex(payload));
  EXPECT_TRUE(AllExtentsShared(dest));
  ::sync();
  // The cached file took its size; the install next to nothing (a quarter as slack for state).
  EXPECT_GT(FreeBytes(xfs_->path()) + kFile + kFile / 4, free_before);
}

}  // namespace
}  // namespace shoal::testing
