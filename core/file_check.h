// The node's last step before it exposes a download: one read of the file computes its SHA-256
// and MD5 (to compare with the artifact's) and, from the same buffers, writes copies into staged
// destination files. Checking and installing then cost one pass over the data, not two, and the
// copies are committed (renamed into place) by the caller only if the digests match.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "core/digest.h"
#include "core/result.h"

namespace shoal {

struct FileCheck {
  uint64_t size = 0;
  Sha256 sha256;
  Md5 md5;
  std::vector<Status> copies;  // one per copy fd: whether every byte was written
};

// Reads `source` once; digests it and writes it to each of `copy_fds` (opened for writing, at
// offset 0), asking the kernel to start writing each buffer back at once so that a later fsync
// has little left to wait for. A failed copy (e.g. ENOSPC) does not stop the others or the
// digests. Fails if `source` cannot be read or changes size while read.
Result<FileCheck> CheckAndCopyFile(const std::filesystem::path& source,
                                   std::span<const int> copy_fds);

}  // namespace shoal
