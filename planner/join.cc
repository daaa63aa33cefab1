#include "planner/join.h"

#include <openssl/crypto.h>

#include <charconv>

#include "core/log.h"

namespace shoal::planner {

bool ValidNodeName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

Status JoinService::Load() {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  txn->Scan(store_.dbs().revoked, "", [&](std::string_view key, std::string_view) {
    revoked_.insert(std::string(key));
    return true;
  });
  return Status::Ok();
}

void JoinService::CreateToken(uint32_t ttl_seconds, uint32_t uses,
                              std::function<void(Result<std::string>)> done) {
  std::string id = net::RandomHex(8), secret = net::RandomHex(16);
  int64_t expiry = NowMs() + int64_t{ttl_seconds} * 1000;
  std::string value = net::Sha256Hex(secret) + " " + std::to_string(expiry) + " " +
                      std::to_string(std::max<uint32_t>(uses, 1));
  std::string token = id + "." + secret + "." + ca_fingerprint();
  store_.Write(
      [this, id, value](lmdb::Txn& txn) { return txn.Put(store_.dbs().tokens, id, value); },
      [done, token] { done(token); });
}

Result<std::string> JoinService::Redeem(const std::string& token, const std::string& name,
                                        const std::string& csr_pem) {
  auto d1 = token.find('.');
  auto d2 = token.find('.', d1 == std::string::npos ? 0 : d1 + 1);
  if (d1 == std::string::npos || d2 == std::string::npos) return Error{"malformed join token"};
  std::string id = token.substr(0, d1), secret = token.substr(d1 + 1, d2 - d1 - 1);
  if (!ValidNodeName(name)) return Error::of(name, "invalid node name");
  if (revoked_.contains(name)) return Error::of(name, "this node name is revoked");
  std::string value;
  {
    auto txn = store_.env().BeginRead();
    if (!txn) return txn.error();
    auto stored = txn->Get(store_.dbs().tokens, id);
    if (!stored) return Error{"unknown or used-up join token"};
    value = *stored;
  }  // the read transaction ends before the write below
  auto s1 = value.find(' '), s2 = value.find(' ', s1 + 1);
  if (s1 == std::string::npos || s2 == std::string::npos) return Error{"corrupt token record"};
  std::string hash = value.substr(0, s1);
  int64_t expiry = 0;
  uint32_t uses = 0;
  std::from_chars(value.data() + s1 + 1, value.data() + s2, expiry);
  std::from_chars(value.data() + s2 + 1, value.data() + value.size(), uses);
  std::string want = net::Sha256Hex(secret);
  if (hash.size() != want.size() || CRYPTO_memcmp(hash.data(), want.data(), hash.size()) != 0) {
    return Error{"invalid join token"};
  }
  if (NowMs() > expiry) return Error{"join token expired"};
  auto cert = ca_.SignCsr(csr_pem, name, net::kRoleNode);
  if (!cert) return cert.error();
  // Consume the use. The node gets its certificate only in the same turn, before any other
  // join could run, so a token cannot be used more often than allowed in memory either.
  store_.Write([this, id, hash, expiry, uses](lmdb::Txn& txn) -> Status {
    if (uses <= 1) {
      auto r = txn.Del(store_.dbs().tokens, id);
      if (!r) return r.error();
      return Status::Ok();
    }
    return txn.Put(store_.dbs().tokens, id,
                   hash + " " + std::to_string(expiry) + " " + std::to_string(uses - 1));
  });
  (void)store_.Flush();
  return cert;
}

void JoinService::Revoke(const std::string& name, std::function<void()> done) {
  revoked_.insert(name);
  store_.Write(
      [this, name](lmdb::Txn& txn) {
        return txn.Put(store_.dbs().revoked, name, std::to_string(NowMs()));
      },
      std::move(done));
}

}  // namespace shoal::planner
