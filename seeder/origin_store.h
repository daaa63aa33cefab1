// The origin's artifact store: ingests files (copy in, hash once, make the torrent, index) and,
// at start-up, restores what it holds without rehashing objects that did not change.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/artifact_index.h"
#include "core/ingest.h"
#include "core/result.h"

namespace shoal::seeder {

struct RestoredArtifact {
  ArtifactMeta meta;
  bool unchanged;  // object's size and mtime match the record: seed without rehashing
};

class OriginStore {
 public:
  static Result<std::unique_ptr<OriginStore>> Open(const std::filesystem::path& state_dir);

  // Copies `source` into the store (in-kernel copy), hashes the copy in one pass (so what is
  // indexed is exactly what is seeded, even if `source` changes later), makes its v2 torrent and
  // indexes it. Ingesting the same bytes twice returns the existing artifact.
  // Safe to call from a worker thread. `name` defaults to the source's file name.
  Result<ArtifactMeta> Ingest(const std::filesystem::path& source, std::string name,
                              const ProgressFn& progress);

  // Every verified artifact whose object is present. Objects whose size or mtime changed are
  // rehashed: kept if their SHA-256 still matches, else quarantined (renamed .corrupt-*) and
  // dropped from the index, with an error logged.
  std::vector<RestoredArtifact> Restore();

  ArtifactIndex& index() { return *index_; }

 private:
  explicit OriginStore(std::unique_ptr<ArtifactIndex> index) : index_(std::move(index)) {}
  std::unique_ptr<ArtifactIndex> index_;
};

}  // namespace shoal::seeder
