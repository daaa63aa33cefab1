#include "core/prefix_digest.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/file_copy.h"

namespace shoal {
namespace {
constexpr size_t kChunk = 1 << 20;

std::string ErrnoText(int err) { return std::strerror(err); }
}  // namespace

PrefixDigest::PrefixDigest(std::filesystem::path file, std::shared_ptr<const PieceCache> cache,
                           bool share_blocks, bool link_sinks)
    : path_(std::move(file)),
      cache_(std::move(cache)),
      cache_key_(path_.lexically_normal().string()),
      share_blocks_(share_blocks),
      link_sinks_(link_sinks),
      sha256_(EVP_MD_CTX_new()),
      md5_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(sha256_, EVP_sha256(), nullptr);
  EVP_DigestInit_ex(md5_, EVP_md5(), nullptr);
}

PrefixDigest::~PrefixDigest() {
  if (fd_ >= 0) ::close(fd_);
  EVP_MD_CTX_free(sha256_);
  EVP_MD_CTX_free(md5_);
}

bool PrefixDigest::OpenFile() {
  if (fd_ >= 0) return true;
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) error_ = Error::of(path_.string(), "open: " + ErrnoText(errno));
  return fd_ >= 0;
}

void PrefixDigest::WriteSink(Sink& sink, const char* data, size_t len, uint64_t offset) {
  if (!sink.status) return;
  size_t done = 0;
  while (done < len) {
    ssize_t n =
        ::pwrite(sink.file.fd(), data + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sink.status = Error::of(sink.file.dest().string(), "write: " + ErrnoText(errno));
      return;
    }
    done += static_cast<size_t>(n);
  }
  // Start writeback now (no waiting): the commit's fsync then finds little dirty data.
  ::sync_file_range(sink.file.fd(), static_cast<off_t>(offset), static_cast<off_t>(len),
                    SYNC_FILE_RANGE_WRITE);
}

Status PrefixDigest::AdvanceTo(uint64_t end) {
  if (error_) return *error_;
  if (end <= digested_) return Status::Ok();
  const uint64_t start = digested_;
  while (digested_ < end) {
    if (cache_) {
      if (auto found = cache_->Find(cache_key_, digested_)) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(found->size(), end - digested_));
        Digest(found->data(), n);
        from_memory_ += n;
        continue;
      }
    }
    if (!OpenFile()) return *error_;
    buf_.resize(kChunk);
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, end - digested_));
    ssize_t n = ::pread(fd_, buf_.data(), want, static_cast<off_t>(digested_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = Error::of(path_.string(), "read at offset " + std::to_string(digested_) + ": " +
                                             (n == 0 ? "file is shorter than its verified pieces"
                                                     : ErrnoText(errno)));
      return *error_;
    }
    Digest(buf_.data(), static_cast<size_t>(n));
  }
  StartWriteback(start, digested_);
  return Status::Ok();
}

void PrefixDigest::StartWriteback(uint64_t from, uint64_t to) {
  // Sharing the file's blocks first writes its dirty pages out (XFS, Btrfs), and a linked
  // install's commit fsyncs the file itself: start that now, as the copies' writes are started
  // as they go, so that the install at the end finds little left.
  const bool sharing = std::any_of(sinks_.begin(), sinks_.end(), [](const Sink& s) {
    return (s.shares_blocks || s.links) && s.status;
  });
  if (sharing && to > from && OpenFile())
    ::sync_file_range(fd_, static_cast<off_t>(from), static_cast<off_t>(to - from),
                      SYNC_FILE_RANGE_WRITE);
}

void PrefixDigest::Digest(const char* data, size_t len) {
  EVP_DigestUpdate(sha256_, data, len);
  EVP_DigestUpdate(md5_, data, len);
  for (Sink& sink : sinks_)
    if (sink.written()) WriteSink(sink, data, len, digested_);
  digested_ += len;
}

void PrefixDigest::AddSink(StagedFile file) {
  Sink& sink = sinks_.emplace_back(Sink{std::move(file), Status::Ok()});
  // A clone first: as free as a link where the filesystem can make one, and a file of its own.
  sink.shares_blocks = share_blocks_ && CanShareBlocks(path_.parent_path(), sink.file.fd());
  sink.links = !sink.shares_blocks && link_sinks_ &&
               CanHardLinkInto(path_.parent_path(), sink.file.dest().parent_path());
  if (!sink.written()) StartWriteback(0, digested_);
  if (!sink.written() || digested_ == 0) return;
  if (!OpenFile()) {
    sink.status = *error_;
    return;
  }
  buf_.resize(kChunk);
  for (uint64_t at = 0; at < digested_ && sink.status;) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, digested_ - at));
    ssize_t n = ::pread(fd_, buf_.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      sink.status = Error::of(path_.string(),
                              "read for the copy to " + sink.file.dest().string() + " failed");
      break;
    }
    WriteSink(sink, buf_.data(), static_cast<size_t>(n), at);
    at += static_cast<uint64_t>(n);
  }
}

void PrefixDigest::FillSharedSinks() {
  for (Sink& sink : sinks_) {
    if (sink.written() || !sink.status) continue;
    if (sink.links) {
      Status linked = sink.file.LinkTo(path_);
      if (linked) continue;
      // Refused (another install's mode, a failed link): copied instead, as without links.
      // (A sink is only linked where AddSink found that it cannot share blocks.)
      sink.links = false;
    }
    if (!OpenFile()) {
      sink.status = *error_;
      continue;
    }
    sink.status =
        CopyFileContents(fd_, sink.file.fd(), digested_, path_, sink.file.dest(), share_blocks_);
  }
}

std::pair<Sha256, Md5> PrefixDigest::Final() {
  std::pair<Sha256, Md5> out;
  EVP_DigestFinal_ex(sha256_, out.first.bytes.data(), nullptr);
  EVP_DigestFinal_ex(md5_, out.second.bytes.data(), nullptr);
  return out;
}

}  // namespace shoal
