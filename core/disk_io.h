// Shoal's own libtorrent disk back end ("--disk-io shoal"): every job runs inline on
// libtorrent's network thread (no disk thread pool, no per-block handoff between threads), on
// file descriptors kept open for the torrent's life, with pread/pwrite. A v2 block's SHA-256 is
// taken as the block is written, so a piece's hash check needs no read-back of what was just
// written. A download's blocks are held in memory until their piece is complete, which then
// takes one pwrite, not one per 16 KiB block. Errors (ENOSPC, EIO, ...) come back to libtorrent as
// storage errors on the job, which fails that torrent only; nothing is memory-mapped, so a full
// disk cannot raise SIGBUS.
//
// Why inline is enough: a node writes at most a link's rate (~12 MB/s at 100 Mbit/s); a 16 KiB
// pwrite into the page cache and its SHA-256 (SHA-NI) take microseconds, far less than the
// futex wake-ups of handing each block to a disk thread and back.
#pragma once

#include <libtorrent/disk_interface.hpp>
#include <libtorrent/io_context.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/settings_pack.hpp>
#include <memory>

namespace libtorrent {
struct counters;
}  // namespace libtorrent

namespace shoal {

class PieceCache;

// A libtorrent disk_io_constructor (session_params::disk_io_constructor). Pieces of downloads
// are written whole and then kept in `cache` (core/piece_cache.h), which serves reads of them;
// null: no cache (every read is a pread).
libtorrent::disk_io_constructor_type ShoalDiskIoConstructor(std::shared_ptr<PieceCache> cache);

}  // namespace shoal
