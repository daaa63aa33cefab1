// HashFile's knobs, for tests (force the portable SHA-256 path) and benchmarks (buffer sizes).
// Production code calls HashFile() in core/ingest.h, which uses the defaults.
#pragma once

#include <cstddef>

#include "core/ingest.h"

namespace shoal::ingest {

struct PipelineOptions {
  // Read size and ring depth. Measured here (1 GiB in page cache, 2 cores): 1-8 MiB buffers
  // with 2-8 of them all run at MD5's pace within noise; 256 KiB x 16 is ~10% slower (more
  // wake-ups). 4 x 4 MiB = 16 MiB of memory per ingest.
  size_t buffer_size = 4 << 20;
  int buffers = 4;
  // Use OpenSSL for both SHA-256 passes even when the CPU has SHA-NI.
  bool portable_sha256 = false;
};

// HashFile() with explicit options; fails unless buffer_size is a multiple of 16 KiB and
// buffers >= 1.
Result<IngestDigests> HashFileWith(const std::filesystem::path& path, int piece_size,
                                   const ProgressFn& progress, const PipelineOptions& options);

}  // namespace shoal::ingest
