@0xf1a276858a55260e;
# The node daemon's local admin socket (Unix, owner-only): what `shoal fetch` speaks.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shoal::proto");
using Common = import "common.capnp";

struct NodeRequest {
  union {
    fetch @0 :FetchRequest;
    status @1 :Void;
  }
}

struct FetchRequest {
  id @0 :Text;          # artifact id
  dest @1 :Text;        # absolute install path, inside the node's allowed roots; empty: cache only
  mode @2 :UInt32 = 420;  # 0644
}

struct FetchResult {
  artifact @0 :Common.ArtifactInfo;  # without torrent
  path @1 :Text;                     # where it was installed (or the cache path)
  seconds @2 :Float64;               # time from request to verified
  downloadedBytes @3 :UInt64;        # payload this fetch took from peers
  fromCache @4 :Bool;
}

struct NodeStatus {
  name @0 :Text;
  artifacts @1 :List(Common.ArtifactInfo);
  uploadedBytes @2 :UInt64;      # payload served to peers since start
  downloadedBytes @3 :UInt64;
}

struct NodeReply {
  union {
    progress @0 :Common.Progress;
    fetched @1 :FetchResult;
    failure @2 :Common.Failure;
    status @3 :NodeStatus;
  }
}
