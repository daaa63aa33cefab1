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
// REQUIRES: used from one thread (the server's), like the SSL_CTX it serves.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
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

  // The key new tickets are sealed with (rotating first if it is due).
  const Key& Current();
  // The key named `name`, or null if it is unknown or was dropped.
  const Key* Find(const unsigned char* name) const;

 private:
  TicketKeys() = default;
  Status RotateIfDue();
  Status Save() const;

  std::filesystem::path file_;
  std::chrono::seconds rotate_after_{}, ticket_lifetime_{};
  std::vector<Key> keys_;  // newest first
};

}  // namespace shoal::net
