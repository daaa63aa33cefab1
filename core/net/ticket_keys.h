// The keys a TLS server encrypts its session tickets with (TLS 1.3 stateless resumption).
//
// Why keep them in a file: OpenSSL's default keys are random per process, so every ticket a
// node holds dies with the planner, and the reconnect storm after a planner restart would be
// all full handshakes. Kept in the state directory (mode 0600), they survive restarts.
//
// Rotation: a new key is made once the newest is older than `rotate_after`; keys older than
// `rotate_after` + the ticket lifetime are dropped. Tickets sealed with an older key that is
// still kept decrypt and are replaced by a ticket under the newest key. A stolen key file
// lets its holder resume (read and forge) sessions whose tickets it has seen: protect it like
// the planner's private key.
//
// Thread-safe: a server may run handshakes on several threads (planner/handshake_pool.h), and
// every one of them seals or opens tickets here. Keys are handed out by value, so a rotation on
// one thread never pulls a key from under another thread's handshake.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/result.h"

namespace shoal::net {

class TicketKeys {
 public:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> hmac;
    std::array<unsigned char, 32> aes;
    int64_t created_ms = 0;
  };

  // Keys held in `file` (created, or rotated and rewritten, as needed); an empty path keeps
  // them in memory only. Fails if the file exists but cannot be read or parsed, or cannot be
  // written.
  static Result<std::unique_ptr<TicketKeys>> Open(std::filesystem::path file,
                                                  std::chrono::seconds rotate_after,
                                                  std::chrono::seconds ticket_lifetime);

  // A copy of the key new tickets are sealed with (rotating first if it is due).
  Key Current();
  // A copy of the key named `name` (16 bytes), or nullopt if it is unknown or was dropped;
  // `current` is set to whether it is the key new tickets are sealed with.
  std::optional<Key> Find(const unsigned char* name, bool* current = nullptr) const;

 private:
  TicketKeys() = default;
  // REQUIRES: mu_ held (or the object not yet shared).
  Status RotateIfDue();
  Status Save() const;

  mutable std::mutex mu_;
  std::filesystem::path file_;
  std::chrono::seconds rotate_after_{}, ticket_lifetime_{};
  std::vector<Key> keys_;  // newest first
};

}  // namespace shoal::net
