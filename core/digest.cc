#include "core/digest.h"

namespace shoal {
namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

Status FromHex(std::string_view hex, std::span<uint8_t> out) {
  if (hex.size() != out.size() * 2) {
    return Error{"expected " + std::to_string(out.size() * 2) + " hex digits, got " +
                 std::to_string(hex.size())};
  }
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error{"invalid hex digit at offset " + std::to_string(2 * i)};
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Status::Ok();
}

Result<ArtifactId> ArtifactId::Parse(std::string_view text) {
  std::string_view hex = text;
  if (hex.starts_with(kPrefix)) hex.remove_prefix(kPrefix.size());
  auto digest = Sha256::FromHexString(hex);
  if (!digest) {
    return Error::of("artifact id '" + std::string(text.substr(0, 80)) + "'",
                     digest.error().message + " (want sha256:<64 hex>)");
  }
  return ArtifactId{*digest};
}

}  // namespace shoal
