// X.509 for the control plane: EC P-256 keys, a certificate authority, CSRs, issuing and
// inspecting certificates. Every peer's identity is its certificate's subject: CN is the
// name (node name, admin name) and OU is the role the CA granted ("node", "admin", "planner").
// A CSR's subject is never trusted: the CA sets CN and OU itself when it signs.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/result.h"

namespace shoal::net {

struct PKeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, PKeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Roles written into OU by the CA.
inline constexpr const char* kRoleNode = "node";
inline constexpr const char* kRoleAdmin = "admin";
inline constexpr const char* kRolePlanner = "planner";

Result<PKeyPtr> GenerateKey();  // EC P-256
std::string KeyToPem(EVP_PKEY* key);
Result<PKeyPtr> KeyFromPem(const std::string& pem);
std::string CertToPem(X509* cert);
Result<X509Ptr> CertFromPem(const std::string& pem);

// A PEM certificate signing request for `key` (its subject CN is informational only).
Result<std::string> MakeCsr(EVP_PKEY* key, const std::string& cn);

// Who a certificate names.
struct Identity {
  std::string cn;
  std::string ou;
  std::string serial;  // hex
};
Identity IdentityOf(X509* cert);

// SHA-256 of the certificate's DER encoding, lowercase hex.
std::string Fingerprint(X509* cert);

class CertAuthority {
 public:
  // A new self-signed CA with a fresh key, valid ~10 years.
  static Result<CertAuthority> Create(const std::string& cn);
  static Result<CertAuthority> Load(const std::string& cert_pem, const std::string& key_pem);

  // Issues a certificate for the public key of `csr_pem` (whose self-signature must verify)
  // with subject CN=`cn`, OU=`role`, valid `days`. Returns the PEM certificate.
  Result<std::string> SignCsr(const std::string& csr_pem, const std::string& cn,
                              const std::string& role, int days = 825);
  // Same for a public key at hand (the simulator and `init` mint certificates directly).
  Result<std::string> Issue(EVP_PKEY* subject_key, const std::string& cn, const std::string& role,
                            int days = 825);

  X509* cert() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }

 private:
  X509Ptr cert_;
  PKeyPtr key_;
};

// Files holding secrets are written atomically with mode 0600.
Status WriteSecretFile(const std::filesystem::path& path, const std::string& content);
Result<std::string> ReadTextFile(const std::filesystem::path& path);

// Random bytes as lowercase hex (2*n characters), from OpenSSL's CSPRNG.
std::string RandomHex(size_t n);
std::string Sha256Hex(std::string_view data);

}  // namespace shoal::net
