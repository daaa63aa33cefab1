@0xb9a51ec65111fa38;
# The seeder (origin) service: operators put artifacts, nodes look them up.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shoal::proto");
using Common = import "common.capnp";

struct SeederRequest {
  union {
    put @0 :PutRequest;        # admin socket only
    get @1 :Text;              # artifact id; answered with `artifact`
    list @2 :Void;             # answered with `artifacts`
  }
}

struct PutRequest {
  path @0 :Text;               # absolute path readable by the seeder
  name @1 :Text;               # display name; defaults to the file name
}

struct SeederReply {
  union {
    artifact @0 :Common.ArtifactInfo;   # final answer to put and get
    progress @1 :Common.Progress;       # zero or more before the final answer to put
    failure @2 :Common.Failure;
    artifacts @3 :List(Common.ArtifactInfo);  # without torrents
  }
}
