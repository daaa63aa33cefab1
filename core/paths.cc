#include "core/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

namespace shoal {
namespace fs = std::filesystem;
namespace {

Error Errno(const fs::path& where, const char* what) {
  return Error::of(where.string(), std::string(what) + ": " + std::strerror(errno));
}

bool IsWithin(const fs::path& path, const fs::path& root) {
  auto [root_end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

fs::path TempPathBeside(const fs::path& dest) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return dest.parent_path() /
         (".shoal-tmp-" + dest.filename().string() + "-" + std::to_string(rng() % 1000000000));
}

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno(dir, "open directory");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno(dir, "fsync directory");
  return Status::Ok();
}

// Writes into `tmp` via `fill(fd)`, then fsync, chmod, rename to `dest`, fsync the directory.
template <typename Fill>
Status WriteThenRename(const fs::path& dest, unsigned mode, Fill fill) {
  fs::path tmp = TempPathBeside(dest);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(tmp, "create");
  Status s = fill(fd);
  if (s && ::fsync(fd) != 0) s = Errno(tmp, "fsync");
  if (s && ::fchmod(fd, mode) != 0) s = Errno(tmp, "chmod");
  if (::close(fd) != 0 && s) s = Errno(tmp, "close");
  if (s && ::rename(tmp.c_str(), dest.c_str()) != 0) s = Errno(dest, "rename");
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncDir(dest.parent_path());
}

}  // namespace

Result<fs::path> ConfinePath(const fs::path& requested, const std::vector<fs::path>& roots) {
  const std::string where = "path '" + requested.string() + "'";
  if (!requested.is_absolute()) return Error::of(where, "must be absolute");
  for (const auto& part : requested.relative_path()) {
    if (part == ".." || part == ".") return Error::of(where, "must not contain '.' or '..'");
  }
  if (!requested.has_filename()) return Error::of(where, "must name a file");
  std::error_code ec;
  fs::path parent = fs::canonical(requested.parent_path(), ec);
  if (ec) return Error::of(where, "parent directory: " + ec.message());
  fs::path resolved = parent / requested.filename();
  // The final component may itself be a symlink pointing elsewhere: refuse to write through it.
  if (fs::is_symlink(fs::symlink_status(resolved, ec))) {
    return Error::of(where, "is a symbolic link");
  }
  for (const auto& root : roots) {
    fs::path canonical_root = fs::weakly_canonical(root, ec);
    if (!ec && IsWithin(resolved, canonical_root)) return resolved;
  }
  return Error::of(where, "is outside the allowed roots");
}

Status InstallFileAtomically(const fs::path& source, const fs::path& dest, unsigned mode) {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno(source, "open");
  struct stat st {};
  if (::fstat(in, &st) != 0) {
    ::close(in);
    return Errno(source, "stat");
  }
  Status s = WriteThenRename(dest, mode, [&](int out) -> Status {
    // copy_file_range lets the kernel copy (or reflink) without bouncing through user space.
    off_t remaining = st.st_size;
    while (remaining > 0) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(remaining), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return n == 0 ? Error::of(source.string(), "shrank while copying")
                      : Errno(dest, "copy_file_range");
      remaining -= n;
    }
    return Status::Ok();
  });
  ::close(in);
  return s;
}

Status WriteFileAtomically(const fs::path& path, std::string_view contents, unsigned mode) {
  return WriteThenRename(path, mode, [&](int fd) -> Status {
    size_t done = 0;
    while (done < contents.size()) {
      ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno(path, "write");
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  });
}

}  // namespace shoal
