#include "core/units.h"

#include <charconv>
#include <string_view>

namespace shoal {

int ByteSuffixShift(std::string_view suffix) {
  return suffix.empty()                   ? 0
         : suffix == "K" || suffix == "k" ? 10
         : suffix == "M" || suffix == "m" ? 20
         : suffix == "G" || suffix == "g" ? 30
         : suffix == "T" || suffix == "t" ? 40
                                          : -1;
}

Result<uint64_t> ParseByteSize(const std::string& text) {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) return Error::of(text, "want bytes, e.g. 20G");
  std::string_view suffix(ptr, text.data() + text.size() - ptr);
  int shift = ByteSuffixShift(suffix);
  if (shift < 0) return Error::of(text, "want bytes with an optional K, M, G or T suffix");
  if (n > (UINT64_MAX >> shift)) return Error::of(text, "too large");
  return n << shift;
}

Result<int64_t> ParseAgeMs(const std::string& text) {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  if (ec != std::errc() || ptr == text.data() || unit.size() != 1) {
    return Error::of(text, "want a number and a unit d, h, m or s, e.g. 30d");
  }
  const int64_t unit_ms = unit == "d"   ? 86'400'000
                          : unit == "h" ? 3'600'000
                          : unit == "m" ? 60'000
                          : unit == "s" ? 1'000
                                        : 0;
  if (unit_ms == 0) return Error::of(text, "want a unit d, h, m or s, e.g. 30d");
  if (n == 0) return Error::of(text, "must be more than zero");
  if (n > static_cast<uint64_t>(INT64_MAX / unit_ms)) return Error::of(text, "too large");
  return static_cast<int64_t>(n) * unit_ms;
}

}  // namespace shoal
