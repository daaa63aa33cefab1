#include "core/lmdb.h"

#include <algorithm>
#include <cstring>

namespace shoal::lmdb {
namespace {
Error LmdbError(const char* what, int rc) {
  return Error{std::string(what) + ": " + mdb_strerror(rc)};
}
MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }
std::string Mib(size_t bytes) {
  return bytes >= (size_t{1} << 20) ? std::to_string(bytes >> 20) + " MiB"
                                    : std::to_string(bytes >> 10) + " KiB";
}
}  // namespace

Txn::Txn(Txn&& other) noexcept : txn_(other.txn_), env_(other.env_), map_full_(other.map_full_) {
  other.txn_ = nullptr;
}

Txn::~Txn() { End(); }

void Txn::End() {
  if (!txn_) return;
  mdb_txn_abort(txn_);
  txn_ = nullptr;
  env_->open_txns_.fetch_sub(1);
}

Error Txn::Failed(const char* what, int rc) {
  if (rc != MDB_MAP_FULL) return LmdbError(what, rc);
  map_full_ = true;
  env_->grow_wanted_ = true;
  std::string msg = "LMDB " + env_->dir_.string() + ": map full at " + Mib(env_->map_size_);
  if (env_->map_size_ < env_->max_map_size_) {
    msg += "; it grows before the next write (cap " + Mib(env_->max_map_size_) + ")";
  } else {
    msg += ", its cap: free space (delete or acknowledge entries) for further writes";
  }
  return Error{msg};
}

std::optional<std::string_view> Txn::Get(MDB_dbi db, std::string_view key) const {
  MDB_val k = Val(key), v;
  if (mdb_get(txn_, db, &k, &v) != 0) return std::nullopt;
  return View(v);
}

Status Txn::Put(MDB_dbi db, std::string_view key, std::string_view value) {
  MDB_val k = Val(key), v = Val(value);
  if (int rc = mdb_put(txn_, db, &k, &v, 0); rc != 0) return Failed("mdb_put", rc);
  return Status::Ok();
}

Result<bool> Txn::Del(MDB_dbi db, std::string_view key) {
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return Failed("mdb_del", rc);
  return true;
}

uint64_t Txn::UsedBytes(MDB_dbi db) const {
  MDB_stat st{};
  if (mdb_stat(txn_, db, &st) != 0) return 0;
  return uint64_t{st.ms_psize} *
         (uint64_t{st.ms_branch_pages} + st.ms_leaf_pages + st.ms_overflow_pages);
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
  env_->open_txns_.fetch_sub(1);
  if (rc != 0) return Failed("mdb_txn_commit", rc);
  return Status::Ok();
}

Result<std::unique_ptr<Env>> Env::Open(const std::filesystem::path& dir, int max_dbs,
                                       size_t map_size, size_t max_map_size) {
  if (max_map_size == 0) max_map_size = map_size * 4;
  max_map_size = std::max(max_map_size, map_size);
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
  // A map grown by an earlier run is larger than asked for: keep what the file has.
  MDB_envinfo info{};
  mdb_env_info(env, &info);
  map_size = std::max(map_size, info.me_mapsize);
  return std::unique_ptr<Env>(new Env(env, dir, map_size, std::max(max_map_size, map_size)));
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

Result<Txn> Env::BeginRead() { return Begin(MDB_RDONLY); }

Result<Txn> Env::BeginWrite() { return Begin(0); }

Result<Txn> Env::Begin(unsigned flags) {
  std::lock_guard lock(resize_mu_);
  if (flags == 0 && grow_wanted_ && open_txns_ == 0) GrowIfWanted();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, flags, &txn);
  if (rc == MDB_MAP_RESIZED && open_txns_ == 0) {
    // Another process grew the map: adopt its size and begin again.
    mdb_env_set_mapsize(env_, 0);
    MDB_envinfo info{};
    mdb_env_info(env_, &info);
    map_size_ = info.me_mapsize;
    rc = mdb_txn_begin(env_, nullptr, flags, &txn);
  }
  if (rc != 0) return LmdbError(flags ? "mdb_txn_begin(read)" : "mdb_txn_begin(write)", rc);
  open_txns_.fetch_add(1);
  return Txn(txn, this);
}

void Env::GrowIfWanted() {
  grow_wanted_ = false;
  if (map_size_ >= max_map_size_) return;
  size_t grown = std::min(map_size_ * 2, max_map_size_);
  if (int rc = mdb_env_set_mapsize(env_, grown); rc != 0) return;  // keep the old size
  map_size_ = grown;
}

Status Env::Update(const std::function<Status(Txn&)>& body) {
  for (int attempt = 0;; ++attempt) {
    auto txn = BeginWrite();
    if (!txn) return txn.error();
    Status s = body(*txn);
    if (s) s = txn->Commit();
    if (s || !txn->map_full() || attempt >= 16 || map_size_ >= max_map_size_) return s;
    // Aborted (destroyed) here; the next BeginWrite grows the map.
  }
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
