// One-pass ingest: the calling thread reads the file into a ring of buffers (core/ingest_ring.h)
// while two digest threads consume every buffer side by side:
//   - MD5 alone: it is the slowest digest (~0.7 GB/s here, and inherently serial), so it gets a
//     core to itself and bounds the throughput;
//   - everything else: whole-file SHA-256 and the 16 KiB leaf SHA-256s in one interleaved SHA-NI
//     pass (core/ingest_sha256.h), the per-piece merkle roots, and xxh3-128 (~15 GB/s).
// On 2 cores the second thread plus the reader's copy from the page cache fit in the time MD5
// needs, so ingest runs at about the speed of MD5 alone (bench/hash_bench.cc measures it).
#include "core/ingest.h"

#include <openssl/evp.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <thread>

#include "core/file_stream.h"
#include "core/ingest_merkle.h"
#include "core/ingest_pipeline.h"
#include "core/ingest_ring.h"
#include "core/ingest_sha256.h"

namespace shoal {

// Aim for about 1000 pieces (between ~770 and 1536): with fewer, larger pieces a peer waits
// longer before it holds a whole verified piece it can serve (swarm start-up is slower) and
// rarest-first has little to choose from; with many small pieces the per-piece costs grow (HAVE
// messages, bitfields, picker state, hash requests, 32 bytes of piece layer each). For 256 MiB
// this gives 256 KiB pieces (1024 of them). 16 KiB is BEP 52's minimum (one merkle leaf); the
// 16 MiB cap keeps a single piece cheap to buffer and re-fetch on a hash failure, so files
// beyond ~24 GiB simply get more pieces.
int ChoosePieceSize(uint64_t file_size) {
  constexpr uint64_t kTargetMaxPieces = 1536;
  constexpr uint64_t kMin = 16 << 10, kMax = 16 << 20;
  uint64_t piece = kMin;
  while (piece < kMax && (file_size + piece - 1) / piece > kTargetMaxPieces) piece *= 2;
  return static_cast<int>(piece);
}

Result<IngestDigests> HashFile(const std::filesystem::path& path, int piece_size,
                               const ProgressFn& progress) {
  return ingest::HashFileWith(path, piece_size, progress, ingest::PipelineOptions{});
}

namespace ingest {
namespace {

// Whole-file SHA-256, the piece layer and xxh3-128.
void ShaWorker(BufferRing& ring, int id, IngestDigests& out, bool portable) {
  StreamAndBlockSha256 sha(portable ? StreamAndBlockSha256::Impl::kPortable
                                    : StreamAndBlockSha256::Impl::kAuto);
  PieceLayerBuilder layer(out.size, out.piece_size, [&sha](const Sha256& l, const Sha256& r) {
    return sha.HashChildren(l, r);
  });
  XXH3_state_t* xxh = XXH3_createState();
  XXH3_128bits_reset(xxh);
  std::vector<Sha256> blocks;
  // Slices of 256 KiB stay in L2 between the SHA pass and the xxh3 pass over them.
  constexpr size_t kSlice = 256 << 10;
  while (auto buf = ring.Next(id)) {
    for (size_t off = 0; off < buf->size(); off += kSlice) {
      auto slice = buf->subspan(off, std::min(kSlice, buf->size() - off));
      blocks.clear();
      sha.Update(slice, blocks);
      layer.AddBlocks(blocks);
      XXH3_128bits_update(xxh, slice.data(), slice.size());
    }
    ring.Release(id);
  }
  out.sha256 = sha.Finish();
  out.piece_roots = layer.Finish();
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(xxh));
  std::copy(std::begin(canon.digest), std::end(canon.digest), out.xxh3.bytes.begin());
  XXH3_freeState(xxh);
}

}  // namespace

Result<IngestDigests> HashFileWith(const std::filesystem::path& path, int piece_size,
                                   const ProgressFn& progress, const PipelineOptions& options) {
  const std::string where = path.string();
  if (piece_size != 0 && (piece_size < static_cast<int>(kLeafBlockSize) ||
                          !std::has_single_bit(static_cast<unsigned>(piece_size)))) {
    return Error::of(
        where, "piece size " + std::to_string(piece_size) + " is not a power of two >= 16 KiB");
  }
  if (options.buffers < 1 || options.buffer_size == 0 ||
      options.buffer_size % kLeafBlockSize != 0) {
    return Error::of(where, "buffer size must be a positive multiple of 16 KiB");
  }
  auto source = SourceFile::Open(path);
  if (!source) return source.error();

  IngestDigests out;
  out.size = source->size();
  out.piece_size = piece_size != 0 ? piece_size : ChoosePieceSize(out.size);

  BufferRing ring(options.buffers, options.buffer_size, 2);
  std::jthread md5_thread(ConsumeDigest, std::ref(ring), 0, EVP_md5(), std::span(out.md5.bytes));
  std::jthread sha_thread(ShaWorker, std::ref(ring), 1, std::ref(out), options.portable_sha256);

  if (auto streamed = source->StreamInto(ring, progress); !streamed) {
    return streamed.error();  // the ring is aborted; the jthreads join on the way out
  }
  md5_thread.join();
  sha_thread.join();
  return out;
}

}  // namespace ingest
}  // namespace shoal
