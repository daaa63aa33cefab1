// The node's cache of artifact objects (<state>/objects/<sha256>): what is in it, what may be
// evicted, and a size quota (--cache-max-bytes) kept by evicting least-recently-used objects.
//
// Only verified cache objects are ever evicted, and only unpinned ones. Pinned are: objects a
// fetch is bringing in or installing from (the admin service pins for the fetch's duration),
// objects a running job needs (the job engine calls Pin/Unpin), and every unverified object (a
// download in progress, or one resuming after a restart). Eviction removes the cache object
// and its index record and stops seeding it; installed files are separate copies (atomic
// install copies the object, core/paths.h) and are never touched.
//
// The quota is enforced after each fetch completes (Enforce) and on demand (MakeRoom, for a
// pre-fetch check that knows the size to come, and `shoal cache gc`): it may be exceeded while
// a download runs, and stays exceeded when everything left is pinned (Enforce logs that).
//
// Everything runs on the node's io_context thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/artifact_index.h"
#include "core/result.h"
#include "core/swarm.h"
#include "core/units.h"

namespace shoal::node {

struct CacheEntry {
  ArtifactMeta meta;  // without torrent
  bool verified = false;
  bool pinned = false;
  int64_t last_used_unix_ms = 0;  // when last fetched or installed (else when added)
};

struct CacheUsage {
  uint64_t total_bytes = 0;   // every object, partial downloads at their full size
  uint64_t pinned_bytes = 0;  // of which cannot be evicted now
  uint64_t max_bytes = 0;     // the quota; 0 = none
};

class CacheManager {
 public:
  // `max_bytes` 0 means no quota. `index` and `swarm` must outlive the manager.
  CacheManager(ArtifactIndex& index, Swarm& swarm, uint64_t max_bytes)
      : index_(index), swarm_(swarm), max_bytes_(max_bytes) {}

  // Pins `id` (counted: N Pins need N Unpins). An id not (yet) in the cache may be pinned:
  // the pin holds once it arrives.
  void Pin(const ArtifactId& id);
  void Unpin(const ArtifactId& id);
  bool IsPinned(const ArtifactId& id) const;

  // Records a use now (for LRU order).
  void Touch(const ArtifactId& id);

  // Every object, least recently used first; and the totals.
  std::vector<CacheEntry> List() const;
  CacheUsage Usage() const;

  // Removes one object. Errors: not in the cache, pinned, or a download in progress.
  Status Remove(const ArtifactId& id);

  // Evicts unpinned verified objects, least recently used first, until the cache holds at most
  // `target_bytes`. Returns what was removed (possibly short of the target if too much is
  // pinned; the caller compares Usage()).
  std::vector<ArtifactMeta> EvictTo(uint64_t target_bytes);

  // Makes room for `incoming_bytes` more under the quota (no-op without one). Errors when
  // pinned objects alone leave too little room: the message names the quota, the pinned bytes
  // and the bytes needed.
  Status MakeRoom(uint64_t incoming_bytes);

  // Evicts down to the quota (no-op without one); logs what it removed, and when pinned
  // objects keep the cache over it.
  void Enforce();

  uint64_t max_bytes() const { return max_bytes_; }

  // Called after each eviction (the fetcher forgets the finished download).
  std::function<void(const ArtifactId&)> on_evicted;

 private:
  Status Evict(const StoredRecord& record);

  ArtifactIndex& index_;
  Swarm& swarm_;
  uint64_t max_bytes_;
  std::map<ArtifactId, int> pins_;
};

// Byte counts with a K, M, G or T suffix (powers of 1024): shared with the planner's flags.
using ::shoal::ParseByteSize;

}  // namespace shoal::node
