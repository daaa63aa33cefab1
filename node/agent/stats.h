// Built-in host statistics, read from /proc and statvfs: load, memory, swap, disks, uptime and
// boot identity. A reboot shows as uptime going down and boot_time/boot_id changing.
// The text parsers are separate pure functions so that they can be tested on fixed inputs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace shoal::node {

struct LoadAverage {
  double one = 0, five = 0, fifteen = 0;
};

struct MemoryInfo {
  uint64_t total_bytes = 0, available_bytes = 0;
  uint64_t swap_total_bytes = 0, swap_free_bytes = 0;
};

struct MountUsage {
  std::string mount_point;
  std::string device;
  std::string fs_type;
  uint64_t total_bytes = 0, free_bytes = 0, available_bytes = 0;  // available: to non-root
  uint64_t inodes_total = 0, inodes_free = 0;
};

struct HostStats {
  int64_t collected_unix_ms = 0;
  LoadAverage load;
  MemoryInfo memory;
  std::vector<MountUsage> mounts;
  uint64_t uptime_seconds = 0;
  int64_t boot_time_unix_s = 0;  // /proc/stat btime
  std::string boot_id;           // /proc/sys/kernel/random/boot_id, new on every boot
};

// A metric named for thresholds and the planner's series: "load1", "load5", "load15",
// "mem_total_bytes", "mem_available_bytes", "mem_available_pct", "swap_total_bytes",
// "swap_free_bytes", "uptime_s", "boot_time_s", and per mount "disk_free_pct:<mount>",
// "disk_free_bytes:<mount>", "disk_total_bytes:<mount>", "inodes_free_pct:<mount>".
struct Metric {
  std::string name;
  double value = 0;
  std::string uom;
};
std::vector<Metric> ToMetrics(const HostStats& stats);

// Collects everything. `proc_root` is "/proc" except in tests. Parts that fail (a mount that
// cannot be statvfs'ed, e.g. a stale network mount) are skipped; an error is returned only if
// a mandatory source (loadavg, meminfo, uptime) cannot be read or parsed.
Result<HostStats> CollectHostStats(const std::filesystem::path& proc_root = "/proc");

// Pure parsers of the corresponding /proc files.
Result<LoadAverage> ParseLoadAvg(std::string_view text);
Result<MemoryInfo> ParseMeminfo(std::string_view text);
Result<double> ParseUptime(std::string_view text);
Result<int64_t> ParseBootTime(std::string_view proc_stat);

struct MountEntry {
  std::string device, mount_point, fs_type;
};
// Parses /proc/self/mounts, decoding octal escapes (\040 for space), and keeps only real
// filesystems: pseudo ones (proc, sysfs, cgroup, tmpfs, devtmpfs, overlay's helpers, ...) are
// dropped, as are repeated mounts of the same mount point (the last one wins).
std::vector<MountEntry> ParseMounts(std::string_view text);
bool IsPseudoFilesystem(std::string_view fs_type);

}  // namespace shoal::node
