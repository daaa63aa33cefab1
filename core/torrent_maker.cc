// MakeTorrent: a v2-only single-file torrent from HashFile's digests, through libtorrent's own
// create_torrent (so libtorrent parses what we make), without reading the file again.
//
// Deterministic by design: the same bytes, name and piece size always give the same .torrent,
// hence the same info-hash. No trackers (each node adds its own tracker URL, with topology
// parameters, when it adds the torrent), no "creation date", no "created by".
#include <bit>
#include <exception>
#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/file_storage.hpp>

#include "core/ingest.h"

namespace shoal {
namespace {

Status CheckName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
    return Error::of("torrent name '" + name.substr(0, 80) + "'",
                     "must be a single non-empty path element");
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<char>> MakeTorrent(const IngestDigests& digests, const std::string& name) {
  if (auto s = CheckName(name); !s) return s.error();
  if (digests.size == 0) {
    // libtorrent has no representation for a torrent without pieces.
    return Error::of(name, "cannot make a torrent of an empty file");
  }
  const int piece_size = digests.piece_size;
  if (piece_size < 16 * 1024 || !std::has_single_bit(static_cast<unsigned>(piece_size))) {
    return Error::of(
        name, "piece size " + std::to_string(piece_size) + " is not a power of two >= 16 KiB");
  }
  const uint64_t pieces = (digests.size + piece_size - 1) / static_cast<uint64_t>(piece_size);
  if (digests.piece_roots.size() != pieces) {
    return Error::of(name, "expected " + std::to_string(pieces) + " piece roots for " +
                               std::to_string(digests.size) + " bytes, got " +
                               std::to_string(digests.piece_roots.size()));
  }
  try {
    lt::file_storage fs;
    fs.add_file(name, static_cast<std::int64_t>(digests.size));
    lt::create_torrent ct(fs, piece_size, lt::create_torrent::v2_only);
    ct.set_creation_date(0);  // generate() omits a zero date
    for (size_t i = 0; i < digests.piece_roots.size(); ++i) {
      const Sha256& root = digests.piece_roots[i];
      if (root == Sha256{}) {
        // libtorrent treats an all-zero hash as "not set" (and asserts on it).
        return Error::of(name, "piece root " + std::to_string(i) + " is all zeros");
      }
      ct.set_hash2(lt::file_index_t{0}, lt::piece_index_t::diff_type{static_cast<int>(i)},
                   lt::sha256_hash(reinterpret_cast<const char*>(root.bytes.data())));
    }
    std::vector<char> out;
    lt::bencode(std::back_inserter(out), ct.generate());
    return out;
  } catch (const std::exception& e) {
    // create_torrent throws system_error on inputs it rejects (e.g. a piece size it refuses).
    return Error::of(name, std::string("libtorrent could not build the torrent: ") + e.what());
  }
}

}  // namespace shoal
