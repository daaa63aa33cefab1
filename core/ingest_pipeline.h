// HashFile's knobs, for tests (force the portable SHA-256 path) and benchmarks (buffer sizes).
// Production code calls HashFile() in core/ingest.h, which uses the defaults.
#pragma once

#include <cstddef>

#include "core/ingest.h"

namespace shoal::ingest {

struct PipelineOptions {
  // Read size and ring depth. Measured here (1 GiB in page cache, 2 cores): 4 MiB x 4 is at
  // the plateau; smaller buffers add wake-ups, larger ones fall out of L2/L3 between digests.
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
