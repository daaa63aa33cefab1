#include "seeder/origin_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <libtorrent/torrent_info.hpp>

#include "core/artifact_meta_codec.h"
#include "core/log.h"
#include "core/paths.h"

namespace shoal::seeder {
namespace fs = std::filesystem;
namespace lt = libtorrent;

namespace {
int64_t NowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Result<std::string> V2InfoHashHex(const std::vector<char>& torrent) {
  lt::error_code ec;
  lt::torrent_info ti(lt::span<const char>(torrent.data(), torrent.size()), ec, lt::from_span);
  if (ec) return Error{"generated torrent does not parse: " + ec.message()};
  const auto& v2 = ti.info_hashes().v2;
  return ToHex({reinterpret_cast<const uint8_t*>(v2.data()), v2.size()});
}
}  // namespace

Result<std::unique_ptr<OriginStore>> OriginStore::Open(const fs::path& state_dir) {
  auto index = ArtifactIndex::Open(state_dir);
  if (!index) return index.error();
  return std::unique_ptr<OriginStore>(new OriginStore(std::move(*index)));
}

Result<ArtifactMeta> OriginStore::Ingest(const fs::path& source, std::string name,
                                         const ProgressFn& progress) {
  std::error_code ec;
  auto status = fs::status(source, ec);
  if (ec || !fs::is_regular_file(status)) {
    return Error::of(source.string(), ec ? ec.message() : "not a regular file");
  }
  if (name.empty()) name = source.filename().string();
  static std::atomic<uint64_t> counter{0};
  fs::path incoming = index_->objects_dir() /
                      (".ingest-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
  if (auto s = InstallFileAtomically(source, incoming, 0444); !s) return s.error();
  auto digests = HashFile(incoming, 0, progress);
  if (!digests) {
    fs::remove(incoming, ec);
    return digests.error();
  }
  ArtifactId id{digests->sha256};
  if (auto existing = index_->Get(id);
      existing && existing->verified && fs::exists(index_->ObjectPath(id))) {
    fs::remove(incoming, ec);
    return existing->meta;
  }
  auto torrent = MakeTorrent(*digests, id.hex());
  if (!torrent) {
    fs::remove(incoming, ec);
    return Error::of(source.string(), torrent.error().message);
  }
  auto info_hash = V2InfoHashHex(*torrent);
  if (!info_hash) return info_hash.error();
  fs::path object = index_->ObjectPath(id);
  fs::rename(incoming, object, ec);
  if (ec) return Error::of(object.string(), "cannot move into the store: " + ec.message());
  StoredRecord record;
  record.meta = MetaFromDigests(*digests, std::move(name), std::move(*torrent), *info_hash);
  record.verified = true;
  record.mtime_ns = FileMtimeNs(object);
  record.added_unix_ms = NowUnixMs();
  if (auto s = index_->Put(record); !s) return s.error();
  SHOAL_LOG(Info) << "ingested " << record.meta.name << " as " << id.str() << " ("
                  << record.meta.size << " bytes, md5 " << record.meta.md5_hex << ")";
  return record.meta;
}

std::vector<RestoredArtifact> OriginStore::Restore() {
  std::vector<RestoredArtifact> out;
  for (auto& record : index_->List()) {
    const ArtifactId id = record.meta.id;
    fs::path object = index_->ObjectPath(id);
    std::error_code ec;
    uint64_t size = fs::file_size(object, ec);
    if (!record.verified || ec) {
      SHOAL_LOG(Warn) << id.str() << ": object missing or never verified; dropped from the index";
      (void)index_->Remove(id);
      continue;
    }
    if (size == record.meta.size && FileMtimeNs(object) == record.mtime_ns) {
      out.push_back({std::move(record.meta), true});
      continue;
    }
    SHOAL_LOG(Info) << id.str() << ": object changed on disk; rehashing";
    auto digests = HashFile(object, static_cast<int>(record.meta.piece_size));
    if (!digests || ArtifactId{digests->sha256} != id) {
      fs::path quarantine = index_->objects_dir() / (".corrupt-" + id.hex());
      fs::rename(object, quarantine, ec);
      (void)index_->Remove(id);
      SHOAL_LOG(Error) << id.str() << ": object no longer matches its digest; quarantined as "
                       << quarantine.string();
      continue;
    }
    record.mtime_ns = FileMtimeNs(object);
    (void)index_->Put(record);
    out.push_back({std::move(record.meta), true});
  }
  return out;
}

}  // namespace shoal::seeder
