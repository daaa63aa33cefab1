#include "core/net/tls_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509_vfy.h>

#include "core/log.h"
#include "core/net/handshake_gate.h"
#include "core/net/ticket_keys.h"

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
    // Stateless tickets only (ConfigureTickets): no server-side session cache to grow.
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  return ctx;
}

int SlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Client: a ticket arrived (after the handshake, during a read). Keep a copy in the SSL's slot.
// A copy, because the SSL's own session is marked not resumable when the connection ends
// without a TLS close_notify, and a reconnect storm is exactly connections that ended so.
int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  SessionSlot* slot = TlsContext::BoundSessionSlot(ssl);
  if (!slot) return 0;
  slot->Reset(SSL_SESSION_dup(session));
  return 0;  // OpenSSL keeps (and drops) its own reference
}

TlsContext* ContextOf(SSL* ssl) {
  return static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

// Server: seal (enc=1) or open (enc=0) a ticket with our persistent keys: AES-256-CBC and
// HMAC-SHA256, OpenSSL's own ticket format. Opening: 0 = unknown key (full handshake),
// 1 = fine, 2 = fine but sealed with an older key (the client gets a fresh ticket).
int TicketKeyCallback(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                      EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  TlsContext* self = ContextOf(ssl);
  TicketKeys* keys = self ? self->ticket_keys() : nullptr;
  if (!keys) return -1;
  // Copies (cleansed on return): another handshake thread may rotate the keys meanwhile.
  std::optional<TicketKeys::Key> key;
  bool current = true;
  if (enc) {
    key = keys->Current();
    memcpy(key_name, key->name.data(), key->name.size());
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
  } else {
    key = keys->Find(key_name, &current);
    if (!key) return 0;
  }
  struct Cleanse {
    std::optional<TicketKeys::Key>& k;
    ~Cleanse() { OPENSSL_cleanse(&*k, sizeof(*k)); }
  } cleanse{key};
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key->hmac.data()),
                                        key->hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  if (enc) {
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1) return -1;
    return 1;
  }
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key->aes.data(), iv) != 1) return -1;
  return current ? 1 : 2;
}

// Server: a ticket decrypted. Resume only if the client certificate it carries is still
// valid: not revoked, not expired. Otherwise fall back to a full handshake, whose
// verification rejects that certificate.
SSL_TICKET_RETURN OnTicketDecrypted(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                                    SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
      break;
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
      return SSL_TICKET_RETURN_ABORT;
  }
  X509* peer = SSL_SESSION_get0_peer(session);
  if (peer) {
    TlsContext* self = ContextOf(ssl);
    Identity id = IdentityOf(peer);
    if (self && self->IsRevoked(id)) {
      SHOAL_LOG(Warn) << "not resuming the session of revoked certificate " << id.cn
                      << " (serial " << id.serial << ")";
      return SSL_TICKET_RETURN_IGNORE;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(peer)) <= 0) return SSL_TICKET_RETURN_IGNORE;
  }
  // A fresh ticket only once this one is past half its lifetime, or sealed with an older key: a
  // node that reconnects at least that often never falls back to a full handshake, and most
  // resumptions skip sealing a new ticket (server CPU per resumed handshake -28% in
  // tls_handshake_bench: the ticket carries the client certificate, encoded again each time).
  const long age = static_cast<long>(time(nullptr)) - SSL_SESSION_get_time(session);
  if (status == SSL_TICKET_SUCCESS && age >= 0 && age < SSL_SESSION_get_timeout(session) / 2) {
    SSL_set_num_tickets(ssl, 0);
    return SSL_TICKET_RETURN_USE;
  }
  return SSL_TICKET_RETURN_USE_RENEW;
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

SessionSlot::~SessionSlot() { Reset(nullptr); }

SSL_SESSION* SessionSlot::get() const {
  if (!session_ || !SSL_SESSION_is_resumable(session_)) return nullptr;
  if (SSL_SESSION_get_time(session_) + SSL_SESSION_get_timeout(session_) < time(nullptr)) {
    return nullptr;
  }
  return session_;
}

void SessionSlot::Reset(SSL_SESSION* session) {
  if (session_) SSL_SESSION_free(session_);
  session_ = session;
}

TlsContext::TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

void TlsContext::BindSessionSlot(SSL* ssl, SessionSlot* slot) {
  SSL_set_ex_data(ssl, SlotIndex(), slot);
  if (!slot || !slot->get()) return;
  // A copy again: if this connection dies uncleanly OpenSSL marks its session not resumable,
  // and the ticket must stay usable for the next attempt.
  SSL_SESSION* copy = SSL_SESSION_dup(slot->get());
  if (!copy) return;
  SSL_set_session(ssl, copy);
  SSL_SESSION_free(copy);
}

SessionSlot* TlsContext::BoundSessionSlot(SSL* ssl) {
  return static_cast<SessionSlot*>(SSL_get_ex_data(ssl, SlotIndex()));
}

Result<std::shared_ptr<TlsContext>> TlsContext::Server(const std::string& ca_pem,
                                                       const std::string& cert_chain_pem,
                                                       const std::string& key_pem,
                                                       RevocationCheck revoked,
                                                       const ServerOptions& options) {
  auto ctx = NewContext(true);
  if (!ctx) return ctx.error();
  std::shared_ptr<TlsContext> self(new TlsContext(*ctx));
  self->revoked_ = std::move(revoked);
  self->gate_ = std::make_unique<HandshakeGate>(options.max_handshakes);
  if (options.resumption) {
    auto keys = TicketKeys::Open(options.ticket_keys_file, options.rotate_ticket_keys,
                                 options.ticket_lifetime);
    if (!keys) return keys.error();
    self->ticket_keys_ = std::move(*keys);
    // One ticket per handshake (a node holds one connection); resumption needs a session id
    // context whenever client certificates are verified.
    SSL_CTX_set_num_tickets(*ctx, 1);
    static const unsigned char kSidContext[] = "shoal-control";
    SSL_CTX_set_session_id_context(*ctx, kSidContext, sizeof(kSidContext) - 1);
    SSL_CTX_set_timeout(*ctx, static_cast<long>(options.ticket_lifetime.count()));
    SSL_CTX_set_tlsext_ticket_key_evp_cb(*ctx, TicketKeyCallback);
    SSL_CTX_set_session_ticket_cb(*ctx, nullptr, OnTicketDecrypted, nullptr);
  }
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
  self->default_session_ = std::make_unique<SessionSlot>();
  SSL_CTX_set_app_data(*ctx, self.get());
  // Tickets go to the SSL's SessionSlot, never to an internal cache.
  SSL_CTX_set_session_cache_mode(*ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(*ctx, OnNewSession);
  SSL_CTX_set_timeout(*ctx, 7 * 24 * 3600);
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
