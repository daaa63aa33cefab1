#include "core/ingest_ring.h"

namespace shoal::ingest {

BufferRing::BufferRing(int count, size_t buffer_size, int consumers)
    : buffer_size_(buffer_size),
      consumers_(consumers),
      slots_(static_cast<size_t>(count)),
      next_(static_cast<size_t>(consumers), 0) {
  for (Slot& slot : slots_) {
    slot.data.reset(static_cast<uint8_t*>(::operator new[](buffer_size, kAlignment)));
  }
}

std::span<uint8_t> BufferRing::AcquireForWrite() {
  std::unique_lock lock(mu_);
  Slot& slot = slots_[published_ % slots_.size()];
  changed_.wait(lock, [&] { return slot.holders == 0 || aborted_; });
  return {slot.data.get(), buffer_size_};
}

void BufferRing::Publish(size_t bytes) {
  {
    std::lock_guard lock(mu_);
    Slot& slot = slots_[published_ % slots_.size()];
    slot.bytes = bytes;
    slot.holders = consumers_;
    ++published_;
  }
  changed_.notify_all();
}

void BufferRing::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

void BufferRing::Abort() {
  {
    std::lock_guard lock(mu_);
    closed_ = aborted_ = true;
  }
  changed_.notify_all();
}

std::optional<std::span<const uint8_t>> BufferRing::Next(int id) {
  std::unique_lock lock(mu_);
  uint64_t seq = next_[static_cast<size_t>(id)];
  changed_.wait(lock, [&] { return seq < published_ || closed_; });
  if (aborted_ || seq >= published_) return std::nullopt;
  const Slot& slot = slots_[seq % slots_.size()];
  return std::span<const uint8_t>(slot.data.get(), slot.bytes);
}

void BufferRing::Release(int id) {
  bool freed;
  {
    std::lock_guard lock(mu_);
    uint64_t seq = next_[static_cast<size_t>(id)]++;
    freed = --slots_[seq % slots_.size()].holders == 0;
  }
  if (freed) changed_.notify_all();
}

}  // namespace shoal::ingest
