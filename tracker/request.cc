#include "tracker/request.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace shoal::tracker {
namespace {

// Scrape requests may name at most this many torrents (bounds the work of one request).
constexpr size_t kMaxScrapeHashes = 256;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Visits each `key=value` pair of a query, percent-decoded. A pair without '=' has an empty
// value; empty pairs ("a=1&&b=2") are skipped. Stops at the first error `visit` returns.
template <typename Visit>
Status ForEachParam(std::string_view query, Visit&& visit) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq));
    if (!key.ok()) return Error::of("query key", key.error().message);
    auto value =
        PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value.ok()) return Error::of(*key, value.error().message);
    if (Status s = visit(*key, *value); !s.ok()) return s;
  }
  return Status::Ok();
}

// A decimal integer in [0, INT64_MAX]; names `key` on failure.
Result<int64_t> ParseCount(const std::string& key, const std::string& text) {
  if (text.empty()) return Error::of(key, "empty number");
  if (text[0] == '-') return Error::of(key, "must not be negative");
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) return Error::of(key, "number too large");
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Error::of(key, "not a decimal number");
  }
  return v;
}

template <typename Bytes>
Result<Bytes> ParseTwentyBytes(const std::string& key, const std::string& raw) {
  Bytes out;
  if (raw.size() != out.bytes.size()) {
    return Error::of(key, "must be 20 bytes, got " + std::to_string(raw.size()));
  }
  std::memcpy(out.bytes.data(), raw.data(), raw.size());
  return out;
}

Result<AnnounceEvent> ParseEvent(const std::string& text) {
  if (text.empty() || text == "empty" || text == "paused") return AnnounceEvent::kNone;
  if (text == "started") return AnnounceEvent::kStarted;
  if (text == "completed") return AnnounceEvent::kCompleted;
  if (text == "stopped") return AnnounceEvent::kStopped;
  return Error::of("event", "unknown event");
}

}  // namespace

Result<std::string> PercentDecode(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (i + 2 >= encoded.size()) return Error{"truncated %-escape"};
      int hi = HexValue(encoded[i + 1]), lo = HexValue(encoded[i + 2]);
      if (hi < 0 || lo < 0) return Error{"invalid %-escape"};
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

Result<AnnounceRequest> ParseAnnounce(std::string_view query) {
  AnnounceRequest req;
  bool have_hash = false, have_peer = false, have_port = false, have_left = false;
  uint32_t seen = 0;  // bit per known key, to refuse duplicates
  auto once = [&seen](int bit, const std::string& key) -> Status {
    if (seen & (1u << bit)) return Error::of(key, "given more than once");
    seen |= 1u << bit;
    return Status::Ok();
  };
  Status st = ForEachParam(query, [&](const std::string& key, const std::string& value) -> Status {
    if (key == "info_hash") {
      if (Status s = once(0, key); !s.ok()) return s;
      auto h = ParseTwentyBytes<InfoHash>(key, value);
      if (!h.ok()) return h.error();
      req.info_hash = *h;
      have_hash = true;
    } else if (key == "peer_id") {
      if (Status s = once(1, key); !s.ok()) return s;
      auto p = ParseTwentyBytes<PeerId>(key, value);
      if (!p.ok()) return p.error();
      req.peer_id = *p;
      have_peer = true;
    } else if (key == "port") {
      if (Status s = once(2, key); !s.ok()) return s;
      auto n = ParseCount(key, value);
      if (!n.ok()) return n.error();
      if (*n == 0 || *n > 65535) return Error::of(key, "out of range 1-65535");
      req.port = static_cast<uint16_t>(*n);
      have_port = true;
    } else if (key == "uploaded" || key == "downloaded" || key == "left") {
      int bit = key == "uploaded" ? 3 : key == "downloaded" ? 4 : 5;
      if (Status s = once(bit, key); !s.ok()) return s;
      auto n = ParseCount(key, value);
      if (!n.ok()) return n.error();
      (key == "uploaded" ? req.uploaded : key == "downloaded" ? req.downloaded : req.left) = *n;
      if (key == "left") have_left = true;
    } else if (key == "event") {
      if (Status s = once(6, key); !s.ok()) return s;
      auto e = ParseEvent(value);
      if (!e.ok()) return e.error();
      req.event = *e;
    } else if (key == "numwant") {
      if (Status s = once(7, key); !s.ok()) return s;
      auto n = ParseCount(key, value);
      if (!n.ok()) return n.error();
      req.numwant = static_cast<int>(std::min<int64_t>(*n, kMaxNumWant));
    } else if (key == "compact") {
      if (Status s = once(8, key); !s.ok()) return s;
      req.compact = value != "0";
    } else if (key == "no_peer_id") {
      req.no_peer_id = value != "0";
    } else if (key == "dc" || key == "rack") {
      if (Status s = once(key == "dc" ? 9 : 10, key); !s.ok()) return s;
      if (value.size() > kMaxLabelLength) return Error::of(key, "label too long");
      (key == "dc" ? req.dc : req.rack) = value;
    }
    // Anything else (key, corrupt, supportcrypto, ipv6, trackerid, ip, ...) is ignored: the
    // peer's address is always the connection's source address.
    return Status::Ok();
  });
  if (!st.ok()) return st.error();
  if (!have_hash) return Error{"missing info_hash"};
  if (!have_peer) return Error{"missing peer_id"};
  if (!have_port) return Error{"missing port"};
  if (!have_left) return Error{"missing left"};
  return req;
}

Result<ScrapeRequest> ParseScrape(std::string_view query) {
  ScrapeRequest req;
  Status st = ForEachParam(query, [&](const std::string& key, const std::string& value) -> Status {
    if (key != "info_hash") return Status::Ok();
    if (req.info_hashes.size() >= kMaxScrapeHashes) {
      return Error::of(key, "too many (at most " + std::to_string(kMaxScrapeHashes) + ")");
    }
    auto h = ParseTwentyBytes<InfoHash>(key, value);
    if (!h.ok()) return h.error();
    req.info_hashes.push_back(*h);
    return Status::Ok();
  });
  if (!st.ok()) return st.error();
  return req;
}

Result<TrackerRequest> ParseTarget(std::string_view target) {
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  // A fragment never belongs in a request target; drop it rather than misparse it as a value.
  if (size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  if (path == "/announce") {
    auto a = ParseAnnounce(query);
    if (!a.ok()) return a.error();
    return TrackerRequest(std::move(*a));
  }
  if (path == "/scrape") {
    auto s = ParseScrape(query);
    if (!s.ok()) return s.error();
    return TrackerRequest(std::move(*s));
  }
  return TrackerRequest(UnknownPath{std::string(path)});
}

}  // namespace shoal::tracker
