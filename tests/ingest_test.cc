// Ingest: one-pass digests and v2 torrents, checked against independent references (OpenSSL
// one-shot digests, xxHash's one-shot API, libtorrent's own set_piece_hashes).
#include "core/ingest.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <fstream>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>
#include <random>
#include <thread>

#include "core/ingest_pipeline.h"
#include "core/ingest_sha256.h"
#include "tests/support/process.h"

namespace shoal {
namespace {
namespace fs = std::filesystem;
using ingest::PipelineOptions;
using testing::ReadFileBytes;
using testing::TempDir;

constexpr int kKiB = 1024;  // int: piece sizes are int in the API
constexpr uint64_t kMiB = 1 << 20;

void WriteBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string Xxh3Hex(const std::string& bytes) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(bytes.data(), bytes.size()));
  return ToHex(c.digest);
}

Sha256 Sha256Of(const void* data, size_t n) {
  Sha256 out;
  unsigned int len = 0;
  EVP_Digest(data, n, out.bytes.data(), &len, EVP_sha256(), nullptr);
  return out;
}

// libtorrent's own torrent for the file at dir/name: the reference MakeTorrent must match.
std::vector<char> LibtorrentTorrent(const fs::path& dir, const std::string& name, uint64_t size,
                                    int piece_size) {
  lt::file_storage files;
  files.add_file(name, static_cast<std::int64_t>(size));
  lt::create_torrent ct(files, piece_size, lt::create_torrent::v2_only);
  ct.set_creation_date(0);
  lt::error_code ec;
  lt::set_piece_hashes(ct, dir.string(), ec);
  EXPECT_FALSE(ec) << ec.message();
  std::vector<char> out;
  lt::bencode(std::back_inserter(out), ct.generate());
  return out;
}

// Both SHA-256 implementations must give identical results; the portable one is what runs on
// CPUs without SHA-NI.
class IngestTest : public ::testing::TestWithParam<bool /*portable_sha256*/> {
 protected:
  Result<IngestDigests> Hash(const fs::path& path, int piece_size = 0,
                             PipelineOptions options = {}) {
    options.portable_sha256 = GetParam();
    return ingest::HashFileWith(path, piece_size, nullptr, options);
  }
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sha256Impl, IngestTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Portable" : "Native"; });

TEST_P(IngestTest, KnownVectors) {
  struct Vector {
    std::string input, md5, sha256;
  };
  const Vector vectors[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e",
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {std::string(1000000, 'a'), "7707d6ae4e027c70eea2a935c2296f21",
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const Vector& v : vectors) {
    fs::path file = dir_ / "v";
    WriteBytes(file, v.input);
    auto d = Hash(file);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->size, v.input.size());
    EXPECT_EQ(d->md5.hex(), v.md5) << v.input.size();
    EXPECT_EQ(d->sha256.hex(), v.sha256) << v.input.size();
    EXPECT_EQ(d->xxh3.hex(), Xxh3Hex(v.input)) << v.input.size();
  }
  // xxh3-128 of "" is a published constant; guards the canonical (big-endian) byte order.
  EXPECT_EQ(Xxh3Hex(""), "99aa06d3014798d86001c324468d497f");
}

TEST_P(IngestTest, AwkwardSizesMatchReferencesAndLibtorrent) {
  constexpr int kPiece = 64 * kKiB;
  const uint64_t sizes[] = {
      1, 16383, 16384, 16385, 3 * 16384 + 5, kPiece - 1, kPiece, kPiece + 1, 5 * kPiece + 12345};
  // Tiny ring buffers too, so every size crosses buffer and piece boundaries in every way.
  for (size_t buffer : {size_t{16} * kKiB, size_t{48} * kKiB, 4 * kMiB}) {
    for (uint64_t size : sizes) {
      SCOPED_TRACE("size " + std::to_string(size) + " buffer " + std::to_string(buffer));
      const std::string name = "f" + std::to_string(size);
      fs::path file = dir_ / name;
      testing::WriteRandomFile(file, size, size);
      PipelineOptions options;
      options.buffer_size = buffer;
      options.buffers = buffer == 16 * kKiB ? 1 : 3;
      auto d = Hash(file, kPiece, options);
      ASSERT_TRUE(d.ok()) << d.error().message;
      EXPECT_EQ(d->size, size);
      EXPECT_EQ(d->md5.hex(), testing::Md5Hex(file));
      EXPECT_EQ(d->sha256.hex(), testing::Sha256Hex(file));
      EXPECT_EQ(d->xxh3.hex(), Xxh3Hex(ReadFileBytes(file)));
      EXPECT_EQ(d->piece_size, kPiece);
      EXPECT_EQ(d->piece_roots.size(), (size + kPiece - 1) / kPiece);

      auto torrent = MakeTorrent(*d, name);
      ASSERT_TRUE(torrent.ok()) << torrent.error().message;
      std::vector<char> reference = LibtorrentTorrent(dir_.path(), name, size, kPiece);
      EXPECT_EQ(*torrent, reference);
      lt::error_code ec;
      lt::torrent_info ti(torrent->data(), static_cast<int>(torrent->size()), ec);
      ASSERT_FALSE(ec) << ec.message();
      EXPECT_TRUE(ti.info_hashes().has_v2());
      EXPECT_FALSE(ti.info_hashes().has_v1());
      EXPECT_EQ(ti.name(), name);
      EXPECT_EQ(static_cast<uint64_t>(ti.files().file_size(lt::file_index_t{0})), size);
      lt::torrent_info ref(reference.data(), static_cast<int>(reference.size()), ec);
      EXPECT_EQ(ti.info_hashes().v2, ref.info_hashes().v2);
    }
  }
}

TEST_P(IngestTest, SmallFileInLargePieceMatchesLibtorrent) {
  // A file smaller than one piece pads its leaves to a power of two, not to the piece size.
  for (uint64_t size : {uint64_t{5 * 16384 + 1}, uint64_t{1}, uint64_t{700 * kKiB}}) {
    fs::path file = dir_ / "small";
    testing::WriteRandomFile(file, size, 7);
    auto d = Hash(file, 1 << 20);
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_EQ(d->piece_roots.size(), 1u);
    auto torrent = MakeTorrent(*d, "small");
    ASSERT_TRUE(torrent.ok()) << torrent.error().message;
    EXPECT_EQ(*torrent, LibtorrentTorrent(dir_.path(), "small", size, 1 << 20)) << size;
  }
}

TEST_P(IngestTest, EmptyFileHashesButMakesNoTorrent) {
  fs::path file = dir_ / "empty";
  WriteBytes(file, "");
  auto d = Hash(file);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->size, 0u);
  EXPECT_TRUE(d->piece_roots.empty());
  EXPECT_EQ(d->piece_size, 16 * kKiB);
  auto torrent = MakeTorrent(*d, "empty");
  ASSERT_FALSE(torrent.ok());
  EXPECT_NE(torrent.error().message.find("empty file"), std::string::npos);
}

