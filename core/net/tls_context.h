// TLS 1.3 contexts for the control plane. Three kinds:
//  - Server: presents the planner's certificate chain; asks for (but does not require) a client
//    certificate, which must chain to the fleet CA and must not be revoked. A connection
//    without one may only join (the planner enforces that per message).
//  - Client: presents a node's or admin's certificate and verifies the server against the CA.
//  - Join: no client certificate and no CA yet; the caller pins the server's CA by fingerprint
//    after the handshake (VerifyPinnedChain) before it sends anything.
#pragma once

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>

#include "core/net/certs.h"
#include "core/result.h"

namespace shoal::net {

// Returns true if the certificate's identity has been revoked. Called during handshakes.
using RevocationCheck = std::function<bool(const Identity&)>;

class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // REQUIRES: cert_chain_pem holds the leaf first, then the CA.
  static Result<std::shared_ptr<TlsContext>> Server(const std::string& ca_pem,
                                                    const std::string& cert_chain_pem,
                                                    const std::string& key_pem,
                                                    RevocationCheck revoked);
  static Result<std::shared_ptr<TlsContext>> Client(const std::string& ca_pem,
                                                    const std::string& cert_pem,
                                                    const std::string& key_pem);
  static Result<std::shared_ptr<TlsContext>> Join();

  SSL_CTX* get() const { return ctx_; }
  bool IsRevoked(const Identity& id) const { return revoked_ && revoked_(id); }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
  RevocationCheck revoked_;
};

// After a Join handshake: succeeds if the server's chain contains a certificate whose SHA-256
// fingerprint is `ca_fingerprint` and the server's leaf verifies against it. Returns that CA.
Result<X509Ptr> VerifyPinnedChain(SSL* ssl, const std::string& ca_fingerprint);

}  // namespace shoal::net
