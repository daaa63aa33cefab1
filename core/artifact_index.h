// The index of an artifact store: artifact id -> StoredArtifact record (proto/store.capnp) in
// LMDB, plus libtorrent resume data for partial downloads. Objects live beside it as
// `<objects_dir>/<sha256 hex>`, which is also the file name inside the artifact's torrent, so a
// libtorrent save_path of `<objects_dir>` seeds and downloads them in place.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/lmdb.h"
#include "core/result.h"

namespace shoal {

// Plain-struct mirror of proto::ArtifactInfo for use inside daemons.
struct ArtifactMeta {
  ArtifactId id;
  uint64_t size = 0;
  std::string md5_hex;
  std::string xxh3_hex;
  std::string name;
  uint32_t piece_size = 0;
  std::string info_hash_hex;
  std::vector<char> torrent;  // bencoded
};

struct StoredRecord {
  ArtifactMeta meta;
  bool verified = false;
  int64_t mtime_ns = 0;
  int64_t added_unix_ms = 0;
};

class ArtifactIndex {
 public:
  // Opens (creating) the index under `state_dir`/index and ensures `state_dir`/objects exists.
  static Result<std::unique_ptr<ArtifactIndex>> Open(const std::filesystem::path& state_dir);

  const std::filesystem::path& objects_dir() const { return objects_dir_; }
  std::filesystem::path ObjectPath(const ArtifactId& id) const { return objects_dir_ / id.hex(); }

  std::optional<StoredRecord> Get(const ArtifactId& id) const;
  std::vector<StoredRecord> List() const;
  Status Put(const StoredRecord& record);
  Status Remove(const ArtifactId& id);

  // Resume data (libtorrent's bencoded add_torrent_params) for a partial download.
  std::optional<std::vector<char>> GetResume(const ArtifactId& id) const;
  Status PutResume(const ArtifactId& id, const std::vector<char>& data);

  // When an artifact was last used (fetched, installed, served from the cache), for LRU
  // eviction; nullopt if never recorded. Removed with the artifact.
  std::optional<int64_t> GetLastUsed(const ArtifactId& id) const;
  Status PutLastUsed(const ArtifactId& id, int64_t unix_ms);

 private:
  ArtifactIndex() = default;
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi artifacts_ = 0, resume_ = 0, last_used_ = 0;
  std::filesystem::path objects_dir_;
};

// The object file's mtime in nanoseconds, or 0 if it cannot be read.
int64_t FileMtimeNs(const std::filesystem::path& path);

}  // namespace shoal
