// Copying a whole file into a staged one, as cheaply as its filesystems allow: by sharing its
// blocks (a reflink, on XFS or Btrfs: no bytes move and no space is used until either copy is
// changed), else in the kernel (copy_file_range), else through a buffer. Or, where the operator
// allows it, no copy at all: a second name for the same file (a hard link, core/paths.h).
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/result.h"

namespace shoal {

// Whether copying a file from `source_dir` into `dest_fd` (an empty file open for writing) with
// CopyFileContents would share its blocks rather than write them. Probes with one block: copies
// an unnamed file made in `source_dir` into `dest_fd`, asks the filesystem whether the copy's
// extent is shared (FIEMAP), then empties `dest_fd` again. False on any error (tmpfs and ext4
// cannot share; XFS and Btrfs can, on one filesystem, across bind mounts too).
bool CanShareBlocks(const std::filesystem::path& source_dir, int dest_fd);

// The same probe for a file not made yet: whether a copy from a file in `source_dir` into a new
// file in `dest_dir` would share blocks, so that space checks need not count it. False if
// `dest_dir` does not exist or cannot take an unnamed file.
bool CanShareBlocksInto(const std::filesystem::path& source_dir,
                        const std::filesystem::path& dest_dir);

// Whether a file in `source_dir` can be given a second name in `dest_dir` (link(2)): one
// filesystem, one mount (link refuses across two mounts of one filesystem, EXDEV), a filesystem
// with hard links. Probes for real: an unnamed file made in `source_dir` is linked into
// `dest_dir` under a temporary name (.shoal-tmp-*) and unlinked again.
bool CanHardLinkInto(const std::filesystem::path& source_dir,
                     const std::filesystem::path& dest_dir);

// Copies the first `size` bytes of `in` to `out` (both at offset 0): the kernel's
// copy_file_range, which shares blocks where it can (a reflink) and copies in the kernel where
// it cannot, or a buffer where it refuses (EXDEV: a cache on tmpfs, installs on ext4). `source`
// and `dest` name the files in errors. `may_share` false: always the buffer, so that the copy's
// blocks are its own.
Status CopyFileContents(int in, int out, uint64_t size, const std::filesystem::path& source,
                        const std::filesystem::path& dest, bool may_share = true);

}  // namespace shoal
