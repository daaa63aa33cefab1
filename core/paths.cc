#include "core/paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/file_copy.h"

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

// Stages `dest`, fills it via `fill(fd)`, commits.
template <typename Fill>
Status WriteThenRename(const fs::path& dest, unsigned mode, Fill fill) {
  auto staged = StagedFile::Create(dest, mode);
  if (!staged) return staged.error();
  if (Status s = fill(staged->fd()); !s) return s;
  return staged->Commit();
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

Result<StagedFile> StagedFile::Create(const fs::path& dest, unsigned mode) {
  fs::path tmp = TempPathBeside(dest);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno(tmp, "create");
  return StagedFile(dest, std::move(tmp), fd, mode);
}

StagedFile::StagedFile(StagedFile&& other) noexcept
    : dest_(std::move(other.dest_)),
      tmp_(std::move(other.tmp_)),
      fd_(std::exchange(other.fd_, -1)),
      mode_(other.mode_),
      committed_(std::exchange(other.committed_, true)) {}

StagedFile::~StagedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

Status StagedFile::Commit() {
  Status s;
  if (::fsync(fd_) != 0) s = Errno(tmp_, "fsync");
  if (s && ::fchmod(fd_, mode_) != 0) s = Errno(tmp_, "chmod");
  int rc = ::close(std::exchange(fd_, -1));
  if (s && rc != 0) s = Errno(tmp_, "close");
  if (s && ::rename(tmp_.c_str(), dest_.c_str()) != 0) s = Errno(dest_, "rename");
  if (!s) return s;  // the destructor removes the temporary
  committed_ = true;
  return FsyncDir(dest_.parent_path());
}

Status StagedFile::LinkTo(const fs::path& source) {
  // The mode check, the link and the chmod as one step: two installs of one file linked at once
  // (the digest worker's and a cached install's thread) must not both pass the check.
  static std::mutex linking;
  std::lock_guard lock(linking);
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) return Errno(source, "stat");
  if ((mode_ & S_IRUSR) == 0) {
    return Error::of(dest_.string(), "not linked: mode " + std::to_string(mode_) +
                                         " would leave the cached file unreadable to its owner");
  }
  if (st.st_nlink > 1 && (st.st_mode & 07777) != mode_) {
    return Error::of(dest_.string(), "not linked: " + source.string() +
                                         " is installed elsewhere with another mode");
  }
  // Linked beside the temporary, opened and given its mode, then renamed over it: on any
  // failure the staged file is as it was, and the caller can still write it.
  const fs::path link = tmp_.string() + "-link";
  if (::link(source.c_str(), link.c_str()) != 0) return Errno(link, "link");
  int fd = ::open(link.c_str(), O_RDONLY | O_CLOEXEC);
  Status s = fd < 0 ? Status(Errno(link, "open")) : Status::Ok();
  if (s && ::fchmod(fd, mode_) != 0) s = Errno(link, "chmod");
  if (s && ::rename(link.c_str(), tmp_.c_str()) != 0) s = Errno(tmp_, "rename");
  if (!s) {
    if (fd >= 0) ::close(fd);
    ::unlink(link.c_str());
    return s;
  }
  // The old temporary is gone; Commit() fsyncs the linked file through this.
  ::close(std::exchange(fd_, fd));
  return Status::Ok();
}

Status InstallFileAtomically(const fs::path& source, const fs::path& dest, unsigned mode,
                             bool may_share, bool may_link) {
  // A clone where the filesystem can make one (a file of its own), else a link if allowed.
  if (may_link && !(may_share && CanShareBlocksInto(source.parent_path(), dest.parent_path())) &&
      CanHardLinkInto(source.parent_path(), dest.parent_path())) {
    auto staged = StagedFile::Create(dest, mode);
    if (!staged) return staged.error();
    if (staged->LinkTo(source)) return staged->Commit();
  }
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno(source, "open");
  struct stat st {};
  if (::fstat(in, &st) != 0) {
    ::close(in);
    return Errno(source, "stat");
  }
  Status s = WriteThenRename(dest, mode, [&](int out) -> Status {
    return CopyFileContents(in, out, static_cast<uint64_t>(st.st_size), source, dest, may_share);
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
