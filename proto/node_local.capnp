@0xf1a276858a55260e;
# The node daemon's local admin socket (Unix, owner-only): what `shoal fetch` speaks.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shoal::proto");
using Common = import "common.capnp";

struct NodeRequest {
  union {
    fetch @0 :FetchRequest;
    status @1 :Void;
    cacheList @2 :Void;          # answered with `cache`
    cacheRemove @3 :Text;        # artifact id; answered with `cache` (removed: it)
    cacheGc @4 :CacheGcRequest;  # answered with `cache` (removed: what was evicted)
  }
}

struct CacheGcRequest {
  targetBytes @0 :UInt64;      # evict LRU unpinned objects until the cache holds at most this
  toQuota @1 :Bool;            # ignore targetBytes: the node's --cache-max-bytes (0 if none)
}

struct CacheEntry {
  artifact @0 :Common.ArtifactInfo;  # without torrent
  verified @1 :Bool;                 # false: a download in progress
  pinned @2 :Bool;                   # in use: never evicted
  lastUsedMs @3 :Int64;              # unix ms of the last fetch or install
}

struct CacheReport {
  entries @0 :List(CacheEntry);      # least recently used first (after any removal)
  totalBytes @1 :UInt64;
  pinnedBytes @2 :UInt64;
  maxBytes @3 :UInt64;               # --cache-max-bytes; 0: no quota
  removed @4 :List(Common.ArtifactInfo);
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
    cache @4 :CacheReport;
  }
}
