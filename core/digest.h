// Fixed-size digests and their text forms. An artifact is addressed by `sha256:<64 hex>`.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace shoal {

std::string ToHex(std::span<const uint8_t> bytes);
// Parses exactly `out.size()` bytes of lower- or upper-case hex; fails on any other length.
Status FromHex(std::string_view hex, std::span<uint8_t> out);

template <size_t N, typename Tag>
struct FixedDigest {
  std::array<uint8_t, N> bytes{};

  static constexpr size_t kSize = N;
  std::string hex() const { return ToHex(bytes); }
  static Result<FixedDigest> FromHexString(std::string_view hex) {
    FixedDigest d;
    if (auto s = FromHex(hex, d.bytes); !s) return s.error();
    return d;
  }
  auto operator<=>(const FixedDigest&) const = default;
};

using Sha256 = FixedDigest<32, struct Sha256Tag>;
using Md5 = FixedDigest<16, struct Md5Tag>;
using Xxh3_128 = FixedDigest<16, struct Xxh3Tag>;

// The content address of an artifact: SHA-256 of its bytes, written `sha256:<hex>`.
struct ArtifactId {
  Sha256 sha256;

  static constexpr std::string_view kPrefix = "sha256:";
  std::string str() const { return std::string(kPrefix) + sha256.hex(); }
  std::string hex() const { return sha256.hex(); }
  // Accepts `sha256:<64 hex>` or bare 64 hex; anything else is an error naming the input.
  static Result<ArtifactId> Parse(std::string_view text);
  auto operator<=>(const ArtifactId&) const = default;
};

}  // namespace shoal
