#include "tracker/registry.h"

#include <openssl/crypto.h>

namespace shoal::tracker {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}
}  // namespace

Result<size_t> Registry::Register(std::string_view authorization, std::string_view body) {
  if (!key_) return Error{"this tracker is open: nothing to register"};
  const std::string want = "Bearer " + *key_;
  if (authorization.size() != want.size() ||
      CRYPTO_memcmp(authorization.data(), want.data(), want.size()) != 0) {
    return Error{"registration refused: missing or wrong key"};
  }
  std::set<InfoHash> adding;
  size_t line_no = 0;
  while (!body.empty()) {
    ++line_no;
    auto nl = body.find('\n');
    std::string_view line = Trim(body.substr(0, nl));
    body = nl == std::string_view::npos ? std::string_view() : body.substr(nl + 1);
    if (line.empty()) continue;
    if (line.size() != 40 && line.size() != 64) {
      return Error{"line " + std::to_string(line_no) + ": want 40 or 64 hex digits"};
    }
    InfoHash h;
    for (size_t i = 0; i < h.bytes.size(); ++i) {
      int hi = HexValue(line[2 * i]), lo = HexValue(line[2 * i + 1]);
      if (hi < 0 || lo < 0) return Error{"line " + std::to_string(line_no) + ": not hex"};
      h.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    for (size_t i = 40; i < line.size(); ++i) {
      if (HexValue(line[i]) < 0) return Error{"line " + std::to_string(line_no) + ": not hex"};
    }
    adding.insert(h);
  }
  size_t added = 0;
  for (const auto& h : adding) added += hashes_.insert(h).second ? 1 : 0;
  return added;
}

}  // namespace shoal::tracker
