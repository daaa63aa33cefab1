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

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace shoal {

class PieceCache {
 public:
  // A piece's bytes (not zero-filled on allocation, unlike a std::vector).
  struct Piece {
    explicit Piece(size_t n) : data(new char[n]), size(n) {}
    std::unique_ptr<char[]> data;
    size_t size;
  };
  using Bytes = std::shared_ptr<const Piece>;

  explicit PieceCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

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

  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<uint64_t, Bytes>> files_;
  std::deque<std::pair<std::string, uint64_t>> order_;  // put order; may name erased pieces
  size_t bytes_ = 0, pieces_ = 0;
  Counts reads_;
};

}  // namespace shoal
