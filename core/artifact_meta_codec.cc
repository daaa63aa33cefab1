#include "core/artifact_meta_codec.h"

#include "core/framing.h"

namespace shoal {

void ToProto(const ArtifactMeta& meta, proto::ArtifactInfo::Builder out, bool with_torrent) {
  out.setId(meta.id.str());
  out.setSize(meta.size);
  out.setMd5(meta.md5_hex);
  out.setXxh3(meta.xxh3_hex);
  out.setName(meta.name);
  out.setPieceSize(meta.piece_size);
  out.setInfoHash(meta.info_hash_hex);
  if (with_torrent) {
    out.setTorrent(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(meta.torrent.data()), meta.torrent.size()));
  }
}

Result<ArtifactMeta> FromProto(proto::ArtifactInfo::Reader in) {
  auto fields = ReadSafely([&]() {
    ArtifactMeta m;
    m.size = in.getSize();
    m.md5_hex = in.getMd5().cStr();
    m.xxh3_hex = in.getXxh3().cStr();
    m.name = in.getName().cStr();
    m.piece_size = in.getPieceSize();
    m.info_hash_hex = in.getInfoHash().cStr();
    auto t = in.getTorrent();
    m.torrent.assign(reinterpret_cast<const char*>(t.begin()),
                     reinterpret_cast<const char*>(t.end()));
    return std::make_pair(std::string(in.getId().cStr()), std::move(m));
  });
  if (!fields) return fields.error();
  auto id = ArtifactId::Parse(fields->first);
  if (!id) return id.error();
  ArtifactMeta meta = std::move(fields->second);
  meta.id = *id;
  if (Md5 md5; !FromHex(meta.md5_hex, md5.bytes)) {
    return Error::of("artifact " + meta.id.str(), "malformed md5 '" + meta.md5_hex + "'");
  }
  return meta;
}

ArtifactMeta MetaFromDigests(const IngestDigests& d, std::string name, std::vector<char> torrent,
                             std::string info_hash_hex) {
  ArtifactMeta m;
  m.id = ArtifactId{d.sha256};
  m.size = d.size;
  m.md5_hex = d.md5.hex();
  m.xxh3_hex = d.xxh3.hex();
  m.name = std::move(name);
  m.piece_size = static_cast<uint32_t>(d.piece_size);
  m.info_hash_hex = std::move(info_hash_hex);
  m.torrent = std::move(torrent);
  return m;
}

}  // namespace shoal
