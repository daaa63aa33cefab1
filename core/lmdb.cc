#include "core/lmdb.h"

#include <cstring>

namespace shoal::lmdb {
namespace {
Error LmdbError(const char* what, int rc) {
  return Error{std::string(what) + ": " + mdb_strerror(rc)};
}
MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }
}  // namespace

Txn::Txn(Txn&& other) noexcept : txn_(other.txn_) { other.txn_ = nullptr; }

Txn::~Txn() {
  if (txn_) mdb_txn_abort(txn_);
}

std::optional<std::string_view> Txn::Get(MDB_dbi db, std::string_view key) const {
  MDB_val k = Val(key), v;
  if (mdb_get(txn_, db, &k, &v) != 0) return std::nullopt;
  return View(v);
}

Status Txn::Put(MDB_dbi db, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  if (int rc = mdb_put(txn_, db, &k, &v, 0); rc != 0) return LmdbError("mdb_put", rc);
  return Status::Ok();
}

Result<bool> Txn::Del(MDB_dbi db, std::string_view key) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return LmdbError("mdb_del", rc);
  return true;
}

void Txn::Scan(MDB_dbi db, std::string_view from,
               const std::function<bool(std::string_view, std::string_view)>& visit) const {
  MDB_cursor* cursor = nullptr;
  if (mdb_cursor_open(txn_, db, &cursor) != 0) return;
  MDB_val k = Val(from), v;
  int rc = from.empty() ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                        : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && visit(View(k), View(v))) rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  mdb_cursor_close(cursor);
}

Status Txn::Commit() {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  if (rc != 0) return LmdbError("mdb_txn_commit", rc);
  return Status::Ok();
}

Result<std::unique_ptr<Env>> Env::Open(const std::filesystem::path& dir, int max_dbs,
                                       size_t map_size) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error::of(dir.string(), ec.message());
  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != 0) return LmdbError("mdb_env_create", rc);
  mdb_env_set_maxdbs(env, max_dbs);
  mdb_env_set_mapsize(env, map_size);
  mdb_env_set_maxreaders(env, 256);
  // MDB_NOTLS: read transactions may move between threads (asio handlers, libtorrent callbacks).
  if (int rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0600); rc != 0) {
    mdb_env_close(env);
    return Error::of(dir.string(), std::string("cannot open LMDB: ") + mdb_strerror(rc));
  }
  // Readers left behind by a killed process would pin old pages forever.
  int dead = 0;
  mdb_reader_check(env, &dead);
  return std::unique_ptr<Env>(new Env(env));
}

Env::~Env() { mdb_env_close(env_); }

Result<MDB_dbi> Env::OpenDb(const std::string& name) {
  auto txn = BeginWrite();
  if (!txn) return txn.error();
  MDB_dbi dbi;
  if (int rc = mdb_dbi_open(txn->txn_, name.c_str(), MDB_CREATE, &dbi); rc != 0) {
    return LmdbError(("open database " + name).c_str(), rc);
  }
  if (auto s = txn->Commit(); !s) return s.error();
  return dbi;
}

Result<Txn> Env::BeginRead() {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
    return LmdbError("mdb_txn_begin(read)", rc);
  }
  return Txn(txn);
}

Result<Txn> Env::BeginWrite() {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0) {
    return LmdbError("mdb_txn_begin(write)", rc);
  }
  return Txn(txn);
}

std::string EncodeU64Key(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t DecodeU64Key(std::string_view key) {
  uint64_t v = 0;
  for (size_t i = 0; i < key.size() && i < 8; ++i) v = v << 8 | static_cast<uint8_t>(key[i]);
  return v;
}

}  // namespace shoal::lmdb
