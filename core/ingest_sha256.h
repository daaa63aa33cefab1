// SHA-256 of a whole stream and of each 16 KiB block of it (BitTorrent v2's merkle leaves),
// computed together in one pass over the bytes.
//
// Why together: ingest needs two full SHA-256 passes over every byte (the content address and
// the BEP 52 leaves). Both absorb the same 64-byte message blocks at the same offsets (blocks
// start at multiples of 16 KiB), so with the x86 SHA extensions the message schedule is computed
// once and the rounds of the two states are interleaved; the SHA-NI round instruction has more
// latency than throughput, so the second state costs little (measured here: two digests at
// ~1.24 GB/s of input against ~1.55 GB/s for one; a whole HashFile of 1 GiB takes 2.7 CPU-s
// instead of 3.15). Without SHA-NI, OpenSSL does both passes.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/digest.h"

namespace shoal::ingest {

inline constexpr size_t kLeafBlockSize = 16 * 1024;  // BEP 52: merkle leaves cover 16 KiB

// True when this CPU has the SHA and SSE4.1 extensions the fast path needs.
bool CpuHasShaNi();

class StreamAndBlockSha256 {
 public:
  enum class Impl { kAuto, kPortable };  // kPortable forces OpenSSL (tests cover both paths)

  explicit StreamAndBlockSha256(Impl impl = Impl::kAuto);
  ~StreamAndBlockSha256();
  StreamAndBlockSha256(const StreamAndBlockSha256&) = delete;
  StreamAndBlockSha256& operator=(const StreamAndBlockSha256&) = delete;

  // Feeds the next bytes of the stream and appends the hash of every 16 KiB block they complete
  // (and of a final short block) to `block_hashes`.
  // REQUIRES: every call but the last passes a multiple of kLeafBlockSize bytes; after a call
  // with any other size, only Finish() may follow (a violation throws std::logic_error).
  void Update(std::span<const uint8_t> data, std::vector<Sha256>& block_hashes);

  // Returns SHA-256 of everything fed. Call once.
  Sha256 Finish();

  // SHA-256(left || right): an interior merkle node.
  Sha256 HashChildren(const Sha256& left, const Sha256& right);

  bool uses_sha_ni() const { return sha_ni_; }

 private:
  struct EvpCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  struct EvpMdFree {
    void operator()(EVP_MD* md) const { EVP_MD_free(md); }
  };
  using EvpCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpCtxFree>;

  void UpdateShaNi(std::span<const uint8_t> data, std::vector<Sha256>& block_hashes);
  void UpdatePortable(std::span<const uint8_t> data, std::vector<Sha256>& block_hashes);

  bool sha_ni_;
  bool ended_ = false;  // a short (final) chunk was fed
  uint64_t total_ = 0;
  // SHA-NI path: the whole-stream state and the bytes past its last full 64-byte block.
  std::array<uint32_t, 8> whole_state_;
  std::array<uint8_t, 64> whole_tail_{};
  size_t whole_tail_len_ = 0;
  // Portable path.
  std::unique_ptr<EVP_MD, EvpMdFree> md_;
  EvpCtxPtr whole_ctx_, block_ctx_;
};

}  // namespace shoal::ingest
