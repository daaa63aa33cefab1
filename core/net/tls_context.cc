#include "core/net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "core/log.h"

namespace shoal::net {
namespace {

Error SslError(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return Error{what + ": " + buf};
}

Result<SSL_CTX*> NewContext(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) return SslError("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  // Idle connections dominate a 10k-node planner: let OpenSSL free its record buffers between
  // reads and writes instead of holding ~34 KiB per connection.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (server) {
    // No resumption: tickets would be post-handshake writes on every connection.
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return ctx;
}

Status AddCaToStore(SSL_CTX* ctx, const std::string& ca_pem) {
  auto ca = CertFromPem(ca_pem);
  if (!ca) return ca.error();
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca->get()) != 1) {
    return SslError("adding CA");
  }
  return Status::Ok();
}

Status UseChainAndKey(SSL_CTX* ctx, const std::string& chain_pem, const std::string& key_pem) {
  BIO* bio = BIO_new_mem_buf(chain_pem.data(), static_cast<int>(chain_pem.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (!leaf) {
    BIO_free(bio);
    return SslError("reading certificate");
  }
  int rc = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    SSL_CTX_add0_chain_cert(ctx, extra);  // takes ownership
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  BIO_free(bio);
  if (rc != 1) return SslError("using certificate");
  auto key = KeyFromPem(key_pem);
  if (!key) return key.error();
  if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1) return SslError("using private key");
  if (SSL_CTX_check_private_key(ctx) != 1) return SslError("key does not match certificate");
  return Status::Ok();
}

// Rejects revoked client certificates during the handshake: a revoked node never gets a
// session, whatever it sends.
int ServerVerify(int preverify_ok, X509_STORE_CTX* store) {
  if (!preverify_ok) {
    int err = X509_STORE_CTX_get_error(store);
    SHOAL_LOG(Warn) << "rejecting client certificate: " << X509_verify_cert_error_string(err);
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  Identity id = IdentityOf(X509_STORE_CTX_get_current_cert(store));
  if (self && self->IsRevoked(id)) {
    SHOAL_LOG(Warn) << "rejecting revoked certificate of " << id.cn << " (serial " << id.serial
                    << ")";
    return 0;
  }
  return 1;
}

}  // namespace

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<TlsContext>> TlsContext::Server(const std::string& ca_pem,
                                                       const std::string& cert_chain_pem,
                                                       const std::string& key_pem,
                                                       RevocationCheck revoked) {
  auto ctx = NewContext(true);
  if (!ctx) return ctx.error();
  std::shared_ptr<TlsContext> self(new TlsContext(*ctx));
  self->revoked_ = std::move(revoked);
  if (auto s = AddCaToStore(*ctx, ca_pem); !s) return s.error();
  if (auto s = UseChainAndKey(*ctx, cert_chain_pem, key_pem); !s) return s.error();
  SSL_CTX_set_app_data(*ctx, self.get());
  SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, ServerVerify);
  SSL_CTX_set_verify_depth(*ctx, 2);
  return self;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Client(const std::string& ca_pem,
                                                       const std::string& cert_pem,
                                                       const std::string& key_pem) {
  auto ctx = NewContext(false);
  if (!ctx) return ctx.error();
  std::shared_ptr<TlsContext> self(new TlsContext(*ctx));
  if (auto s = AddCaToStore(*ctx, ca_pem); !s) return s.error();
  if (auto s = UseChainAndKey(*ctx, cert_pem, key_pem); !s) return s.error();
  SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(*ctx, 2);
  return self;
}

Result<std::shared_ptr<TlsContext>> TlsContext::Join() {
  auto ctx = NewContext(false);
  if (!ctx) return ctx.error();
  std::shared_ptr<TlsContext> self(new TlsContext(*ctx));
  // Verification happens after the handshake against the pinned fingerprint.
  SSL_CTX_set_verify(*ctx, SSL_VERIFY_NONE, nullptr);
  return self;
}

Result<X509Ptr> VerifyPinnedChain(SSL* ssl, const std::string& ca_fingerprint) {
  X509* leaf = SSL_get0_peer_certificate(ssl);
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (!leaf || !chain) return Error{"server presented no certificate"};
  X509* ca = nullptr;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (Fingerprint(c) == ca_fingerprint) ca = c;
  }
  if (!ca) return Error{"server's chain does not contain the CA named by the join token"};
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(vctx, store, leaf, chain);
  int ok = X509_verify_cert(vctx);
  int err = X509_STORE_CTX_get_error(vctx);
  X509_STORE_CTX_free(vctx);
  X509_STORE_free(store);
  if (ok != 1) {
    return Error{std::string("server certificate does not verify against the pinned CA: ") +
                 X509_verify_cert_error_string(err)};
  }
  if (IdentityOf(leaf).ou != kRolePlanner) return Error{"server certificate is not a planner's"};
  X509_up_ref(ca);
  return X509Ptr(ca);
}

}  // namespace shoal::net
