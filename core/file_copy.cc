#include "core/file_copy.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace shoal {
namespace fs = std::filesystem;
namespace {

Error Errno(const fs::path& where, const char* what) {
  return Error::of(where.string(), std::string(what) + ": " + std::strerror(errno));
}

bool WriteAll(int fd, const char* data, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t n = ::write(fd, data + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool CanShareBlocks(const fs::path& source_dir, int dest_fd) {
  // Unnamed (O_TMPFILE): nothing to clean up, whatever happens.
  int probe = ::open(source_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (probe < 0) return false;
  const std::vector<char> block(4096, 's');
  loff_t from = 0;
  bool shared = WriteAll(probe, block.data(), block.size()) &&
                ::copy_file_range(probe, &from, dest_fd, nullptr, block.size(), 0) ==
                    static_cast<ssize_t>(block.size());
  ::close(probe);
  if (shared) {
    // One extent expected; room for a few in case a filesystem splits it.
    constexpr int kExtents = 4;
    alignas(fiemap) char buf[sizeof(fiemap) + kExtents * sizeof(fiemap_extent)] = {};
    auto* map = reinterpret_cast<fiemap*>(buf);
    map->fm_length = FIEMAP_MAX_OFFSET;
    map->fm_flags = FIEMAP_FLAG_SYNC;
    map->fm_extent_count = kExtents;
    shared = ::ioctl(dest_fd, FS_IOC_FIEMAP, map) == 0 && map->fm_mapped_extents > 0 &&
             (map->fm_extents[0].fe_flags & FIEMAP_EXTENT_SHARED);
  }
  if (::ftruncate(dest_fd, 0) != 0 || ::lseek(dest_fd, 0, SEEK_SET) != 0) shared = false;
  return shared;
}

bool CanShareBlocksInto(const fs::path& source_dir, const fs::path& dest_dir) {
  int dest = ::open(dest_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (dest < 0) return false;
  const bool shared = CanShareBlocks(source_dir, dest);
  ::close(dest);
  return shared;
}

bool CanHardLinkInto(const fs::path& source_dir, const fs::path& dest_dir) {
  int probe = ::open(source_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (probe < 0) return false;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const fs::path name = dest_dir / (".shoal-tmp-link-probe-" + std::to_string(rng() % 1000000000));
  // An unnamed file gets a name through /proc (linkat's AT_EMPTY_PATH would need a capability).
  const std::string proc = "/proc/self/fd/" + std::to_string(probe);
  const bool linked =
      ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0;
  if (linked) ::unlink(name.c_str());
  ::close(probe);
  return linked;
}

Status CopyFileContents(int in, int out, uint64_t size, const fs::path& source,
                        const fs::path& dest, bool may_share) {
  uint64_t remaining = size;
  bool kernel_copy = may_share;
  std::vector<char> buf(may_share ? 0 : 1 << 20);
  off_t in_at = 0;
  while (remaining > 0) {
    ssize_t n;
    if (kernel_copy) {
      n = ::copy_file_range(in, &in_at, out, nullptr, static_cast<size_t>(remaining), 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) &&
          remaining == size) {
        kernel_copy = false;
        buf.resize(1 << 20);
        continue;
      }
    } else {
      n = ::pread(in, buf.data(), std::min<uint64_t>(buf.size(), remaining), in_at);
      if (n > 0 && !WriteAll(out, buf.data(), static_cast<size_t>(n))) return Errno(dest, "write");
      if (n > 0) in_at += n;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return n == 0 ? Error::of(source.string(), "shrank while copying")
                    : Errno(dest, kernel_copy ? "copy_file_range" : "read");
    remaining -= static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace shoal
