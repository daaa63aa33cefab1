// The PieceCache (core/piece_cache.h): which bytes it hands back, what it evicts, and that a
// reader's bytes outlive their eviction; and the prefix digest reading from it.
#include "core/piece_cache.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "core/prefix_digest.h"
#include "tests/support/process.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

PieceCache::Bytes PieceOf(const std::string& text) {
  auto piece = std::make_shared<PieceCache::Piece>(text.size());
  std::memcpy(piece->data.get(), text.data(), text.size());
  return piece;
}

TEST(PieceCacheTest, FindsTheByteOffsetInsideAHeldPiece) {
  PieceCache cache(1 << 20);
  cache.Put("/objects/a", 1000, PieceOf("0123456789"));
  EXPECT_FALSE(cache.Find("/objects/a", 999));
  EXPECT_FALSE(cache.Find("/objects/a", 1010));  // one past the piece
  EXPECT_FALSE(cache.Find("/objects/b", 1000));  // another file
  auto found = cache.Find("/objects/a", 1004);
  ASSERT_TRUE(found);
  EXPECT_EQ(std::string(found->data(), found->size()), "456789");

  char out[4] = {};
  EXPECT_TRUE(cache.Read("/objects/a", 1006, out, 4));
  EXPECT_EQ(std::string(out, 4), "6789");
  EXPECT_FALSE(cache.Read("/objects/a", 1007, out, 4)) << "would run past the piece";
  EXPECT_FALSE(cache.Read("/objects/a", 5000, out, 1));
  EXPECT_EQ(cache.reads().hits, 1u);
  EXPECT_EQ(cache.reads().misses, 2u);
}

TEST(PieceCacheTest, EvictsTheOldestPiecesPastItsCapacity) {
  PieceCache cache(25);
  cache.Put("f", 0, PieceOf("aaaaaaaaaa"));
  cache.Put("f", 10, PieceOf("bbbbbbbbbb"));
  auto held = cache.Find("f", 0);            // a reader of the first piece
  cache.Put("g", 0, PieceOf("cccccccccc"));  // 30 bytes: the oldest goes
  EXPECT_FALSE(cache.Find("f", 0));
  EXPECT_TRUE(cache.Find("f", 10));
  EXPECT_TRUE(cache.Find("g", 0));
  EXPECT_EQ(cache.bytes(), 20u);
  ASSERT_TRUE(held);
  EXPECT_EQ(std::string(held->data(), held->size()), "aaaaaaaaaa") << "evicted under its reader";

  cache.Put("g", 0, PieceOf("dddddddddd"));  // replaced, not counted twice
  EXPECT_EQ(cache.bytes(), 20u);
  EXPECT_EQ(std::string(cache.Find("g", 5)->data(), 5), "ddddd");
  cache.Put("h", 0, PieceOf(std::string(26, 'x')));  // larger than the whole cache: not held
  EXPECT_FALSE(cache.Find("h", 0));
  EXPECT_EQ(cache.bytes(), 20u);
}

TEST(PieceCacheTest, ErasesOnePieceOrAWholeFile) {
  PieceCache cache(1 << 20);
  cache.Put("f", 0, PieceOf("aaaa"));
  cache.Put("f", 4, PieceOf("bbbb"));
  cache.Put("g", 0, PieceOf("cccc"));
  cache.Erase("f", 0);
  EXPECT_FALSE(cache.Find("f", 1));
  EXPECT_TRUE(cache.Find("f", 5));
  cache.ErasePath("f");
  EXPECT_FALSE(cache.Find("f", 5));
  EXPECT_TRUE(cache.Find("g", 0));
  EXPECT_EQ(cache.bytes(), 4u);
  // Many puts and erases leave the eviction queue bounded, and eviction still right.
  for (int i = 0; i < 10000; ++i) {
    cache.Put("h", 0, PieceOf("hh"));
    cache.Erase("h", 0);
  }
  EXPECT_EQ(cache.bytes(), 4u);
  EXPECT_EQ(std::string(cache.Find("g", 0)->data(), 4), "cccc");
}

