// The whole-file SHA-256 and MD5 of a file that is still being written, advanced over its
// verified prefix as that grows (issue 12: a download's check runs while it downloads, so that
// at its last piece only a short tail is left to hash). Every byte digested is also written to
// each sink (a staged install, core/paths.h) from the same buffer, so installing the file
// afterwards needs no second read of it. Where the filesystem lets the install share the file's
// blocks, the install is instead a clone made at the end, and nothing is written; where it
// cannot but links are allowed (`link_sinks`), a hard link to the file made at the end. Pieces
// still in the swarm's PieceCache (just written by the download) are digested from memory; the
// rest is read from the file.
//
// Not thread-safe: one thread drives a PrefixDigest (the node's digest worker).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/paths.h"
#include "core/piece_cache.h"
#include "core/result.h"

namespace shoal {

class PrefixDigest {
 public:
  // `share_blocks` false: every sink is written, even where it could share the file's blocks.
  // `link_sinks`: a sink on the file's mount that cannot share its blocks becomes a second name
  // of the file (a hard link, StagedFile::LinkTo) at the end, and is never written.
  explicit PrefixDigest(std::filesystem::path file,
                        std::shared_ptr<const PieceCache> cache = nullptr, bool share_blocks = true,
                        bool link_sinks = false);
  ~PrefixDigest();
  PrefixDigest(const PrefixDigest&) = delete;
  PrefixDigest& operator=(const PrefixDigest&) = delete;

  uint64_t digested() const { return digested_; }
  uint64_t digested_from_memory() const { return from_memory_; }
  // The first error (a read of the file failed): digesting stopped there.
  const std::optional<Error>& error() const { return error_; }

  // Digests bytes [digested(), end) of the file and writes them to every sink. The caller
  // promises those bytes are final (libtorrent verified their pieces). Fails if the file cannot
  // be read that far.
  Status AdvanceTo(uint64_t end);

  // Adds a copy destination. Bytes already digested are copied to it now (read back from the
  // file); later ones as they are digested. A sink whose write fails is kept with its error, and
  // the digests and the other sinks go on. A sink that can share the file's blocks (a reflink,
  // core/file_copy.h), or that will be linked to it, is not written here: FillSharedSinks()
  // fills it at the end.
  void AddSink(StagedFile sink);

  // Fills every sink that shares blocks or links, once the whole file is digested: a copy that
  // shares the file's blocks (no bytes written; where the filesystem no longer can, the kernel
  // copies), or the file itself under the sink's name (where the link is refused, a copy).
  void FillSharedSinks();

  struct Sink {
    StagedFile file;
    Status status;
    bool shares_blocks = false;
    bool links = false;  // to be (or, after FillSharedSinks, is) a hard link to the file
    bool written() const { return !shares_blocks && !links; }
  };
  std::vector<Sink>& sinks() { return sinks_; }

  // The digests of the bytes digested so far. Call once.
  std::pair<Sha256, Md5> Final();

 private:
  bool OpenFile();
  void WriteSink(Sink& sink, const char* data, size_t len, uint64_t offset);
  void Digest(const char* data, size_t len);        // digests and writes to every sink
  void StartWriteback(uint64_t from, uint64_t to);  // of the file, for sinks sharing its blocks

  std::filesystem::path path_;
  std::shared_ptr<const PieceCache> cache_;
  std::string cache_key_;
  bool share_blocks_;
  bool link_sinks_;
  uint64_t from_memory_ = 0;
  int fd_ = -1;
  EVP_MD_CTX* sha256_ = nullptr;
  EVP_MD_CTX* md5_ = nullptr;
  uint64_t digested_ = 0;
  std::optional<Error> error_;
  std::vector<Sink> sinks_;
  std::vector<char> buf_;
};

}  // namespace shoal
