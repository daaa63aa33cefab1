#include "core/artifact_index.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <sys/stat.h>

#include "core/artifact_meta_codec.h"
#include "core/framing.h"
#include "proto/store.capnp.h"

namespace shoal {
namespace fs = std::filesystem;
namespace {

std::string Encode(const StoredRecord& r) {
  capnp::MallocMessageBuilder builder;
  auto root = builder.initRoot<proto::StoredArtifact>();
  ToProto(r.meta, root.initInfo(), /*with_torrent=*/true);
  root.setState(r.verified ? proto::StoredArtifact::State::VERIFIED
                           : proto::StoredArtifact::State::PARTIAL);
  root.setMtimeNs(r.mtime_ns);
  root.setAddedUnixMs(r.added_unix_ms);
  auto words = capnp::messageToFlatArray(builder);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

std::optional<StoredRecord> Decode(std::string_view value) {
  auto frame = Frame::Decode({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  if (!frame) return std::nullopt;
  auto parsed = ReadSafely([&]() -> std::optional<StoredRecord> {
    auto root = (*frame)->Root<proto::StoredArtifact>();
    auto meta = FromProto(root.getInfo());
    if (!meta) return std::nullopt;
    StoredRecord r;
    r.meta = std::move(*meta);
    r.verified = root.getState() == proto::StoredArtifact::State::VERIFIED;
    r.mtime_ns = root.getMtimeNs();
    r.added_unix_ms = root.getAddedUnixMs();
    return r;
  });
  if (!parsed) return std::nullopt;
  return *parsed;
}

}  // namespace

Result<std::unique_ptr<ArtifactIndex>> ArtifactIndex::Open(const fs::path& state_dir) {
  std::unique_ptr<ArtifactIndex> index(new ArtifactIndex());
  index->objects_dir_ = state_dir / "objects";
  std::error_code ec;
  fs::create_directories(index->objects_dir_, ec);
  if (ec) return Error::of(index->objects_dir_.string(), ec.message());
  auto env = lmdb::Env::Open(state_dir / "index");
  if (!env) return env.error();
  index->env_ = std::move(*env);
  auto artifacts = index->env_->OpenDb("artifacts");
  if (!artifacts) return artifacts.error();
  auto resume = index->env_->OpenDb("resume");
  if (!resume) return resume.error();
  auto last_used = index->env_->OpenDb("last_used");
  if (!last_used) return last_used.error();
  index->artifacts_ = *artifacts;
  index->resume_ = *resume;
  index->last_used_ = *last_used;
  return index;
}

std::optional<StoredRecord> ArtifactIndex::Get(const ArtifactId& id) const {
  auto txn = env_->BeginRead();
  if (!txn) return std::nullopt;
  auto value = txn->Get(artifacts_, id.hex());
  if (!value) return std::nullopt;
  return Decode(*value);
}

std::vector<StoredRecord> ArtifactIndex::List() const {
  std::vector<StoredRecord> out;
  auto txn = env_->BeginRead();
  if (!txn) return out;
  txn->Scan(artifacts_, "", [&](std::string_view, std::string_view value) {
    if (auto r = Decode(value)) out.push_back(std::move(*r));
    return true;
  });
  return out;
}

Status ArtifactIndex::Put(const StoredRecord& record) {
  const std::string value = Encode(record);
  return env_->Update([&](lmdb::Txn& txn) -> Status {
    if (auto s = txn.Put(artifacts_, record.meta.id.hex(), value); !s) return s;
    if (record.verified) {
      if (auto d = txn.Del(resume_, record.meta.id.hex()); !d) return d.error();
    }
    return Status::Ok();
  });
}

Status ArtifactIndex::Remove(const ArtifactId& id) {
  return env_->Update([&](lmdb::Txn& txn) -> Status {
    if (auto d = txn.Del(artifacts_, id.hex()); !d) return d.error();
    if (auto d = txn.Del(resume_, id.hex()); !d) return d.error();
    if (auto d = txn.Del(last_used_, id.hex()); !d) return d.error();
    return Status::Ok();
  });
}

std::optional<int64_t> ArtifactIndex::GetLastUsed(const ArtifactId& id) const {
  auto txn = env_->BeginRead();
  if (!txn) return std::nullopt;
  auto value = txn->Get(last_used_, id.hex());
  if (!value || value->size() != 8) return std::nullopt;
  return static_cast<int64_t>(lmdb::DecodeU64Key(*value));
}

Status ArtifactIndex::PutLastUsed(const ArtifactId& id, int64_t unix_ms) {
  return env_->Update([&](lmdb::Txn& txn) {
    return txn.Put(last_used_, id.hex(), lmdb::EncodeU64Key(static_cast<uint64_t>(unix_ms)));
  });
}

std::optional<std::vector<char>> ArtifactIndex::GetResume(const ArtifactId& id) const {
  auto txn = env_->BeginRead();
  if (!txn) return std::nullopt;
  auto value = txn->Get(resume_, id.hex());
  if (!value) return std::nullopt;
  return std::vector<char>(value->begin(), value->end());
}

Status ArtifactIndex::PutResume(const ArtifactId& id, const std::vector<char>& data) {
  return env_->Update([&](lmdb::Txn& txn) {
    return txn.Put(resume_, id.hex(), std::string_view(data.data(), data.size()));
  });
}

int64_t FileMtimeNs(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace shoal
