#include "core/file_check.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/file_stream.h"

namespace shoal {
namespace {

// 4 x 4 MiB, as ingest (core/ingest_pipeline.h): enough to keep every consumer busy.
constexpr size_t kBufferSize = 4 << 20;
constexpr int kBuffers = 4;

void CopyConsumer(ingest::BufferRing& ring, int id, int fd, Status& result) {
  off_t offset = 0;
  while (auto buf = ring.Next(id)) {
    size_t done = 0;
    while (result && done < buf->size()) {
      ssize_t n = ::write(fd, buf->data() + done, buf->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        result = Error::of("", std::string("write: ") + std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
    if (result) {
      // Start writeback now (no waiting): the final fsync then finds little dirty data.
      ::sync_file_range(fd, offset, static_cast<off_t>(done), SYNC_FILE_RANGE_WRITE);
      offset += static_cast<off_t>(done);
    }
    ring.Release(id);  // a failed copy keeps draining: the digests and other copies go on
  }
}

}  // namespace

Result<FileCheck> CheckAndCopyFile(const std::filesystem::path& source,
                                   std::span<const int> copy_fds) {
  auto file = ingest::SourceFile::Open(source);
  if (!file) return file.error();
  FileCheck out;
  out.size = file->size();
  out.copies.resize(copy_fds.size());

  const int consumers = 2 + static_cast<int>(copy_fds.size());
  ingest::BufferRing ring(kBuffers, kBufferSize, consumers);
  std::vector<std::jthread> threads;
  threads.emplace_back(ingest::ConsumeDigest, std::ref(ring), 0, EVP_md5(),
                       std::span<uint8_t>(out.md5.bytes));
  threads.emplace_back(ingest::ConsumeDigest, std::ref(ring), 1, EVP_sha256(),
                       std::span<uint8_t>(out.sha256.bytes));
  for (size_t i = 0; i < copy_fds.size(); ++i) {
    threads.emplace_back(CopyConsumer, std::ref(ring), 2 + static_cast<int>(i), copy_fds[i],
                         std::ref(out.copies[i]));
  }
  Status streamed = file->StreamInto(ring);
  threads.clear();  // joins
  if (!streamed) return streamed.error();
  return out;
}

}  // namespace shoal
