#include "core/ingest_merkle.h"

#include <bit>

#include "core/ingest_sha256.h"

namespace shoal::ingest {

PieceLayerBuilder::PieceLayerBuilder(uint64_t file_size, int piece_size,
                                     HashChildrenFn hash_children)
    : hash_children_(std::move(hash_children)) {
  const uint64_t blocks_per_piece = static_cast<uint64_t>(piece_size) / kLeafBlockSize;
  const uint64_t file_blocks = (file_size + kLeafBlockSize - 1) / kLeafBlockSize;
  leaves_per_piece_ = static_cast<int>(file_size < static_cast<uint64_t>(piece_size)
                                           ? std::bit_ceil(std::max<uint64_t>(file_blocks, 1))
                                           : blocks_per_piece);
  pad_.emplace_back();  // a zero leaf
  for (int width = 1; width < leaves_per_piece_; width *= 2) {
    pad_.push_back(hash_children_(pad_.back(), pad_.back()));
  }
  pending_.reserve(static_cast<size_t>(leaves_per_piece_));
  roots_.reserve(static_cast<size_t>((file_size + piece_size - 1) / piece_size));
}

void PieceLayerBuilder::AddBlocks(const std::vector<Sha256>& block_hashes) {
  for (const Sha256& h : block_hashes) {
    pending_.push_back(h);
    if (static_cast<int>(pending_.size()) == leaves_per_piece_) roots_.push_back(ReducePiece());
  }
}

std::vector<Sha256> PieceLayerBuilder::Finish() {
  if (!pending_.empty()) roots_.push_back(ReducePiece());
  return std::move(roots_);
}

// Folds pending_ level by level in place. A level's missing right siblings are the pad subtree
// of that height, so zero leaves are never hashed one by one.
Sha256 PieceLayerBuilder::ReducePiece() {
  size_t n = pending_.size();
  for (size_t level = 0, width = static_cast<size_t>(leaves_per_piece_); width > 1;
       ++level, width /= 2) {
    size_t parents = (n + 1) / 2;
    for (size_t i = 0; i < parents; ++i) {
      const Sha256& right = 2 * i + 1 < n ? pending_[2 * i + 1] : pad_[level];
      pending_[i] = hash_children_(pending_[2 * i], right);
    }
    n = parents;
  }
  Sha256 root = pending_.front();
  pending_.clear();
  return root;
}

}  // namespace shoal::ingest
