// Pieces a download wrote recently, kept in memory after they reach the disk (issue 12: CPU per
// delivered GiB). A node's peers ask it for the pieces it has just taken, and its digest pass
// (core/prefix_digest.h) reads the pieces just verified: both are served from here instead of
// a pread of the page cache per 16 KiB request or per MiB read back.
//
// Entries are immutable once put: a reader holds a shared_ptr to the bytes, so eviction or an
// erase never pulls them from under it. Keyed by a file's path and a piece's byte offset in it.
// Eviction is first in, first out over a byte capacity: a piece is wanted most just after it was
// written. Thread-safe: the disk back end puts and erases on libtorrent's network thread, the
// digest worker finds on its own.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shoal {

// Whole pages mapped and populated in one system call. A piece-sized buffer from malloc is a
// fresh mapping too, but faults its pages in one trap per 4 KiB on first touch (bench/netns N=8:
// a node with the cache took 8x the page faults of one without, which cost what it saved).
class PageBuffer {
 public:
  PageBuffer() = default;
  explicit PageBuffer(size_t n);  // empty if the memory cannot be had
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  char* get() const { return data_; }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  char* data_ = nullptr;
  size_t mapped_ = 0;
};

// Buffers of pieces, recycled: keeps up to `keep_bytes` of returned buffers for the next pieces
// of the same size. Thread-safe.
class PiecePool {
 public:
  explicit PiecePool(size_t keep_bytes) : keep_bytes_(keep_bytes) {}
  PageBuffer Take(size_t n);  // a kept buffer of n bytes, else a new one (empty on failure)
  void Give(PageBuffer buffer, size_t n);
  size_t kept_bytes() const;

 private:
  const size_t keep_bytes_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<PageBuffer>> free_;
  size_t kept_ = 0;
};

class PieceCache {
 public:
  // A piece's bytes; with a pool, taken from it and given back to it when the last holder lets
  // go. (The one-argument constructor, which throws when no memory can be had, is for tests.)
  struct Piece {
    explicit Piece(size_t n) : data(n), size(n) {
      if (!data) throw std::bad_alloc();
    }
    Piece(PageBuffer buffer, size_t n, std::shared_ptr<PiecePool> from)
        : data(std::move(buffer)), size(n), pool(std::move(from)) {}
    ~Piece() {
      if (pool) pool->Give(std::move(data), size);
    }
    Piece(const Piece&) = delete;
    Piece& operator=(const Piece&) = delete;
    PageBuffer data;
    size_t size;
    std::shared_ptr<PiecePool> pool;
  };
  using Bytes = std::shared_ptr<const Piece>;

  explicit PieceCache(size_t capacity_bytes)
      : capacity_(capacity_bytes),
        pool_(std::make_shared<PiecePool>(std::min<size_t>(capacity_bytes, kPoolBytes))) {}

  // A buffer for a piece of n bytes, recycled from pieces this cache no longer holds; null if
  // no memory could be had.
  std::shared_ptr<Piece> NewPiece(size_t n) {
    PageBuffer buffer = pool_->Take(n);
    if (!buffer) return nullptr;
    return std::make_shared<Piece>(std::move(buffer), n, pool_);
  }
  const PiecePool& pool() const { return *pool_; }

  // Holds `bytes` as the contents of `path` from `offset` on (replacing what was there), and
  // evicts the oldest pieces past the capacity. A piece larger than the capacity is not held.
  void Put(const std::string& path, uint64_t offset, Bytes bytes);
  void Erase(const std::string& path, uint64_t offset);
  void ErasePath(const std::string& path);

  // The held piece that contains byte `offset` of `path`, and where that byte is in it.
  struct Found {
    Bytes bytes;
    size_t skip = 0;  // data() is byte `offset` of the file
    const char* data() const { return bytes->data.get() + skip; }
    size_t size() const { return bytes->size - skip; }
  };
  std::optional<Found> Find(const std::string& path, uint64_t offset) const;

  // Whether `path` has a piece in the cache from `offset` for at least `len` bytes; on success
  // copies them to `out`. Counts a hit or a miss (for the statistics below).
  bool Read(const std::string& path, uint64_t offset, char* out, size_t len);

  size_t bytes() const;
  struct Counts {
    uint64_t hits = 0, misses = 0;
  };
  Counts reads() const;

 private:
  void EvictLocked();
  void EraseLocked(const std::string& path, uint64_t offset);  // a no-op if it is not held

  // Returned buffers kept for new pieces: a second or two of a node's downloads in flight.
  static constexpr size_t kPoolBytes = 32 << 20;

  const size_t capacity_;
  std::shared_ptr<PiecePool> pool_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<uint64_t, Bytes>> files_;
  std::deque<std::pair<std::string, uint64_t>> order_;  // put order; may name erased pieces
  size_t bytes_ = 0, pieces_ = 0;
  Counts reads_;
};

}  // namespace shoal
