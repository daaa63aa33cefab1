// The BitTorrent v2 piece layer (BEP 52) of one file, built from its 16 KiB block hashes as
// they stream in: one merkle root per piece.
//
// Padding follows libtorrent 2.0.8 (src/create_torrent.cpp, on_hash), so torrents built from
// these roots are byte-identical to lt::set_piece_hashes' output:
// - a file of at least one piece: every piece's subtree has piece_size / 16 KiB leaves; leaves
//   past the end of the file (only in the last piece) are 32 zero bytes;
// - a file smaller than one piece: its single subtree has only as many leaves as the block
//   count rounded up to a power of two (that root is then the file's "pieces root").
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/digest.h"

namespace shoal::ingest {

// SHA-256(left || right).
using HashChildrenFn = std::function<Sha256(const Sha256& left, const Sha256& right)>;

class PieceLayerBuilder {
 public:
  // REQUIRES: piece_size is a power of two >= 16 KiB.
  PieceLayerBuilder(uint64_t file_size, int piece_size, HashChildrenFn hash_children);

  // Takes the next block hashes in file order; completed pieces are reduced to their roots.
  void AddBlocks(const std::vector<Sha256>& block_hashes);

  // Returns one root per piece (none for an empty file).
  // REQUIRES: all ceil(file_size / 16 KiB) block hashes were added.
  std::vector<Sha256> Finish();

 private:
  Sha256 ReducePiece();  // consumes pending_

  int leaves_per_piece_;
  HashChildrenFn hash_children_;
  std::vector<Sha256> pad_;      // pad_[k]: root of a 2^k-leaf subtree of zero leaves
  std::vector<Sha256> pending_;  // block hashes of the piece being filled
  std::vector<Sha256> roots_;
};

}  // namespace shoal::ingest
