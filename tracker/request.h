// Parsing of tracker HTTP request targets (BEP 3 announce, BEP 48 scrape) into typed requests.
// Everything here is a pure function of its input: no sockets, no clocks, no allocation beyond
// the result. It is the tracker's only decoder of untrusted bytes, and the libFuzzer target
// tests/fuzz/tracker_request_fuzz.cc drives ParseTarget directly.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace shoal::tracker {

// A torrent's 20-byte info-hash as it travels in announces: the v1 SHA-1, or a v2 SHA-256
// truncated to 20 bytes. Raw bytes, not hex.
struct InfoHash {
  std::array<uint8_t, 20> bytes{};
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  auto operator<=>(const InfoHash&) const = default;
};

// A peer's self-chosen 20-byte id (raw bytes).
struct PeerId {
  std::array<uint8_t, 20> bytes{};
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  auto operator<=>(const PeerId&) const = default;
};

enum class AnnounceEvent { kNone, kStarted, kCompleted, kStopped };

// Largest numwant honoured, and the answer size when a client does not say.
inline constexpr int kMaxNumWant = 200;
inline constexpr int kDefaultNumWant = 50;
// Longest dc / rack label accepted (they are stored per peer).
inline constexpr size_t kMaxLabelLength = 64;

struct AnnounceRequest {
  InfoHash info_hash;
  PeerId peer_id;
  uint16_t port = 0;  // never 0 after a successful parse
  int64_t uploaded = 0;
  int64_t downloaded = 0;
  int64_t left = 0;  // 0 means the peer is a seed
  AnnounceEvent event = AnnounceEvent::kNone;
  int numwant = kDefaultNumWant;  // clamped to [0, kMaxNumWant]
  bool compact = true;            // compact=0 asks for the dictionary peer list
  bool no_peer_id = false;        // only meaningful when !compact
  // Topology labels (Shoal extension): empty when not given.
  std::string dc;
  std::string rack;
};

struct ScrapeRequest {
  std::vector<InfoHash> info_hashes;  // empty: scrape everything (refused by the server)
};

// A target whose path is neither /announce nor /scrape.
struct UnknownPath {
  std::string path;
};

using TrackerRequest = std::variant<AnnounceRequest, ScrapeRequest, UnknownPath>;

// Decodes %XX escapes and '+' (as space). Fails on a truncated or non-hex escape.
Result<std::string> PercentDecode(std::string_view encoded);

// Parses the query string of an announce (the part after '?', without it). On failure the
// error message is the text for the bencoded `failure reason`, naming the parameter at fault.
Result<AnnounceRequest> ParseAnnounce(std::string_view query);

// Parses a scrape query: zero or more info_hash parameters (at most 256), other keys ignored.
Result<ScrapeRequest> ParseScrape(std::string_view query);

// Splits an HTTP request target ("/announce?..."), and dispatches on its path. An unknown path
// is not an error (the server answers it with 404); malformed announce/scrape queries are.
Result<TrackerRequest> ParseTarget(std::string_view target);

}  // namespace shoal::tracker
