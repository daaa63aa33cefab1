// TLS 1.3 contexts for the control plane. Three kinds:
//  - Server: presents the planner's certificate chain; asks for (but does not require) a client
//    certificate, which must chain to the fleet CA and must not be revoked. A connection
//    without one may only join (the planner enforces that per message).
//  - Client: presents a node's or admin's certificate and verifies the server against the CA.
//  - Join: no client certificate and no CA yet; the caller pins the server's CA by fingerprint
//    after the handshake (VerifyPinnedChain) before it sends anything.
//
// Resumption (TLS 1.3 session tickets): a server seals one ticket per handshake with its
// TicketKeys (persisted, so tickets outlive a planner restart); a client keeps the latest
// ticket in a SessionSlot and offers it on its next connect, which then skips both
// certificate signatures and verifications. A resumed session is still checked for revocation
// and expiry: a ticket whose client certificate is revoked or expired is ignored and the
// connection falls back to a full handshake, where the certificate is rejected.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "core/net/certs.h"
#include "core/result.h"

namespace shoal::net {

class HandshakeGate;
class TicketKeys;

// Returns true if the certificate's identity has been revoked. Called during handshakes, full
// and resumed.
using RevocationCheck = std::function<bool(const Identity&)>;

// The latest session ticket a client got from its server, offered on the next connection.
// One per client identity and server (the ticket carries the client's certificate). Safe to
// use from one thread at a time.
class SessionSlot {
 public:
  SessionSlot() = default;
  ~SessionSlot();
  SessionSlot(const SessionSlot&) = delete;
  SessionSlot& operator=(const SessionSlot&) = delete;

  // The held session (null if none or expired); the slot keeps its reference.
  SSL_SESSION* get() const;
  // Takes ownership of one reference to `session` (null clears).
  void Reset(SSL_SESSION* session);

 private:
  SSL_SESSION* session_ = nullptr;
};

struct ServerOptions {
  // Where session-ticket keys are kept (created 0600); empty: in memory only (tickets die with
  // the process).
  std::filesystem::path ticket_keys_file;
  std::chrono::seconds ticket_lifetime{std::chrono::hours(24 * 7)};  // TLS 1.3's maximum
  std::chrono::seconds rotate_ticket_keys{std::chrono::hours(24)};
  // Handshakes run at once by whoever uses handshake_gate(); the rest wait.
  size_t max_handshakes = 64;
  // Off: no tickets, every connection a full handshake (the baseline the benchmarks compare).
  bool resumption = true;
};

class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // REQUIRES: cert_chain_pem holds the leaf first, then the CA.
  static Result<std::shared_ptr<TlsContext>> Server(const std::string& ca_pem,
                                                    const std::string& cert_chain_pem,
                                                    const std::string& key_pem,
                                                    RevocationCheck revoked,
                                                    const ServerOptions& options = {});
  // A client context; ConnectTls offers and keeps tickets in default_session() unless given
  // another slot.
  static Result<std::shared_ptr<TlsContext>> Client(const std::string& ca_pem,
                                                    const std::string& cert_pem,
                                                    const std::string& key_pem);
  static Result<std::shared_ptr<TlsContext>> Join();

  SSL_CTX* get() const { return ctx_; }
  bool IsRevoked(const Identity& id) const { return revoked_ && revoked_(id); }
  // Server contexts: the gate that bounds concurrent handshakes (ServerOptions).
  HandshakeGate& handshake_gate() const { return *gate_; }
  // Client contexts: the slot used when ConnectTls is given none.
  SessionSlot& default_session() const { return *default_session_; }
  TicketKeys* ticket_keys() const { return ticket_keys_.get(); }

  // Where a client SSL stores the tickets it receives (null: nowhere). The slot must outlive
  // the SSL's handshake and reads.
  static void BindSessionSlot(SSL* ssl, SessionSlot* slot);
  static SessionSlot* BoundSessionSlot(SSL* ssl);

 private:
  explicit TlsContext(SSL_CTX* ctx);
  SSL_CTX* ctx_;
  RevocationCheck revoked_;
  std::unique_ptr<HandshakeGate> gate_;
  std::unique_ptr<SessionSlot> default_session_;
  std::unique_ptr<TicketKeys> ticket_keys_;
};

// After a Join handshake: succeeds if the server's chain contains a certificate whose SHA-256
// fingerprint is `ca_fingerprint` and the server's leaf verifies against it. Returns that CA.
Result<X509Ptr> VerifyPinnedChain(SSL* ssl, const std::string& ca_fingerprint);

}  // namespace shoal::net
