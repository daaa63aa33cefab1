// Free-space checks for the node's cache and install destinations: which filesystem a path is
// on, how much of it an unprivileged writer may still use, and one check over several paths that
// fails naming the filesystem and the bytes needed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace shoal {

struct FilesystemInfo {
  std::string mount_point;  // e.g. "/var/lib/shoal"
  std::string type;         // from /proc/self/mounts, e.g. "ext4", "tmpfs"; "" if unknown
  dev_t device = 0;
  uint64_t available = 0;  // bytes an unprivileged writer may still allocate (f_bavail)
};

// The filesystem holding `path`, or its nearest existing ancestor. Fails if none can be stat'ed.
Result<FilesystemInfo> FilesystemOf(const std::filesystem::path& path);

// Bytes of disk actually allocated to `file` (a sparse partial download holds fewer than its
// size); 0 if it does not exist.
uint64_t AllocatedBytes(const std::filesystem::path& file);

struct SpaceNeed {
  std::filesystem::path where;  // a file or directory on the filesystem concerned
  uint64_t bytes = 0;           // still to be written there
};

// Sums the needs per filesystem and fails, for the first one short of space, with
// "<what>: not enough disk space on <mount point> (<type>, for <where>): N bytes needed, M free".
Status CheckFreeSpace(const std::vector<SpaceNeed>& needs, std::string_view what);

}  // namespace shoal
