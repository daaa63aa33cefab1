#include "node/agent/stats.h"

#include <sys/statvfs.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace shoal::node {
namespace fs = std::filesystem;
namespace {

std::optional<std::string> ReadSmallFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename T>
std::optional<T> ToNumber(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Calls `visit` for each line of `text`.
template <typename F>
void ForEachLine(std::string_view text, F visit) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    visit(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// /proc/self/mounts escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) &&
        is_octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<LoadAverage> ParseLoadAvg(std::string_view text) {
  auto f = Fields(text.substr(0, text.find('\n')));
  if (f.size() < 3) return Error::of("loadavg", "expected three numbers");
  auto a = ToNumber<double>(f[0]), b = ToNumber<double>(f[1]), c = ToNumber<double>(f[2]);
  if (!a || !b || !c) return Error::of("loadavg", "not a number");
  return LoadAverage{*a, *b, *c};
}

Result<MemoryInfo> ParseMeminfo(std::string_view text) {
  std::map<std::string_view, uint64_t> kb;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.size() >= 2 && f[0].size() > 1 && f[0].back() == ':') {
      if (auto v = ToNumber<uint64_t>(f[1])) kb[f[0].substr(0, f[0].size() - 1)] = *v;
    }
  });
  if (!kb.contains("MemTotal")) return Error::of("meminfo", "no MemTotal");
  MemoryInfo m;
  m.total_bytes = kb["MemTotal"] * 1024;
  // MemAvailable exists since Linux 3.14; estimate it on older kernels.
  m.available_bytes = (kb.contains("MemAvailable") ? kb["MemAvailable"]
                                                   : kb["MemFree"] + kb["Buffers"] + kb["Cached"]) *
                      1024;
  m.swap_total_bytes = kb["SwapTotal"] * 1024;
  m.swap_free_bytes = kb["SwapFree"] * 1024;
  return m;
}

Result<double> ParseUptime(std::string_view text) {
  auto f = Fields(text.substr(0, text.find('\n')));
  if (f.empty()) return Error::of("uptime", "empty");
  auto v = ToNumber<double>(f[0]);
  if (!v || *v < 0) return Error::of("uptime", "not a number");
  return *v;
}

Result<int64_t> ParseBootTime(std::string_view proc_stat) {
  std::optional<int64_t> btime;
  ForEachLine(proc_stat, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.size() >= 2 && f[0] == "btime") btime = ToNumber<int64_t>(f[1]);
  });
  if (!btime) return Error::of("stat", "no btime line");
  return *btime;
}

bool IsPseudoFilesystem(std::string_view fs_type) {
  static const std::set<std::string_view> kPseudo = {
      "proc",        "sysfs",    "devtmpfs",    "devpts",     "tmpfs",
      "cgroup",      "cgroup2",  "securityfs",  "pstore",     "debugfs",
      "tracefs",     "configfs", "fusectl",     "mqueue",     "hugetlbfs",
      "bpf",         "autofs",   "binfmt_misc", "rpc_pipefs", "nsfs",
      "efivarfs",    "ramfs",    "squashfs",    "selinuxfs",  "fuse.gvfsd-fuse",
      "fuse.portal", "nfsd",     "rootfs"};
  return kPseudo.contains(fs_type);
}

std::vector<MountEntry> ParseMounts(std::string_view text) {
  std::vector<MountEntry> out;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.size() < 3 || IsPseudoFilesystem(f[2])) return;
    MountEntry e{Unescape(f[0]), Unescape(f[1]), std::string(f[2])};
    if (e.mount_point.empty() || e.mount_point.front() != '/') return;
    // A later mount over the same point hides the earlier one.
    std::erase_if(out, [&](const MountEntry& m) { return m.mount_point == e.mount_point; });
    out.push_back(std::move(e));
  });
  return out;
}

