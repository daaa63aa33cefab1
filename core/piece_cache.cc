#include "core/piece_cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace shoal {

PageBuffer::PageBuffer(size_t n) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t length = (std::max<size_t>(n, 1) + page - 1) / page * page;
  void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) return;
  data_ = static_cast<char*>(p);
  mapped_ = length;
}

PageBuffer::~PageBuffer() {
  if (data_) ::munmap(data_, mapped_);
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), mapped_(std::exchange(other.mapped_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(data_, mapped_);
    data_ = std::exchange(other.data_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

PageBuffer PiecePool::Take(size_t n) {
  {
    std::lock_guard lock(mu_);
    auto it = free_.find(n);
    if (it != free_.end() && !it->second.empty()) {
      PageBuffer buffer = std::move(it->second.back());
      it->second.pop_back();
      kept_ -= n;
      return buffer;
    }
  }
  return PageBuffer(n);
}

void PiecePool::Give(PageBuffer buffer, size_t n) {
  if (!buffer) return;
  std::lock_guard lock(mu_);
  if (kept_ + n > keep_bytes_) return;  // freed here, outside the pool's bound
  kept_ += n;
  free_[n].push_back(std::move(buffer));
}

size_t PiecePool::kept_bytes() const {
  std::lock_guard lock(mu_);
  return kept_;
}

void PieceCache::Put(const std::string& path, uint64_t offset, Bytes bytes) {
  if (!bytes || bytes->size == 0 || bytes->size > capacity_) {
    Erase(path, offset);
    return;
  }
  std::lock_guard lock(mu_);
  Bytes& slot = files_[path][offset];
  if (slot) bytes_ -= slot->size;
  if (!slot) ++pieces_;
  bytes_ += bytes->size;
  slot = std::move(bytes);
  order_.emplace_back(path, offset);
  EvictLocked();
}

void PieceCache::EvictLocked() {
  while (bytes_ > capacity_ && !order_.empty()) {
    auto [path, offset] = std::move(order_.front());
    order_.pop_front();
    EraseLocked(path, offset);
  }
  // Erased or re-put pieces leave stale names in order_: drop them once they outnumber the live.
  if (order_.size() > 2 * pieces_ + 64) {
    std::deque<std::pair<std::string, uint64_t>> live;
    for (auto& key : order_) {
      auto file = files_.find(key.first);
      if (file != files_.end() && file->second.count(key.second)) live.push_back(std::move(key));
    }
    order_ = std::move(live);
  }
}

void PieceCache::Erase(const std::string& path, uint64_t offset) {
  std::lock_guard lock(mu_);
  EraseLocked(path, offset);
}

void PieceCache::EraseLocked(const std::string& path, uint64_t offset) {
  auto file = files_.find(path);
  if (file == files_.end()) return;
  auto piece = file->second.find(offset);
  if (piece == file->second.end()) return;
  bytes_ -= piece->second->size;
  --pieces_;
  file->second.erase(piece);
  if (file->second.empty()) files_.erase(file);
}

void PieceCache::ErasePath(const std::string& path) {
  std::lock_guard lock(mu_);
  auto file = files_.find(path);
  if (file == files_.end()) return;
  for (auto& [offset, bytes] : file->second) bytes_ -= bytes->size;
  pieces_ -= file->second.size();
  files_.erase(file);
}

std::optional<PieceCache::Found> PieceCache::Find(const std::string& path, uint64_t offset) const {
  std::lock_guard lock(mu_);
  auto file = files_.find(path);
  if (file == files_.end()) return std::nullopt;
  auto after = file->second.upper_bound(offset);
  if (after == file->second.begin()) return std::nullopt;
  const auto& [start, bytes] = *std::prev(after);
  if (offset - start >= bytes->size) return std::nullopt;
  return Found{bytes, static_cast<size_t>(offset - start)};
}

bool PieceCache::Read(const std::string& path, uint64_t offset, char* out, size_t len) {
  std::optional<Found> found = Find(path, offset);
  const bool hit = found && found->size() >= len;
  if (hit) std::memcpy(out, found->data(), len);
  std::lock_guard lock(mu_);
  ++(hit ? reads_.hits : reads_.misses);
  return hit;
}

size_t PieceCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

PieceCache::Counts PieceCache::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

}  // namespace shoal
