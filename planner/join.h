// Joining and leaving the fleet: one-time join tokens, signing a joining node's CSR, and the
// revocation list checked at every handshake.
//
// A token is "<id>.<secret>.<ca-sha256>": the planner stores only SHA-256(secret) under id,
// with an expiry and a use count; the third part lets the node pin the planner's CA before it
// trusts anything the planner says.
#pragma once

#include <set>
#include <string>

#include "core/net/certs.h"
#include "planner/store.h"

namespace shoal::planner {

class JoinService {
 public:
  JoinService(Store& store, net::CertAuthority ca) : store_(store), ca_(std::move(ca)) {}
  Status Load();  // the revocation list

  // Makes a token valid for `ttl_seconds` and `uses` joins (durable before returned through
  // `done`, which receives the token or an error).
  void CreateToken(uint32_t ttl_seconds, uint32_t uses,
                   std::function<void(Result<std::string>)> done);
  // Checks and consumes the token, then signs `csr_pem` for `name` (OU=node). Returns the
  // certificate PEM. Errors: malformed/unknown/expired/used-up token, bad name, revoked name.
  Result<std::string> Redeem(const std::string& token, const std::string& name,
                             const std::string& csr_pem);

  bool IsRevoked(const net::Identity& id) const {
    return id.ou == net::kRoleNode && revoked_.contains(id.cn);
  }
  void Revoke(const std::string& name, std::function<void()> done);

  std::string ca_pem() const { return net::CertToPem(ca_.cert()); }
  std::string ca_fingerprint() const { return net::Fingerprint(ca_.cert()); }
  net::CertAuthority& ca() { return ca_; }

 private:
  Store& store_;
  net::CertAuthority ca_;
  std::set<std::string> revoked_;
};

// Node names: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.
bool ValidNodeName(const std::string& name);

}  // namespace shoal::planner