Result<HostStats> CollectHostStats(const fs::path& proc_root) {
  HostStats s;
  s.collected_unix_ms = NowUnixMs();
  auto read = [&](const char* name) -> Result<std::string> {
    auto text = ReadSmallFile(proc_root / name);
    if (!text) return Error::of((proc_root / name).string(), "cannot read");
    return *text;
  };
  auto loadavg = read("loadavg");
  if (!loadavg) return loadavg.error();
  auto load = ParseLoadAvg(*loadavg);
  if (!load) return load.error();
  s.load = *load;

  auto meminfo = read("meminfo");
  if (!meminfo) return meminfo.error();
  auto mem = ParseMeminfo(*meminfo);
  if (!mem) return mem.error();
  s.memory = *mem;

  auto uptime_text = read("uptime");
  if (!uptime_text) return uptime_text.error();
  auto uptime = ParseUptime(*uptime_text);
  if (!uptime) return uptime.error();
  s.uptime_seconds = static_cast<uint64_t>(*uptime);

  if (auto stat = read("stat")) {
    if (auto btime = ParseBootTime(*stat)) s.boot_time_unix_s = *btime;
  }
  if (auto boot_id = read("sys/kernel/random/boot_id")) {
    s.boot_id = *boot_id;
    while (!s.boot_id.empty() && s.boot_id.back() == '\n') s.boot_id.pop_back();
  }
  if (auto mounts = read("self/mounts")) {
    for (auto& m : ParseMounts(*mounts)) {
      struct statvfs v {};
      if (::statvfs(m.mount_point.c_str(), &v) != 0) continue;  // e.g. a stale NFS mount
      MountUsage u{m.mount_point, m.device, m.fs_type};
      u.total_bytes = uint64_t{v.f_blocks} * v.f_frsize;
      u.free_bytes = uint64_t{v.f_bfree} * v.f_frsize;
      u.available_bytes = uint64_t{v.f_bavail} * v.f_frsize;
      u.inodes_total = v.f_files;
      u.inodes_free = v.f_ffree;
      s.mounts.push_back(std::move(u));
    }
  }
  return s;
}

std::vector<Metric> ToMetrics(const HostStats& s) {
  std::vector<Metric> m = {
      {"load1", s.load.one, ""},
      {"load5", s.load.five, ""},
      {"load15", s.load.fifteen, ""},
      {"mem_total_bytes", static_cast<double>(s.memory.total_bytes), "B"},
      {"mem_available_bytes", static_cast<double>(s.memory.available_bytes), "B"},
      {"swap_total_bytes", static_cast<double>(s.memory.swap_total_bytes), "B"},
      {"swap_free_bytes", static_cast<double>(s.memory.swap_free_bytes), "B"},
      {"uptime_s", static_cast<double>(s.uptime_seconds), "s"},
      {"boot_time_s", static_cast<double>(s.boot_time_unix_s), "s"},
  };
  if (s.memory.total_bytes > 0) {
    m.push_back({"mem_available_pct",
                 100.0 * static_cast<double>(s.memory.available_bytes) /
                     static_cast<double>(s.memory.total_bytes),
                 "%"});
  }
  for (const auto& u : s.mounts) {
    m.push_back({"disk_total_bytes:" + u.mount_point, static_cast<double>(u.total_bytes), "B"});
    m.push_back({"disk_free_bytes:" + u.mount_point, static_cast<double>(u.available_bytes), "B"});
    if (u.total_bytes > 0) {
      m.push_back(
          {"disk_free_pct:" + u.mount_point,
           100.0 * static_cast<double>(u.available_bytes) / static_cast<double>(u.total_bytes),
           "%"});
    }
    if (u.inodes_total > 0) {
      m.push_back({"inodes_free_pct:" + u.mount_point,
                   100.0 * static_cast<double>(u.inodes_free) / static_cast<double>(u.inodes_total),
                   "%"});
    }
  }
  return m;
}

}  // namespace shoal::node
