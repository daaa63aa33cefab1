// Reading a file once for several consumers: SourceFile streams a regular file into a
// BufferRing (core/ingest_ring.h), and ConsumeDigest is the consumer loop for any OpenSSL digest.
// Ingest (core/ingest.cc) and the node's check-and-install (core/file_check.cc) share them.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <span>

#include "core/ingest.h"
#include "core/ingest_ring.h"
#include "core/result.h"

namespace shoal::ingest {

class SourceFile {
 public:
  // Opens `path` for one sequential read; fails (naming it) unless it is a readable regular file.
  static Result<SourceFile> Open(const std::filesystem::path& path);
  ~SourceFile();
  SourceFile(SourceFile&& other) noexcept;
  SourceFile& operator=(SourceFile&&) = delete;

  uint64_t size() const { return size_; }  // at open

  // Publishes the whole file into `ring`, then closes the ring. On a read error, or if the file
  // changes size while read, aborts the ring (consumers stop without a result) and fails.
  Status StreamInto(BufferRing& ring, const ProgressFn& progress = nullptr);

 private:
  SourceFile(std::filesystem::path path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Consumer `id` of `ring`: digests every buffer with `md` and writes the digest to `out`
// (which must be EVP_MD_size(md) bytes).
void ConsumeDigest(BufferRing& ring, int id, const EVP_MD* md, std::span<uint8_t> out);

}  // namespace shoal::ingest
