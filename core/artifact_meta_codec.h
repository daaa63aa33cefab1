// Conversions between ArtifactMeta and its Cap'n Proto form (proto::ArtifactInfo).
#pragma once

#include "core/artifact_index.h"
#include "core/ingest.h"
#include "proto/common.capnp.h"

namespace shoal {

void ToProto(const ArtifactMeta& meta, proto::ArtifactInfo::Builder out, bool with_torrent);
// Validates the id and field shapes; a malformed message is an Error, never an exception.
Result<ArtifactMeta> FromProto(proto::ArtifactInfo::Reader in);
// Meta for freshly ingested bytes.
ArtifactMeta MetaFromDigests(const IngestDigests& d, std::string name, std::vector<char> torrent,
                             std::string info_hash_hex);

}  // namespace shoal
