// A thin RAII layer over LMDB: one environment per daemon state directory, named databases,
// read and write transactions. Keys and values are byte strings; callers own their encoding.
//
// LMDB's guarantees carry through: a committed write transaction is durable (MDB_NOSYNC is
// never set), readers see a consistent snapshot, and one writer at a time.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
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

 private:
  friend class Env;
  explicit Txn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_;
};

class Env {
 public:
  // Opens (creating if needed) the environment in directory `dir` with room for `max_dbs`
  // named databases and a map of `map_size` bytes (LMDB files are sparse: this is a cap).
  static Result<std::unique_ptr<Env>> Open(const std::filesystem::path& dir, int max_dbs = 16,
                                           size_t map_size = size_t{64} << 30);
  ~Env();

  // Opens or creates the named database.
  Result<MDB_dbi> OpenDb(const std::string& name);
  Result<Txn> BeginRead();
  Result<Txn> BeginWrite();

 private:
  explicit Env(MDB_env* env) : env_(env) {}
  MDB_env* env_;
};

// Big-endian encoding so that integer keys sort numerically in LMDB's byte order.
std::string EncodeU64Key(uint64_t v);
uint64_t DecodeU64Key(std::string_view key);

}  // namespace shoal::lmdb
