#include "core/ingest_sha256.h"

#include <immintrin.h>

#include <cstring>
#include <stdexcept>

namespace shoal::ingest {
namespace {

constexpr std::array<uint32_t, 8> kInitialState = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

alignas(16) constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define SHOAL_SHA_NI __attribute__((target("sha,sse4.1,ssse3")))

// SHA-NI keeps the eight state words as two vectors, ABEF and CDGH.
struct NiState {
  __m128i abef, cdgh;
};

SHOAL_SHA_NI NiState LoadState(const uint32_t* s) {
  __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), 0xB1);
  __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 4)), 0x1B);
  return {_mm_alignr_epi8(dcba, efgh, 8), _mm_blend_epi16(efgh, dcba, 0xF0)};
}

SHOAL_SHA_NI void StoreState(NiState st, uint32_t* s) {
  __m128i feba = _mm_shuffle_epi32(st.abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(st.cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s + 4), _mm_alignr_epi8(dchg, feba, 8));
}

// Absorbs `blocks` 64-byte message blocks into each of the N states: the message schedule is
// computed once per block and the N round chains are interleaved.
template <int N>
SHOAL_SHA_NI void Compress(uint32_t* const (&states)[N], const uint8_t* p, size_t blocks) {
  const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  NiState st[N];
  for (int i = 0; i < N; ++i) st[i] = LoadState(states[i]);
  for (; blocks > 0; --blocks, p += 64) {
    NiState saved[N];
    for (int i = 0; i < N; ++i) saved[i] = st[i];
    __m128i w[4];  // the last four schedule vectors: W[4t .. 4t+3]
#pragma GCC unroll 16
    for (int t = 0; t < 16; ++t) {
      __m128i m;
      if (t < 4) {
        m = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * t)),
                             byteswap);
      } else {
        __m128i s0 = _mm_sha256msg1_epu32(w[t & 3], w[(t + 1) & 3]);
        __m128i mid = _mm_alignr_epi8(w[(t + 3) & 3], w[(t + 2) & 3], 4);
        m = _mm_sha256msg2_epu32(_mm_add_epi32(s0, mid), w[(t + 3) & 3]);
      }
      w[t & 3] = m;
      __m128i wk = _mm_add_epi32(
          m, _mm_load_si128(reinterpret_cast<const __m128i*>(&kRoundConstants[4 * t])));
      __m128i wk_hi = _mm_shuffle_epi32(wk, 0x0E);
      for (int i = 0; i < N; ++i) st[i].cdgh = _mm_sha256rnds2_epu32(st[i].cdgh, st[i].abef, wk);
      for (int i = 0; i < N; ++i) st[i].abef = _mm_sha256rnds2_epu32(st[i].abef, st[i].cdgh, wk_hi);
    }
    for (int i = 0; i < N; ++i) {
      st[i].abef = _mm_add_epi32(st[i].abef, saved[i].abef);
      st[i].cdgh = _mm_add_epi32(st[i].cdgh, saved[i].cdgh);
    }
  }
  for (int i = 0; i < N; ++i) StoreState(st[i], states[i]);
}

// Pads `tail` (< 64 bytes, the end of a message of `total` bytes), absorbs it and returns the
// digest. `state` is consumed.
Sha256 FinalizeNi(std::array<uint32_t, 8> state, const uint8_t* tail, size_t tail_len,
                  uint64_t total) {
  uint8_t pad[128] = {};
  if (tail_len > 0) std::memcpy(pad, tail, tail_len);
  pad[tail_len] = 0x80;
  size_t len = tail_len + 1 + 8 <= 64 ? 64 : 128;
  uint64_t bits = total * 8;
  for (int i = 0; i < 8; ++i) pad[len - 1 - i] = static_cast<uint8_t>(bits >> (8 * i));
  uint32_t* const one[1] = {state.data()};
  Compress<1>(one, pad, len / 64);
  Sha256 out;
  for (int i = 0; i < 8; ++i) {
    for (int b = 0; b < 4; ++b)
      out.bytes[4 * i + b] = static_cast<uint8_t>(state[i] >> (24 - 8 * b));
  }
  return out;
}

