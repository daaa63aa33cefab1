@0x942ddef350b6f498;
# On-disk records of the artifact stores (seeder store, node cache), kept in LMDB.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shoal::proto");
using Common = import "common.capnp";

struct StoredArtifact {
  info @0 :Common.ArtifactInfo;   # with torrent
  state @1 :State;
  mtimeNs @2 :Int64;              # object file's mtime when last verified: unchanged => no rehash
  addedUnixMs @3 :Int64;

  enum State {
    partial @0;                   # downloading; the object file is incomplete and never exposed
    verified @1;                  # every piece and the whole-file SHA-256 and MD5 checked
  }
}
