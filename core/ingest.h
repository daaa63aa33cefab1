// Ingest hashing: every digest an artifact needs, from one streaming read of the file.
//
// One pass yields SHA-256 (the content address), MD5 (the end-to-end check operators know),
// xxh3-128, and the BitTorrent v2 piece layer (per-piece SHA-256 merkle roots over 16 KiB
// blocks, BEP 52). The digests run side by side on separate threads fed from shared read
// buffers, so the slowest digest, not their sum, bounds the throughput.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/result.h"

namespace shoal {

struct IngestDigests {
  uint64_t size = 0;
  Sha256 sha256;
  Md5 md5;
  Xxh3_128 xxh3;
  int piece_size = 0;               // bytes; a power of two >= 16 KiB
  std::vector<Sha256> piece_roots;  // BEP 52 piece layer: one merkle root per piece
};

// Called from the reading thread after each buffer; `done` bytes of `total` read.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// Picks the piece size for a file: large enough to keep the piece count (and so the torrent
// and the per-piece bookkeeping) small, small enough for peers to start trading early.
int ChoosePieceSize(uint64_t file_size);

// Streams `path` once and returns all digests. `piece_size` 0 means ChoosePieceSize().
// Fails (naming the path) if the file cannot be opened or read, or changes size while read.
Result<IngestDigests> HashFile(const std::filesystem::path& path, int piece_size = 0,
                               const ProgressFn& progress = nullptr);

// Builds a BitTorrent v2-only torrent (bencoded .torrent bytes) for a single file named `name`
// from precomputed digests, with libtorrent's create_torrent: no second read of the file.
Result<std::vector<char>> MakeTorrent(const IngestDigests& digests, const std::string& name);

}  // namespace shoal
