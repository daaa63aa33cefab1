#include "core/file_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace shoal::ingest {
namespace {

std::string Errno(int err) { return std::strerror(err); }

// Fills `buf` from `fd` unless EOF comes first; returns the bytes read, or -errno.
ssize_t ReadFull(int fd, std::span<uint8_t> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace

Result<SourceFile> SourceFile::Open(const std::filesystem::path& path) {
  const std::string where = path.string();
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then rejected below); it has
  // no effect on reads from a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error::of(where, "cannot open: " + Errno(errno));
  SourceFile file(path, fd, 0);
  struct stat st;
  if (::fstat(fd, &st) != 0) return Error::of(where, "cannot stat: " + Errno(errno));
  if (S_ISDIR(st.st_mode)) return Error::of(where, "is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return Error::of(where, "not a regular file");
  file.size_ = static_cast<uint64_t>(st.st_size);
  // Doubles the kernel's read-ahead. Plain buffered reads, not O_DIRECT: the file was usually
  // just written (ingest) or downloaded (node) and sits in the page cache.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return file;
}

SourceFile::SourceFile(SourceFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

SourceFile::~SourceFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status SourceFile::StreamInto(BufferRing& ring, const ProgressFn& progress) {
  const std::string where = path_.string();
  std::optional<Error> failure;
  const auto grew = [&] {
    return Error::of(where, "file changed size while being read (grew past its " +
                                std::to_string(size_) + " bytes at open)");
  };
  uint64_t done = 0;
  for (;;) {
    std::span<uint8_t> buf = ring.AcquireForWrite();
    ssize_t n = ReadFull(fd_, buf);
    if (n < 0) {
      failure = Error::of(where, "read failed at offset " + std::to_string(done) + ": " +
                                     Errno(static_cast<int>(-n)));
      break;
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
    if (done > size_) {  // checked before consumers see more than the size seen at open
      failure = grew();
      break;
    }
    ring.Publish(static_cast<size_t>(n));
    if (progress) progress(done, size_);
    if (static_cast<size_t>(n) < buf.size()) {
      // Short read: EOF. Data after it means the file grew; it must not reach the consumers,
      // which take a short chunk only as the last one.
      char probe;
      ssize_t m;
      do m = ::read(fd_, &probe, 1);
      while (m < 0 && errno == EINTR);
      if (m < 0) failure = Error::of(where, "read failed at EOF: " + Errno(errno));
      if (m > 0) failure = grew();
      break;
    }
  }
  if (!failure && done != size_) {
    failure = Error::of(where, "file changed size while being read (" + std::to_string(size_) +
                                   " bytes at open, " + std::to_string(done) + " read)");
  }
  if (failure) {
    ring.Abort();
    return *failure;
  }
  ring.Close();
  return Status::Ok();
}

void ConsumeDigest(BufferRing& ring, int id, const EVP_MD* md, std::span<uint8_t> out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  while (auto buf = ring.Next(id)) {
    EVP_DigestUpdate(ctx, buf->data(), buf->size());
    ring.Release(id);
  }
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
}

}  // namespace shoal::ingest