// Buffers of evicted pieces go back to the pool and make the next pieces, up to its bound; a
// buffer still read somewhere goes back only when its reader lets go.
TEST(PieceCacheTest, EvictedBuffersAreReusedForNewPieces) {
  PieceCache cache(40);  // two 16-byte pieces; the pool keeps at most 40 bytes
  auto first = cache.NewPiece(16);
  const char* first_buffer = first->data.get();
  cache.Put("f", 0, std::move(first));
  cache.Put("f", 16, cache.NewPiece(16));
  auto reader = cache.Find("f", 0);
  cache.Put("f", 32, cache.NewPiece(16));  // evicts piece 0, still held by the reader
  EXPECT_EQ(cache.pool().kept_bytes(), 0u);
  reader.reset();
  EXPECT_EQ(cache.pool().kept_bytes(), 16u);
  auto next = cache.NewPiece(16);
  EXPECT_EQ(next->data.get(), first_buffer) << "a new buffer instead of the returned one";
  EXPECT_EQ(cache.pool().kept_bytes(), 0u);
  EXPECT_NE(cache.NewPiece(8)->data.get(), nullptr);  // another size: a new buffer

  PiecePool pool(20);
  pool.Give(PageBuffer(16), 16);
  pool.Give(PageBuffer(16), 16);  // past the bound: freed
  EXPECT_EQ(pool.kept_bytes(), 16u);
}

// The digest pass takes held pieces from memory and the rest from the file. The file is changed
// behind the cache's back so that the digests show which source each byte came from.
TEST(PieceCacheTest, PrefixDigestReadsHeldPiecesFromMemory) {
  TempDir dir;
  const fs::path file = dir / "objects" / "object";
  fs::create_directories(file.parent_path());
  constexpr uint64_t kSize = (3 << 20) + 777;
  WriteRandomFile(file, kSize, 5);
  const std::string original = ReadFileBytes(file);
  // Pieces 1 and 2 (256 KiB each) are held; then the file's copy of them is overwritten.
  constexpr size_t kPiece = 256 << 10;
  auto cache = std::make_shared<PieceCache>(64 << 20);
  // The digest names the file by another spelling of the same path.
  const std::string key = file.lexically_normal().string();
  for (size_t at : {kPiece, 2 * kPiece}) cache->Put(key, at, PieceOf(original.substr(at, kPiece)));
  {
    std::ofstream out(file, std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(kPiece));
    out << std::string(2 * kPiece, 'X');
  }
  auto staged = StagedFile::Create(dir / "installed", 0644);
  ASSERT_TRUE(staged);
  // Not sharing blocks: a reflinked install (where TMPDIR is XFS or Btrfs) would be the file's
  // overwritten bytes, which is what this test tells apart from the cache's.
  PrefixDigest digest(dir / "objects" / "." / "object", cache, /*share_blocks=*/false);
  digest.AddSink(std::move(*staged));
  // As a verified prefix grows: by whole pieces, and once to the middle of a held piece.
  for (uint64_t end : {uint64_t{kPiece}, uint64_t{2 * kPiece + 5}, kSize})
    ASSERT_TRUE(digest.AdvanceTo(end));
  EXPECT_EQ(digest.digested_from_memory(), 2 * kPiece);
  auto [sha256, md5] = digest.Final();
  ASSERT_TRUE(digest.sinks()[0].status);
  ASSERT_TRUE(digest.sinks()[0].file.Commit());
  EXPECT_TRUE(ReadFileBytes(dir / "installed") == original) << "the install holds the cached bytes";
  // The digests are the original file's: they came from memory, not from the overwritten file.
  const fs::path original_copy = dir / "original";
  std::ofstream(original_copy, std::ios::binary) << original;
  EXPECT_EQ(sha256.hex(), Sha256Hex(original_copy));
  EXPECT_EQ(md5.hex(), Md5Hex(original_copy));
}

}  // namespace
}  // namespace shoal::testing
