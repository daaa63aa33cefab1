// A fixed ring of large read buffers shared by one producer (the file reader) and several
// consumers (digest threads). Every consumer sees every buffer, in order; a buffer returns to
// the producer once all consumers have released it. So the file is read once, held in memory
// only `count` buffers at a time, and each digest runs at its own pace within that window.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <vector>

namespace shoal::ingest {

class BufferRing {
 public:
  // REQUIRES: count >= 1, buffer_size > 0, consumers >= 1. Buffers are 4 KiB aligned.
  BufferRing(int count, size_t buffer_size, int consumers);

  // Producer: waits until the next buffer in the ring is free and returns it for filling.
  std::span<uint8_t> AcquireForWrite();
  // Producer: hands the first `bytes` of the acquired buffer to every consumer.
  void Publish(size_t bytes);
  // Producer: no more buffers. Consumers drain what was published, then see the end.
  void Close();
  // Producer: stop now; consumers see the end without draining (the result is discarded).
  void Abort();

  // Consumer `id` (0-based): the next published buffer, or nullopt at the end.
  std::optional<std::span<const uint8_t>> Next(int id);
  // Consumer `id`: done with the buffer Next() returned.
  void Release(int id);

 private:
  static constexpr std::align_val_t kAlignment{4096};
  struct AlignedDelete {
    void operator()(uint8_t* p) const { ::operator delete[](p, kAlignment); }
  };
  struct Slot {
    std::unique_ptr<uint8_t[], AlignedDelete> data;
    size_t bytes = 0;
    int holders = 0;  // consumers that have not released it yet
  };

  const size_t buffer_size_;
  const int consumers_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Slot> slots_;
  uint64_t published_ = 0;      // buffers published so far
  std::vector<uint64_t> next_;  // per consumer: sequence number of its next buffer
  bool closed_ = false, aborted_ = false;
};

}  // namespace shoal::ingest
