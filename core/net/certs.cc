#include "core/net/certs.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>

#include "core/paths.h"

namespace shoal::net {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

Error SslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return Error{what + ": " + buf};
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
}

BioPtr MemBio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

std::string NameEntry(X509_NAME* name, int nid) {
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), len);
  OPENSSL_free(utf8);
  return out;
}

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Builds and signs a certificate. `issuer` null means self-signed (the CA itself).
Result<X509Ptr> BuildCert(EVP_PKEY* subject_key, const std::string& cn, const std::string& ou,
                          X509* issuer, EVP_PKEY* issuer_key, int days, bool is_ca) {
  X509Ptr cert(X509_new());
  if (!cert) return SslError("X509_new");
  X509_set_version(cert.get(), 2);
  // 16 random bytes of serial: unique without any counter to keep.
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  if (!ou.empty()) {
    X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(ou.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return SslError("X509_set_pubkey");
  X509* issuer_cert = issuer ? issuer : cert.get();
  if (is_ca) {
    AddExt(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature");
    AddExt(cert.get(), issuer_cert, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  AddExt(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return SslError("X509_sign");
  return cert;
}

}  // namespace

Result<PKeyPtr> GenerateKey() {
  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("EVP_EC_gen");
  return key;
}

std::string KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio.get());
}

Result<PKeyPtr> KeyFromPem(const std::string& pem) {
  auto bio = MemBio(pem);
  PKeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return SslError("reading private key");
  return key;
}

std::string CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return BioText(bio.get());
}

Result<X509Ptr> CertFromPem(const std::string& pem) {
  auto bio = MemBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return SslError("reading certificate");
  return cert;
}

Result<std::string> MakeCsr(EVP_PKEY* key, const std::string& cn) {
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), X509_REQ_free);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return SslError("X509_REQ_set_pubkey");
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return SslError("X509_REQ_sign");
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  return BioText(bio.get());
}

Identity IdentityOf(X509* cert) {
  Identity id;
  if (!cert) return id;
  X509_NAME* name = X509_get_subject_name(cert);
  id.cn = NameEntry(name, NID_commonName);
  id.ou = NameEntry(name, NID_organizationalUnitName);
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn) {
    char* hex = BN_bn2hex(bn);
    id.serial = hex;
    OPENSSL_free(hex);
    BN_free(bn);
  }
  return id;
}

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return Hex(md, n);
}

Result<CertAuthority> CertAuthority::Create(const std::string& cn) {
  auto key = GenerateKey();
  if (!key) return key.error();
  auto cert = BuildCert(key->get(), cn, "ca", nullptr, key->get(), 3650, true);
  if (!cert) return cert.error();
  CertAuthority ca;
  ca.cert_ = std::move(*cert);
  ca.key_ = std::move(*key);
  return ca;
}

Result<CertAuthority> CertAuthority::Load(const std::string& cert_pem, const std::string& key_pem) {
  auto cert = CertFromPem(cert_pem);
  if (!cert) return cert.error();
  auto key = KeyFromPem(key_pem);
  if (!key) return key.error();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return Error{"CA key does not match the CA certificate"};
  }
  CertAuthority ca;
  ca.cert_ = std::move(*cert);
  ca.key_ = std::move(*key);
  return ca;
}

Result<std::string> CertAuthority::SignCsr(const std::string& csr_pem, const std::string& cn,
                                           const std::string& role, int days) {
  auto bio = MemBio(csr_pem);
  std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(
      PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr), X509_REQ_free);
  if (!req) return SslError("reading CSR");
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  if (!pub || X509_REQ_verify(req.get(), pub) != 1) return SslError("CSR signature");
  return Issue(pub, cn, role, days);
}

Result<std::string> CertAuthority::Issue(EVP_PKEY* subject_key, const std::string& cn,
                                         const std::string& role, int days) {
  auto cert = BuildCert(subject_key, cn, role, cert_.get(), key_.get(), days, false);
  if (!cert) return cert.error();
  return CertToPem(cert->get());
}

Status WriteSecretFile(const std::filesystem::path& path, const std::string& content) {
  return WriteFileAtomically(path, content, 0600);
}

Result<std::string> ReadTextFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::of(path.string(), "cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RandomHex(size_t n) {
  std::string bytes(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n));
  return Hex(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Hex(md, sizeof(md));
}

}  // namespace shoal::net
