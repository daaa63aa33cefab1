#include "core/net/ticket_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <sstream>

#include "core/log.h"
#include "core/net/certs.h"

namespace shoal::net {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

bool Unhex(std::string_view hex, unsigned char* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < n; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

TicketKeys::Key NewKey() {
  TicketKeys::Key k;
  RAND_bytes(k.name.data(), k.name.size());
  RAND_bytes(k.hmac.data(), k.hmac.size());
  RAND_bytes(k.aes.data(), k.aes.size());
  k.created_ms = WallMs();
  return k;
}

}  // namespace

Result<std::unique_ptr<TicketKeys>> TicketKeys::Open(std::filesystem::path file,
                                                     std::chrono::seconds rotate_after,
                                                     std::chrono::seconds ticket_lifetime) {
  std::unique_ptr<TicketKeys> self(new TicketKeys());
  self->file_ = std::move(file);
  self->rotate_after_ = rotate_after;
  self->ticket_lifetime_ = ticket_lifetime;
  if (!self->file_.empty() && std::filesystem::exists(self->file_)) {
    auto text = ReadTextFile(self->file_);
    if (!text) return text.error();
    // One key per line: created_ms name hmac aes (hex).
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::istringstream fields(line);
      Key k;
      std::string name, hmac, aes;
      fields >> k.created_ms >> name >> hmac >> aes;
      if (!fields || !Unhex(name, k.name.data(), k.name.size()) ||
          !Unhex(hmac, k.hmac.data(), k.hmac.size()) || !Unhex(aes, k.aes.data(), k.aes.size())) {
        return Error::of(self->file_.string(), "malformed ticket key line");
      }
      self->keys_.push_back(k);
    }
  }
  if (auto s = self->RotateIfDue(); !s) return s.error();
  return self;
}

Status TicketKeys::RotateIfDue() {
  int64_t now = WallMs();
  int64_t rotate_ms = std::chrono::milliseconds(rotate_after_).count();
  int64_t keep_ms = rotate_ms + std::chrono::milliseconds(ticket_lifetime_).count();
  bool changed = false;
  if (keys_.empty() || now - keys_.front().created_ms >= rotate_ms ||
      keys_.front().created_ms > now + rotate_ms /* clock went back a long way */) {
    keys_.insert(keys_.begin(), NewKey());
    changed = true;
  }
  while (keys_.size() > 1 && now - keys_.back().created_ms > keep_ms) {
    OPENSSL_cleanse(&keys_.back(), sizeof(Key));
    keys_.pop_back();
    changed = true;
  }
  if (changed) return Save();
  return Status::Ok();
}

Status TicketKeys::Save() const {
  if (file_.empty()) return Status::Ok();
  std::string text;
  for (const Key& k : keys_) {
    text += std::to_string(k.created_ms) + " " + Hex(k.name.data(), k.name.size()) + " " +
            Hex(k.hmac.data(), k.hmac.size()) + " " + Hex(k.aes.data(), k.aes.size()) + "\n";
  }
  auto s = WriteSecretFile(file_, text);
  OPENSSL_cleanse(text.data(), text.size());
  return s;
}

TicketKeys::Key TicketKeys::Current() {
  std::lock_guard lock(mu_);
  if (auto s = RotateIfDue(); !s) {
    // The new key is in use in memory; tickets under it die with this process. Say so.
    SHOAL_LOG(Warn) << "saving session ticket keys: " << s.error().message;
  }
  return keys_.front();
}

std::optional<TicketKeys::Key> TicketKeys::Find(const unsigned char* name, bool* current) const {
  std::lock_guard lock(mu_);
  for (const Key& k : keys_) {
    if (CRYPTO_memcmp(k.name.data(), name, k.name.size()) == 0) {
      if (current) *current = &k == &keys_.front();
      return k;
    }
  }
  return std::nullopt;
}

}  // namespace shoal::net
