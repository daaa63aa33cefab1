// One-pass ingest: the calling thread reads the file into a ring of buffers (core/ingest_ring.h)
// while two digest threads consume every buffer side by side:
//   - MD5 alone: it is the slowest digest (~0.7 GB/s here, and inherently serial), so it gets a
//     core to itself and bounds the throughput;
//   - everything else: whole-file SHA-256 and the 16 KiB leaf SHA-256s in one interleaved SHA-NI
//     pass (core/ingest_sha256.h), the per-piece merkle roots, and xxh3-128 (~15 GB/s).
// On 2 cores the second thread plus the reader's copy from the page cache fit in the time MD5
// needs, so ingest runs at about the speed of MD5 alone (bench/hash_bench.cc measures it).
#include "core/ingest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "core/ingest_merkle.h"
#include "core/ingest_pipeline.h"
#include "core/ingest_ring.h"
#include "core/ingest_sha256.h"

namespace shoal {

// Aim for about 1000 pieces (between ~770 and 1536): with fewer, larger pieces a peer waits
// longer before it holds a whole verified piece it can serve (swarm start-up is slower) and
// rarest-first has little to choose from; with many small pieces the per-piece costs grow (HAVE
// messages, bitfields, picker state, hash requests, 32 bytes of piece layer each). For 256 MiB
// this gives 256 KiB pieces (1024 of them). 16 KiB is BEP 52's minimum (one merkle leaf); the
// 16 MiB cap keeps a single piece cheap to buffer and re-fetch on a hash failure, so files
// beyond ~24 GiB simply get more pieces.
int ChoosePieceSize(uint64_t file_size) {
  constexpr uint64_t kTargetMaxPieces = 1536;
  constexpr uint64_t kMin = 16 << 10, kMax = 16 << 20;
  uint64_t piece = kMin;
  while (piece < kMax && (file_size + piece - 1) / piece > kTargetMaxPieces) piece *= 2;
  return static_cast<int>(piece);
}

Result<IngestDigests> HashFile(const std::filesystem::path& path, int piece_size,
                               const ProgressFn& progress) {
  return ingest::HashFileWith(path, piece_size, progress, ingest::PipelineOptions{});
}

namespace ingest {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Fills `buf` from `fd` unless EOF comes first; returns the bytes read, or -errno.
ssize_t ReadFull(int fd, std::span<uint8_t> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

void Md5Worker(BufferRing& ring, int id, Md5& out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  while (auto buf = ring.Next(id)) {
    EVP_DigestUpdate(ctx, buf->data(), buf->size());
    ring.Release(id);
  }
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out.bytes.data(), &len);
  EVP_MD_CTX_free(ctx);
}

// Whole-file SHA-256, the piece layer and xxh3-128.
void ShaWorker(BufferRing& ring, int id, IngestDigests& out, bool portable) {
  StreamAndBlockSha256 sha(portable ? StreamAndBlockSha256::Impl::kPortable
                                    : StreamAndBlockSha256::Impl::kAuto);
  PieceLayerBuilder layer(out.size, out.piece_size, [&sha](const Sha256& l, const Sha256& r) {
    return sha.HashChildren(l, r);
  });
  XXH3_state_t* xxh = XXH3_createState();
  XXH3_128bits_reset(xxh);
  std::vector<Sha256> blocks;
  // Slices of 256 KiB stay in L2 between the SHA pass and the xxh3 pass over them.
  constexpr size_t kSlice = 256 << 10;
  while (auto buf = ring.Next(id)) {
    for (size_t off = 0; off < buf->size(); off += kSlice) {
      auto slice = buf->subspan(off, std::min(kSlice, buf->size() - off));
      blocks.clear();
      sha.Update(slice, blocks);
      layer.AddBlocks(blocks);
      XXH3_128bits_update(xxh, slice.data(), slice.size());
    }
    ring.Release(id);
  }
  out.sha256 = sha.Finish();
  out.piece_roots = layer.Finish();
  XXH128_canonical_t canon;
  XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(xxh));
  std::copy(std::begin(canon.digest), std::end(canon.digest), out.xxh3.bytes.begin());
  XXH3_freeState(xxh);
}

std::string Errno(int err) { return std::strerror(err); }

}  // namespace

Result<IngestDigests> HashFileWith(const std::filesystem::path& path, int piece_size,
                                   const ProgressFn& progress, const PipelineOptions& options) {
  const std::string where = path.string();
  if (piece_size != 0 && (piece_size < static_cast<int>(kLeafBlockSize) ||
                          !std::has_single_bit(static_cast<unsigned>(piece_size)))) {
    return Error::of(
        where, "piece size " + std::to_string(piece_size) + " is not a power of two >= 16 KiB");
  }
  if (options.buffers < 1 || options.buffer_size == 0 ||
      options.buffer_size % kLeafBlockSize != 0) {
    return Error::of(where, "buffer size must be a positive multiple of 16 KiB");
  }
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then rejected below); it has
  // no effect on reads from a regular file.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) return Error::of(where, "cannot open: " + Errno(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Error::of(where, "cannot stat: " + Errno(errno));
  if (S_ISDIR(st.st_mode)) return Error::of(where, "is a directory, not a file");
  if (!S_ISREG(st.st_mode)) return Error::of(where, "not a regular file");
  // Doubles the kernel's read-ahead. Plain buffered reads, not O_DIRECT: a file being ingested
  // was usually just written and sits in the page cache, which O_DIRECT would bypass.
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

  IngestDigests out;
  out.size = static_cast<uint64_t>(st.st_size);
  out.piece_size = piece_size != 0 ? piece_size : ChoosePieceSize(out.size);

  BufferRing ring(options.buffers, options.buffer_size, 2);
  std::jthread md5_thread(Md5Worker, std::ref(ring), 0, std::ref(out.md5));
  std::jthread sha_thread(ShaWorker, std::ref(ring), 1, std::ref(out), options.portable_sha256);

  std::optional<Error> failure;
  const auto grew = [&] {
    return Error::of(where, "file changed size while being read (grew past its " +
                                std::to_string(out.size) + " bytes at open)");
  };
  uint64_t done = 0;
  for (;;) {
    std::span<uint8_t> buf = ring.AcquireForWrite();
    ssize_t n = ReadFull(fd.get(), buf);
    if (n < 0) {
      failure = Error::of(where, "read failed at offset " + std::to_string(done) + ": " +
                                     Errno(static_cast<int>(-n)));
      break;
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
    if (done > out.size) {  // checked before hashing more than the size seen at open
      failure = grew();
      break;
    }
    ring.Publish(static_cast<size_t>(n));
    if (progress) progress(done, out.size);
    if (static_cast<size_t>(n) < buf.size()) {
      // Short read: EOF. Data after it means the file grew; it must not reach the digests,
      // which take a short chunk only as the last one.
      char probe;
      ssize_t m;
      do m = ::read(fd.get(), &probe, 1);
      while (m < 0 && errno == EINTR);
      if (m < 0) failure = Error::of(where, "read failed at EOF: " + Errno(errno));
      if (m > 0) failure = grew();
      break;
    }
  }
  if (!failure && done != out.size) {
    failure = Error::of(where, "file changed size while being read (" + std::to_string(out.size) +
                                   " bytes at open, " + std::to_string(done) + " read)");
  }
  if (failure) {
    ring.Abort();
    return *failure;  // the jthreads join on the way out
  }
  ring.Close();
  md5_thread.join();
  sha_thread.join();
  return out;
}

}  // namespace ingest
}  // namespace shoal
