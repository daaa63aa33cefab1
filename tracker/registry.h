// Which torrents the tracker tracks. A closed tracker (the default for a fleet) tracks only the
// info-hashes its seeder registered, so strangers cannot use it as an open tracker; an open one
// (--open) tracks any.
//
// How the tracker learns them: the seeder POSTs its info-hashes to /register with
// `Authorization: Bearer <key>`, the key being a secret both read from a file (the tracker's
// --register-key-file, the seeder's --tracker-key-file). The seeder registers everything it
// stores at start, each new artifact as it is put, and everything again every few seconds, so a
// restarted tracker (which keeps no state) learns them back within one period. Registrations
// never expire: the seeder never forgets an artifact.
//
// The body is one hex info-hash per line: 40 hex digits (a v1 SHA-1 or a truncated v2 hash) or
// 64 (a v2 SHA-256, truncated to its first 20 bytes, which is what peers announce).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/result.h"
#include "tracker/request.h"

namespace shoal::tracker {

class Registry {
 public:
  // Open: every info-hash is tracked, and /register is refused.
  static Registry Open() { return Registry(std::nullopt); }
  // Closed: only registered info-hashes; registrations need `key` (non-empty).
  static Registry Closed(std::string key) { return Registry(std::move(key)); }

  bool open() const { return !key_; }
  bool Tracks(const InfoHash& hash) const { return open() || hashes_.contains(hash); }
  size_t size() const { return hashes_.size(); }

  // Checks `authorization` (the header's value) in constant time and adds the body's hashes.
  // Returns how many were new. Errors: open tracker, missing or wrong key (the message does
  // not say which), a malformed line (named by number).
  Result<size_t> Register(std::string_view authorization, std::string_view body);

 private:
  explicit Registry(std::optional<std::string> key) : key_(std::move(key)) {}
  std::optional<std::string> key_;
  std::set<InfoHash> hashes_;
};

}  // namespace shoal::tracker
