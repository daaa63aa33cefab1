// A thin RAII layer over LMDB: one environment per daemon state directory, named databases,
// read and write transactions. Keys and values are byte strings; callers own their encoding.
//
// LMDB's guarantees carry through: a committed write transaction is durable (MDB_NOSYNC is
// never set), readers see a consistent snapshot, and one writer at a time.
//
// A full map is never a crash. A write that finds the map full (MDB_MAP_FULL) fails with an
// error naming the directory and the size, and the map is grown (doubled, up to the
// environment's cap) before the next write transaction begins; Env::Update retries its
// transaction once after such a growth, so its callers do not see the map fill until the cap.
// At the cap, writes fail with "LMDB map full" (reads and deletes still work) until space is
// freed. A full disk is reported by the commit (LMDB writes with pwrite, not a writable mmap).
#pragma once

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace shoal::lmdb {

class Env;

// A transaction. Aborted on destruction unless committed.
class Txn {
 public:
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&&) = delete;
  ~Txn();

  // Returns the value stored under `key` in `db`, or nullopt if absent. The view is valid until
  // the transaction ends.
  std::optional<std::string_view> Get(MDB_dbi db, std::string_view key) const;
  Status Put(MDB_dbi db, std::string_view key, std::string_view value);
  // Returns true if the key existed.
  Result<bool> Del(MDB_dbi db, std::string_view key);
  // Visits keys >= `from` in order until `visit` returns false.
  void Scan(MDB_dbi db, std::string_view from,
            const std::function<bool(std::string_view key, std::string_view value)>& visit) const;
  Status Commit();

  // The bytes of the pages `db` occupies in this transaction's snapshot (branch, leaf and
  // overflow pages; LMDB reuses the pages a delete frees, so this is what retention caps).
  // 0 if LMDB cannot say.
  uint64_t UsedBytes(MDB_dbi db) const;

  // Whether a Put or Commit of this transaction found the map full.
  bool map_full() const { return map_full_; }

 private:
  friend class Env;
  Txn(MDB_txn* txn, Env* env) : txn_(txn), env_(env) {}
  void End();
  Error Failed(const char* what, int rc);
  MDB_txn* txn_;
  Env* env_;
  bool map_full_ = false;
};

class Env {
 public:
  // Opens (creating if needed) the environment in directory `dir` with room for `max_dbs`
  // named databases and a map of `map_size` bytes (LMDB files are sparse: the map is an address
  // range, not disk space), which may grow up to `max_map_size` (0: 4 x map_size) when it fills.
  static Result<std::unique_ptr<Env>> Open(const std::filesystem::path& dir, int max_dbs = 16,
                                           size_t map_size = size_t{64} << 30,
                                           size_t max_map_size = 0);
  ~Env();

  // Opens or creates the named database.
  Result<MDB_dbi> OpenDb(const std::string& name);
  Result<Txn> BeginRead();
  // Begins a write transaction, first growing the map if the last write found it full (and no
  // other transaction of this process is open: LMDB allows resizing only then).
  Result<Txn> BeginWrite();

  // Runs `body` in a write transaction and commits it. If the map fills up, the transaction is
  // aborted, the map grown and `body` run once more in a fresh transaction. `body` must
  // therefore be safe to run twice (it must not keep state from an aborted run). Returns the
  // first error of `body` or the commit; nothing is committed then.
  Status Update(const std::function<Status(Txn&)>& body);

  size_t map_size() const { return map_size_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  friend class Txn;
  Env(MDB_env* env, std::filesystem::path dir, size_t map_size, size_t max_map_size)
      : env_(env), dir_(std::move(dir)), map_size_(map_size), max_map_size_(max_map_size) {}
  Result<Txn> Begin(unsigned flags);
  // Grows the map if a write found it full. REQUIRES: resize_mu_ held, no open transaction.
  void GrowIfWanted();
  MDB_env* env_;
  std::filesystem::path dir_;
  size_t map_size_, max_map_size_;
  std::mutex resize_mu_;  // held while beginning a transaction or resizing the map
  std::atomic<int> open_txns_{0};
  std::atomic<bool> grow_wanted_{false};
};

// Big-endian encoding so that integer keys sort numerically in LMDB's byte order.
std::string EncodeU64Key(uint64_t v);
uint64_t DecodeU64Key(std::string_view key);

}  // namespace shoal::lmdb
