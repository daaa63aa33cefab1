#include "node/cache_manager.h"

#include <algorithm>
#include <chrono>

#include "core/log.h"

namespace shoal::node {
namespace fs = std::filesystem;

namespace {
int64_t NowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string Bytes(uint64_t n) { return std::to_string(n) + " bytes"; }
}  // namespace

void CacheManager::Pin(const ArtifactId& id) { ++pins_[id]; }

void CacheManager::Unpin(const ArtifactId& id) {
  auto it = pins_.find(id);
  if (it == pins_.end()) return;
  if (--it->second <= 0) pins_.erase(it);
}

bool CacheManager::IsPinned(const ArtifactId& id) const { return pins_.contains(id); }

void CacheManager::Touch(const ArtifactId& id) {
  if (auto s = index_.PutLastUsed(id, NowUnixMs()); !s) {
    SHOAL_LOG(Warn) << id.str() << ": cannot record its use: " << s.error().message;
  }
}

std::vector<CacheEntry> CacheManager::List() const {
  std::vector<CacheEntry> out;
  for (auto& record : index_.List()) {
    CacheEntry e;
    e.meta = std::move(record.meta);
    e.meta.torrent.clear();
    e.verified = record.verified;
    e.pinned = !record.verified || IsPinned(e.meta.id);
    e.last_used_unix_ms = index_.GetLastUsed(e.meta.id).value_or(record.added_unix_ms);
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return a.last_used_unix_ms != b.last_used_unix_ms ? a.last_used_unix_ms < b.last_used_unix_ms
                                                      : a.meta.id < b.meta.id;
  });
  return out;
}

CacheUsage CacheManager::Usage() const {
  CacheUsage u;
  u.max_bytes = max_bytes_;
  for (const auto& e : List()) {
    u.total_bytes += e.meta.size;
    if (e.pinned) u.pinned_bytes += e.meta.size;
  }
  return u;
}

Status CacheManager::Evict(const StoredRecord& record) {
  const ArtifactId& id = record.meta.id;
  // The index first: once the record is gone no fetch finds the object as cached, then the
  // torrent stops seeding and the file goes.
  if (auto s = index_.Remove(id); !s) return s;
  swarm_.Remove(id);
  std::error_code ec;
  fs::remove(index_.ObjectPath(id), ec);
  if (ec) SHOAL_LOG(Warn) << index_.ObjectPath(id).string() << ": " << ec.message();
  if (on_evicted) on_evicted(id);
  return Status::Ok();
}

Status CacheManager::Remove(const ArtifactId& id) {
  auto record = index_.Get(id);
  if (!record) return Error::of(id.str(), "not in the cache");
  if (!record->verified) return Error::of(id.str(), "a download is in progress");
  if (IsPinned(id)) return Error::of(id.str(), "pinned (a fetch or a running job uses it)");
  return Evict(*record);
}

std::vector<ArtifactMeta> CacheManager::EvictTo(uint64_t target_bytes) {
  std::vector<ArtifactMeta> removed;
  auto entries = List();
  uint64_t total = 0;
  for (const auto& e : entries) total += e.meta.size;
  for (const auto& e : entries) {  // least recently used first
    if (total <= target_bytes) break;
    if (e.pinned) continue;
    auto record = index_.Get(e.meta.id);
    if (!record || !record->verified) continue;
    if (auto s = Evict(*record); !s) {
      SHOAL_LOG(Warn) << "evicting " << e.meta.id.str() << ": " << s.error().message;
      continue;
    }
    total -= e.meta.size;
    removed.push_back(e.meta);
  }
  return removed;
}

Status CacheManager::MakeRoom(uint64_t incoming_bytes) {
  if (max_bytes_ == 0) return Status::Ok();
  if (incoming_bytes > max_bytes_) {
    return Error{"cache quota (--cache-max-bytes) is " + Bytes(max_bytes_) + ", the artifact " +
                 Bytes(incoming_bytes)};
  }
  for (const auto& meta : EvictTo(max_bytes_ - incoming_bytes)) {
    SHOAL_LOG(Info) << "cache: evicted " << meta.id.str() << " (" << meta.size
                    << " bytes) to make room";
  }
  CacheUsage u = Usage();
  if (u.total_bytes + incoming_bytes > max_bytes_) {
    return Error{"cache quota (--cache-max-bytes) is " + Bytes(max_bytes_) + ": " +
                 Bytes(u.pinned_bytes) + " are pinned and " + Bytes(incoming_bytes) +
                 " are needed"};
  }
  return Status::Ok();
}

void CacheManager::Enforce() {
  if (max_bytes_ == 0) return;
  for (const auto& meta : EvictTo(max_bytes_)) {
    SHOAL_LOG(Info) << "cache: evicted " << meta.id.str() << " (" << meta.size
                    << " bytes, least recently used) to stay under " << max_bytes_ << " bytes";
  }
  CacheUsage u = Usage();
  if (u.total_bytes > max_bytes_) {
    SHOAL_LOG(Warn) << "cache holds " << u.total_bytes << " bytes, over its quota of " << max_bytes_
                    << ": " << u.pinned_bytes << " bytes are pinned";
  }
}

}  // namespace shoal::node
