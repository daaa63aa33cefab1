@0x81056bcb871b1560;
# Types shared by every Shoal service.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shoal::proto");

struct Failure {
  # A request that could not be served. `message` names what and where.
  message @0 :Text;
}

struct Progress {
  # Long work reports as it goes: `done` of `total` units of `phase` ("hash", "download", ...).
  phase @0 :Text;
  done @1 :UInt64;
  total @2 :UInt64;
  # Optional detail: peers connected, download rate (bytes/s), ...
  peers @3 :UInt32;
  rate @4 :UInt64;
}

struct ArtifactInfo {
  id @0 :Text;         # "sha256:<64 hex>": the content address
  size @1 :UInt64;
  md5 @2 :Text;        # hex
  xxh3 @3 :Text;       # hex, xxh3-128
  name @4 :Text;       # the name it was put under (informational)
  pieceSize @5 :UInt32;
  torrent @6 :Data;    # bencoded BitTorrent v2 torrent; its file is named by the SHA-256 hex
  infoHash @7 :Text;   # hex of the v2 info-hash
}
