#include "core/swarm_picking.h"

#include <algorithm>
#include <cctype>

namespace shoal {
namespace {
constexpr uint8_t kStripe = 7, kDefault = 4;  // libtorrent's default is 4

double VanDerCorput(uint64_t k) {
  double value = 0, unit = 0.5;
  for (; k != 0; k >>= 1, unit /= 2)
    if (k & 1) value += unit;
  return value;
}
}  // namespace

std::optional<uint64_t> TrailingNumber(std::string_view name, size_t max_digits) {
  size_t digits = name.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1]))) --digits;
  const std::string_view number = name.substr(digits);
  if (number.empty() || number.size() > max_digits) return std::nullopt;
  uint64_t k = 0;
  for (char c : number) k = k * 10 + static_cast<uint64_t>(c - '0');
  return k;
}

uint64_t NameHash(std::string_view name) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

double StripeOffsetOf(std::string_view name) {
  if (auto k = TrailingNumber(name, 9)) return VanDerCorput(*k > 0 ? *k - 1 : 0);
  return VanDerCorput(NameHash(name) >> 32);
}

std::vector<int> StripePieces(int start, const std::vector<bool>& have,
                              const std::vector<int>& availability, int length) {
  std::vector<int> out;
  const int n = static_cast<int>(have.size());
  if (n == 0 || length <= 0) return out;
  for (int k = 0; k < n && static_cast<int>(out.size()) < length; ++k) {
    const int piece = (start % n + n + k) % n;
    if (have[static_cast<size_t>(piece)]) continue;
    if (static_cast<size_t>(piece) < availability.size() &&
        availability[static_cast<size_t>(piece)] >= 2)
      break;
    out.push_back(piece);
  }
  return out;
}

std::vector<uint8_t> PickPriorities(int pieces, const std::vector<int>& stripe, int cursor,
                                    int window, const std::vector<int>& availability,
                                    uint8_t window_priority) {
  std::vector<uint8_t> out(static_cast<size_t>(std::max(0, pieces)), kDefault);
  const bool peers_hold_pieces =
      std::any_of(availability.begin(), availability.end(), [](int a) { return a >= 2; });
  for (int i = std::max(0, cursor); i < std::min(pieces, cursor + window); ++i) {
    const size_t at = static_cast<size_t>(i);
    if (peers_hold_pieces && (at >= availability.size() || availability[at] < 2)) continue;
    out[at] = window_priority;
  }
  for (int piece : stripe)
    if (piece >= 0 && piece < pieces) out[static_cast<size_t>(piece)] = kStripe;
  return out;
}

}  // namespace shoal
