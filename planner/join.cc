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

namespace {
constexpr std::string_view kSerialPrefix = "serial/";
constexpr std::string_view kIssuedPrefix = "issued/";
}  // namespace

Status JoinService::Load() {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  txn->Scan(store_.dbs().revoked, "", [&](std::string_view key, std::string_view) {
    if (key.starts_with(kSerialPrefix)) {
      revoked_serials_.insert(std::string(key.substr(kSerialPrefix.size())));
    } else {
      fenced_names_.insert(std::string(key));  // also what name revocations used to write
    }
    return true;
  });
  txn->Scan(store_.dbs().meta, kIssuedPrefix, [&](std::string_view key, std::string_view) {
    if (!key.starts_with(kIssuedPrefix)) return false;
    std::string_view rest = key.substr(kIssuedPrefix.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return true;
    std::string name(rest.substr(0, slash)), serial(rest.substr(slash + 1));
    issued_[serial] = name;
    serials_of_[name].push_back(serial);
    return true;
  });
  Publish();
  return Status::Ok();
}

void JoinService::Publish() {
  auto r = std::make_shared<Revoked>();
  r->serials = revoked_serials_;
  for (const auto& name : fenced_names_) {
    auto& valid = r->fenced[name];
    if (auto it = serials_of_.find(name); it != serials_of_.end()) {
      for (const auto& serial : it->second) {
        if (!revoked_serials_.contains(serial)) valid.insert(serial);
      }
    }
  }
  published_.store(std::move(r));
}

bool JoinService::IsRevoked(const net::Identity& id) const {
  auto r = published_.load();
  if (r->serials.contains(id.serial)) return true;
  if (id.ou != net::kRoleNode) return false;
  auto fence = r->fenced.find(id.cn);
  return fence != r->fenced.end() && !fence->second.contains(id.serial);
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
  auto x509 = net::CertFromPem(*cert);
  if (!x509) return x509.error();
  std::string serial = net::IdentityOf(x509->get()).serial;
  issued_[serial] = name;
  serials_of_[name].push_back(serial);
  if (fenced_names_.contains(name)) Publish();  // the new certificate passes the fence
  // Consume the use and record the serial. The node gets its certificate only in the same
  // turn, before any other join could run, so a token cannot be used more often than allowed
  // in memory either.
  std::string issued_key = std::string(kIssuedPrefix) + name + "/" + serial;
  store_.Write([this, id, hash, expiry, uses, issued_key](lmdb::Txn& txn) -> Status {
    if (auto s = txn.Put(store_.dbs().meta, issued_key, std::to_string(NowMs())); !s) return s;
    if (uses <= 1) {
      auto r = txn.Del(store_.dbs().tokens, id);
      if (!r) return r.error();
      return Status::Ok();
    }
    return txn.Put(store_.dbs().tokens, id,
                   hash + " " + std::to_string(expiry) + " " + std::to_string(uses - 1));
  });
  if (auto s = store_.Flush(); !s) return s.error();
  return cert;
}

std::vector<std::string> JoinService::Revoke(const std::string& name, std::function<void()> done) {
  std::vector<std::string> serials;
  if (auto it = serials_of_.find(name); it != serials_of_.end()) serials = it->second;
  fenced_names_.insert(name);
  for (const auto& serial : serials) revoked_serials_.insert(serial);
  Publish();
  std::string now = std::to_string(NowMs());
  store_.Write(
      [this, name, serials, now](lmdb::Txn& txn) -> Status {
        for (const auto& serial : serials) {
          auto s = txn.Put(store_.dbs().revoked, std::string(kSerialPrefix) + serial,
                           name + " " + now);
          if (!s) return s;
        }
        return txn.Put(store_.dbs().revoked, name, now);
      },
      std::move(done));
  return serials;
}

void JoinService::RevokeSerial(const std::string& serial, std::function<void()> done) {
  revoked_serials_.insert(serial);
  Publish();
  std::string name;
  if (auto it = issued_.find(serial); it != issued_.end()) name = it->second;
  std::string value = name + " " + std::to_string(NowMs());
  store_.Write(
      [this, serial, value](lmdb::Txn& txn) {
        return txn.Put(store_.dbs().revoked, std::string(kSerialPrefix) + serial, value);
      },
      std::move(done));
}

}  // namespace shoal::planner