Sha256 EvpFinal(EVP_MD_CTX* ctx) {
  Sha256 out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out.bytes.data(), &len);
  return out;
}

}  // namespace

bool CpuHasShaNi() {
  return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") &&
         __builtin_cpu_supports("ssse3");
}

StreamAndBlockSha256::StreamAndBlockSha256(Impl impl)
    : sha_ni_(impl == Impl::kAuto && CpuHasShaNi()), whole_state_(kInitialState) {
  if (!sha_ni_) {
    // Fetched once: in OpenSSL 3 an implicit fetch per EVP_DigestInit costs more than hashing a
    // merkle node.
    md_.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    whole_ctx_.reset(EVP_MD_CTX_new());
    block_ctx_.reset(EVP_MD_CTX_new());
    if (!md_ || !whole_ctx_ || !block_ctx_ ||
        !EVP_DigestInit_ex2(whole_ctx_.get(), md_.get(), nullptr)) {
      throw std::runtime_error("OpenSSL SHA-256 unavailable");  // a broken install, not input
    }
  }
}

StreamAndBlockSha256::~StreamAndBlockSha256() = default;

void StreamAndBlockSha256::Update(std::span<const uint8_t> data,
                                  std::vector<Sha256>& block_hashes) {
  if (ended_) throw std::logic_error("StreamAndBlockSha256: Update after a short chunk");
  if (data.empty()) return;
  ended_ = data.size() % kLeafBlockSize != 0;
  total_ += data.size();
  if (sha_ni_) {
    UpdateShaNi(data, block_hashes);
  } else {
    UpdatePortable(data, block_hashes);
  }
}

void StreamAndBlockSha256::UpdateShaNi(std::span<const uint8_t> data,
                                       std::vector<Sha256>& block_hashes) {
  const uint8_t* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    size_t n = std::min(left, kLeafBlockSize);
    std::array<uint32_t, 8> block_state = kInitialState;
    uint32_t* const both[2] = {whole_state_.data(), block_state.data()};
    Compress<2>(both, p, n / 64);
    size_t full = n / 64 * 64;
    block_hashes.push_back(FinalizeNi(block_state, p + full, n - full, n));
    // Only the last chunk of the stream can end off a 64-byte boundary.
    whole_tail_len_ = n - full;
    std::memcpy(whole_tail_.data(), p + full, whole_tail_len_);
    p += n;
    left -= n;
  }
}

void StreamAndBlockSha256::UpdatePortable(std::span<const uint8_t> data,
                                          std::vector<Sha256>& block_hashes) {
  EVP_DigestUpdate(whole_ctx_.get(), data.data(), data.size());
  for (size_t off = 0; off < data.size(); off += kLeafBlockSize) {
    size_t n = std::min(kLeafBlockSize, data.size() - off);
    EVP_DigestInit_ex2(block_ctx_.get(), md_.get(), nullptr);
    EVP_DigestUpdate(block_ctx_.get(), data.data() + off, n);
    block_hashes.push_back(EvpFinal(block_ctx_.get()));
  }
}

Sha256 StreamAndBlockSha256::Finish() {
  if (sha_ni_) return FinalizeNi(whole_state_, whole_tail_.data(), whole_tail_len_, total_);
  return EvpFinal(whole_ctx_.get());
}

Sha256 StreamAndBlockSha256::HashChildren(const Sha256& left, const Sha256& right) {
  uint8_t msg[64];
  std::memcpy(msg, left.bytes.data(), 32);
  std::memcpy(msg + 32, right.bytes.data(), 32);
  if (sha_ni_) {
    std::array<uint32_t, 8> state = kInitialState;
    uint32_t* const one[1] = {state.data()};
    Compress<1>(one, msg, 1);
    return FinalizeNi(state, nullptr, 0, 64);
  }
  EVP_DigestInit_ex2(block_ctx_.get(), md_.get(), nullptr);
  EVP_DigestUpdate(block_ctx_.get(), msg, sizeof msg);
  return EvpFinal(block_ctx_.get());
}

}  // namespace shoal::ingest