TEST_P(IngestTest, SameContentGivesByteIdenticalTorrents) {
  fs::path a = dir_ / "a", b = dir_ / "b";
  testing::WriteRandomFile(a, 3 * kMiB + 3, 11);
  testing::WriteRandomFile(b, 3 * kMiB + 3, 11);
  auto da = Hash(a), db = Hash(b);
  ASSERT_TRUE(da.ok() && db.ok());
  auto ta = MakeTorrent(*da, "x"), tb = MakeTorrent(*db, "x");
  ASSERT_TRUE(ta.ok() && tb.ok());
  EXPECT_EQ(*ta, *tb);
  std::string text(ta->begin(), ta->end());
  EXPECT_EQ(text.find("creation date"), std::string::npos);
  EXPECT_EQ(text.find("announce"), std::string::npos);
}

// BEP 52 by hand, independent of both Shoal and libtorrent: leaves are SHA-256 of 16 KiB
// blocks, missing leaves zero, a piece's tree has piece_size / 16 KiB leaves.
Sha256 ReferencePieceRoot(int fd, uint64_t file_size, int piece_size, uint64_t piece) {
  std::vector<Sha256> level;
  std::vector<char> block(16 * kKiB);
  for (uint64_t off = piece * piece_size; off < (piece + 1) * piece_size; off += 16 * kKiB) {
    if (off >= file_size) {
      level.emplace_back();
      continue;
    }
    size_t n = std::min<uint64_t>(16 * kKiB, file_size - off);
    EXPECT_EQ(::pread(fd, block.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    level.push_back(Sha256Of(block.data(), n));
  }
  while (level.size() > 1) {
    std::vector<Sha256> up;
    for (size_t i = 0; i < level.size(); i += 2) {
      uint8_t pair[64];
      std::copy(level[i].bytes.begin(), level[i].bytes.end(), pair);
      std::copy(level[i + 1].bytes.begin(), level[i + 1].bytes.end(), pair + 32);
      up.push_back(Sha256Of(pair, 64));
    }
    level = std::move(up);
  }
  return level[0];
}

// A 3 GiB sparse file, streamed once: exercises 64-bit offsets and hundreds of ring cycles.
TEST(IngestSparseTest, MultiGigabyteSparseFile) {
  TempDir dir;
  fs::path file = dir / "sparse";
  const uint64_t size = (3ull << 30) - 12345;
  const std::pair<uint64_t, std::string> writes[] = {{0, "head"},
                                                     {(1ull << 30) + 7, "middle"},
                                                     {(2ull << 30) + (6 << 20) - 3, "across"},
                                                     {size - 5, "tail!"}};
  {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    for (const auto& [off, text] : writes) {
      ASSERT_EQ(::pwrite(fd, text.data(), text.size(), static_cast<off_t>(off)),
                static_cast<ssize_t>(text.size()));
    }
    ::close(fd);
  }
  // References from OpenSSL and xxHash's one-shot-equivalent streaming API, from a separate
  // read of the file running beside HashFile.
  std::string md5_ref, sha_ref, xxh_ref;
  std::jthread reference([&] {
    EVP_MD_CTX* md5 = EVP_MD_CTX_new();
    EVP_MD_CTX* sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md5, EVP_md5(), nullptr);
    EVP_DigestInit_ex(sha, EVP_sha256(), nullptr);
    XXH3_state_t* xxh = XXH3_createState();
    XXH3_128bits_reset(xxh);
    std::ifstream in(file, std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      auto n = static_cast<size_t>(in.gcount());
      EVP_DigestUpdate(md5, buf.data(), n);
      EVP_DigestUpdate(sha, buf.data(), n);
      XXH3_128bits_update(xxh, buf.data(), n);
    }
    uint8_t out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(md5, out, &len);
    md5_ref = ToHex({out, len});
    EVP_DigestFinal_ex(sha, out, &len);
    sha_ref = ToHex({out, len});
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(xxh));
    xxh_ref = ToHex(c.digest);
    XXH3_freeState(xxh);
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(md5);
  });

  uint64_t last = 0;
  bool monotonic = true;
  auto d = HashFile(file, 0, [&](uint64_t done, uint64_t total) {
    monotonic = monotonic && done > last && total == size;
    last = done;
  });
  reference.join();
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(monotonic);
  EXPECT_EQ(last, size);
  EXPECT_EQ(d->size, size);
  EXPECT_EQ(d->md5.hex(), md5_ref);
  EXPECT_EQ(d->sha256.hex(), sha_ref);
  EXPECT_EQ(d->xxh3.hex(), xxh_ref);
  EXPECT_EQ(d->piece_size, ChoosePieceSize(size));
  ASSERT_EQ(d->piece_roots.size(), (size + d->piece_size - 1) / d->piece_size);

  // Every piece: all-zero pieces share one root; the written ones and the short last piece
  // are computed by hand.
  int fd = ::open(file.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  const uint64_t piece = static_cast<uint64_t>(d->piece_size);
  std::vector<bool> special(d->piece_roots.size());
  special.back() = true;
  for (const auto& [off, text] : writes) {
    special[off / piece] = special[(off + text.size() - 1) / piece] = true;
  }
  const Sha256 zero_root = ReferencePieceRoot(fd, size, d->piece_size, 1);  // piece 1 is empty
  for (size_t i = 0; i < d->piece_roots.size(); ++i) {
    Sha256 want = special[i] ? ReferencePieceRoot(fd, size, d->piece_size, i) : zero_root;
    ASSERT_EQ(d->piece_roots[i], want) << "piece " << i;
  }
  ::close(fd);
}

TEST(IngestErrorsTest, MissingFileAndDirectoryNameThePath) {
  TempDir dir;
  auto missing = HashFile(dir / "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find((dir / "nope").string()), std::string::npos);
  auto directory = HashFile(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.error().message.find(dir.path().string()), std::string::npos);
  EXPECT_NE(directory.error().message.find("directory"), std::string::npos);
  // A FIFO is refused at once (opening it must not wait for a writer).
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  auto fifo = HashFile(dir / "fifo");
  ASSERT_FALSE(fifo.ok());
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
}

TEST(IngestErrorsTest, RejectsBadPieceSizes) {
  TempDir dir;
  WriteBytes(dir / "f", "abc");
  for (int bad : {-1, 1, 8 * kKiB, 48 * kKiB}) {
    auto d = HashFile(dir / "f", bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.error().message.find("piece size"), std::string::npos);
  }
}

TEST(IngestErrorsTest, FileGrowingOrShrinkingWhileReadIsAnError) {
  TempDir dir;
  fs::path file = dir / "moving";
  PipelineOptions options;
  options.buffer_size = 1 * kMiB;
  for (bool grow : {true, false}) {
    testing::WriteRandomFile(file, 6 * kMiB, 3);
    bool changed = false;
    // The reader calls progress between reads: change the file right after the first buffer.
    auto d = ingest::HashFileWith(
        file, 0,
        [&](uint64_t, uint64_t) {
          if (changed) return;
          changed = true;
          if (grow) {
            std::ofstream(file, std::ios::binary | std::ios::app) << "more";
          } else {
            fs::resize_file(file, 2 * kMiB + 5);
          }
        },
        options);
    ASSERT_FALSE(d.ok()) << (grow ? "grow" : "shrink");
    EXPECT_NE(d.error().message.find("changed size"), std::string::npos) << d.error().message;
    EXPECT_NE(d.error().message.find(file.string()), std::string::npos);
  }
}

TEST(IngestErrorsTest, MakeTorrentRejectsBadInput) {
  IngestDigests d;
  d.size = 100;
  d.piece_size = 16 * kKiB;
  d.piece_roots.resize(1);
  d.piece_roots[0].bytes[0] = 1;
  EXPECT_TRUE(MakeTorrent(d, "ok").ok());
  EXPECT_FALSE(MakeTorrent(d, "").ok());
  EXPECT_FALSE(MakeTorrent(d, "a/b").ok());
  EXPECT_FALSE(MakeTorrent(d, "..").ok());
  IngestDigests wrong_count = d;
  wrong_count.piece_roots.push_back(d.piece_roots[0]);
  EXPECT_FALSE(MakeTorrent(wrong_count, "x").ok());
  IngestDigests bad_piece = d;
  bad_piece.piece_size = 20000;
  EXPECT_FALSE(MakeTorrent(bad_piece, "x").ok());
  IngestDigests zero_root = d;
  zero_root.piece_roots[0] = Sha256{};
  EXPECT_FALSE(MakeTorrent(zero_root, "x").ok());
}

TEST(ChoosePieceSizeTest, PowerOfTwoAboutAThousandPiecesWithinBounds) {
  EXPECT_EQ(ChoosePieceSize(0), 16 * kKiB);
  EXPECT_EQ(ChoosePieceSize(1), 16 * kKiB);
  EXPECT_EQ(ChoosePieceSize(256 * kMiB), 256 * kKiB);
  EXPECT_EQ(ChoosePieceSize(1ull << 40), 16 << 20);
  for (uint64_t size = 1; size < (1ull << 42); size = size * 3 + 1) {
    int p = ChoosePieceSize(size);
    EXPECT_TRUE(std::has_single_bit(static_cast<unsigned>(p)));
    EXPECT_GE(p, 16 * kKiB);
    EXPECT_LE(p, 16 << 20);
    uint64_t pieces = (size + p - 1) / p;
    if (p > 16 * kKiB && p < (16 << 20)) {
      EXPECT_GT(pieces, 768u) << size;
      EXPECT_LE(pieces, 1536u) << size;
    }
  }
}

// The SHA-256 pair directly: random chunkings against OpenSSL, block by block.
TEST(StreamAndBlockSha256Test, MatchesOpenSslForAnyChunking) {
  std::mt19937_64 rng(5);
  std::string data(40 * 16384 + 777, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (auto impl :
       {ingest::StreamAndBlockSha256::Impl::kAuto, ingest::StreamAndBlockSha256::Impl::kPortable}) {
    ingest::StreamAndBlockSha256 sha(impl);
    std::vector<Sha256> blocks;
    const auto* p = reinterpret_cast<const uint8_t*>(data.data());
    size_t off = 0;
    while (data.size() - off >= 16384) {
      size_t n = 16384 * (1 + rng() % 5);
      n = std::min(n, (data.size() - off) / 16384 * 16384);
      sha.Update({p + off, n}, blocks);
      off += n;
    }
    sha.Update({p + off, data.size() - off}, blocks);
    EXPECT_THROW(sha.Update({p, 16384}, blocks), std::logic_error);
    EXPECT_EQ(sha.Finish(), Sha256Of(data.data(), data.size()));
    ASSERT_EQ(blocks.size(), 41u);
    for (size_t i = 0; i < blocks.size(); ++i) {
      size_t n = std::min<size_t>(16384, data.size() - i * 16384);
      EXPECT_EQ(blocks[i], Sha256Of(data.data() + i * 16384, n)) << i;
    }
    Sha256 l = blocks[0], r = blocks[1];
    uint8_t pair[64];
    std::copy(l.bytes.begin(), l.bytes.end(), pair);
    std::copy(r.bytes.begin(), r.bytes.end(), pair + 32);
    EXPECT_EQ(sha.HashChildren(l, r), Sha256Of(pair, 64));
  }
}

}  // namespace
}  // namespace shoal
