// Joining and leaving the fleet: one-time join tokens, signing a joining node's CSR, and the
// revocation list checked at every handshake.
//
// A token is "<id>.<secret>.<ca-sha256>": the planner stores only SHA-256(secret) under id,
// with an expiry and a use count; the third part lets the node pin the planner's CA before it
// trusts anything the planner says.
//
// Revocation is by certificate serial. Every certificate a join issues is recorded (name and
// serial), so revoking a host revokes exactly the serials it holds; when it joins again (with
// a new token) its new certificate is not affected. Certificates whose serial the planner never
// recorded (minted directly with the CA key, as shoal-sim does, or issued before serials were
// recorded) are covered by a name fence: revoking NAME also rejects every OU=node certificate
// named NAME that no later join issued. Revocations made by name before this scheme are read
// as such fences.
//
// Threads: IsRevoked may be called from any thread (the planner's handshake threads call it in
// every handshake); everything else only from the planner's thread. IsRevoked reads an
// immutable snapshot of the revocation state that the planner's thread rebuilds and swaps in
// (atomically) whenever it changes: on a revocation, and on a join of a fenced name. A
// revocation is in the snapshot before Revoke returns, so no handshake that starts after it
// (or is still to check the certificate) can pass.
//
// Store layout: `revoked` db: "serial/<HEX>" -> "<name> <ms>" (a revoked serial) and "<name>"
// -> "<ms>" (a name fence); `meta` db: "issued/<name>/<HEX>" -> "<ms>" (a join's certificate).
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/net/certs.h"
#include "planner/store.h"

namespace shoal::planner {

class JoinService {
 public:
  JoinService(Store& store, net::CertAuthority ca) : store_(store), ca_(std::move(ca)) {}
  Status Load();  // the revocation list and the issued serials

  // Makes a token valid for `ttl_seconds` and `uses` joins (durable before returned through
  // `done`, which receives the token or an error).
  void CreateToken(uint32_t ttl_seconds, uint32_t uses,
                   std::function<void(Result<std::string>)> done);
  // Checks and consumes the token, then signs `csr_pem` for `name` (OU=node) and records the
  // new serial (durable before returning). Returns the certificate PEM. Errors: malformed,
  // unknown, expired or used-up token, bad name. A revoked name may join again: its earlier
  // certificates stay revoked, the new one is not.
  Result<std::string> Redeem(const std::string& token, const std::string& name,
                             const std::string& csr_pem);

  // True if `id`'s serial is revoked, or it is a node certificate of a fenced name that no
  // join issued after the fence. Cheap: hash lookups only (it runs in every handshake).
  // Thread-safe (see above).
  bool IsRevoked(const net::Identity& id) const;
  // Revokes every serial issued to `name` and fences the name (see above); `done` runs once
  // that is durable. Returns the serials revoked.
  std::vector<std::string> Revoke(const std::string& name, std::function<void()> done);
  // Revokes one serial (hex, as in IdentityOf), whoever holds it.
  void RevokeSerial(const std::string& serial, std::function<void()> done);

  std::string ca_pem() const { return net::CertToPem(ca_.cert()); }
  std::string ca_fingerprint() const { return net::Fingerprint(ca_.cert()); }
  net::CertAuthority& ca() { return ca_; }

 private:
  // What IsRevoked reads: revoked serials, and each fenced name's join-issued serials (which
  // stay valid). Never modified once published.
  struct Revoked {
    std::unordered_set<std::string> serials;
    std::unordered_map<std::string, std::unordered_set<std::string>> fenced;
  };
  // The published snapshot; movable so that JoinService is (Planner::Open moves it in).
  class Published {
   public:
    Published() : current_(std::make_shared<const Revoked>()) {}
    Published(Published&& o) noexcept : current_(o.current_.load()) {}
    std::shared_ptr<const Revoked> load() const { return current_.load(); }
    void store(std::shared_ptr<const Revoked> r) { current_.store(std::move(r)); }

   private:
    std::atomic<std::shared_ptr<const Revoked>> current_;
  };
  // Rebuilds the snapshot from the sets below. O(revocations), run only when they change.
  void Publish();

  Store& store_;
  net::CertAuthority ca_;
  std::unordered_set<std::string> revoked_serials_;
  std::unordered_set<std::string> fenced_names_;
  // Every serial a join issued -> its name, and each name's serials.
  std::unordered_map<std::string, std::string> issued_;
  std::unordered_map<std::string, std::vector<std::string>> serials_of_;
  Published published_;
};

// Node names: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'.
bool ValidNodeName(const std::string& name);

}  // namespace shoal::planner
