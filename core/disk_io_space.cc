#include "core/disk_io_space.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace shoal {
namespace fs = std::filesystem;

namespace {
// /proc/self/mounts escapes spaces and the like as octal (\040).
std::string UnescapeMountField(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        if (s[i + j] < '0' || s[i + j] > '7') octal = false;
        v = v * 8 + (s[i + j] - '0');
      }
      if (octal) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string MountType(const std::string& mount_point) {
  std::ifstream mounts("/proc/self/mounts");
  std::string line, type;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string device, point, fstype;
    if (!(fields >> device >> point >> fstype)) continue;
    if (UnescapeMountField(point) == mount_point) type = fstype;  // the last mount wins
  }
  return type;
}
}  // namespace

Result<FilesystemInfo> FilesystemOf(const fs::path& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  struct stat st {};
  while (::stat(p.c_str(), &st) != 0) {
    if (!p.has_relative_path()) return Error::of(path.string(), "cannot stat it or any parent");
    p = p.parent_path();
  }
  FilesystemInfo info;
  info.device = st.st_dev;
  struct statvfs vfs {};
  if (::statvfs(p.c_str(), &vfs) != 0)
    return Error::of(p.string(), std::string("statvfs: ") + std::strerror(errno));
  info.available = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  // The mount point: the highest ancestor still on the same device.
  fs::path mount = p;
  while (mount.has_relative_path()) {
    struct stat up {};
    if (::stat(mount.parent_path().c_str(), &up) != 0 || up.st_dev != st.st_dev) break;
    mount = mount.parent_path();
  }
  info.mount_point = mount.string();
  info.type = MountType(info.mount_point);
  return info;
}

uint64_t AllocatedBytes(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

Status CheckFreeSpace(const std::vector<SpaceNeed>& needs, std::string_view what) {
  struct Sum {
    FilesystemInfo fs;
    uint64_t bytes = 0;
    std::string where;
  };
  std::map<dev_t, Sum> per_fs;
  for (const auto& need : needs) {
    auto info = FilesystemOf(need.where);
    if (!info) return Error::of(std::string(what), info.error().message);
    Sum& sum = per_fs[info->device];
    if (sum.where.empty()) {
      sum.fs = *info;
      sum.where = need.where.string();
    }
    sum.bytes += need.bytes;
  }
  for (const auto& [dev, sum] : per_fs) {
    if (sum.bytes <= sum.fs.available) continue;
    std::string fs_name = sum.fs.mount_point + (sum.fs.type.empty() ? "" : " (" + sum.fs.type + ")");
    return Error::of(std::string(what), "not enough disk space on " + fs_name + " for " +
                                            sum.where + ": " + std::to_string(sum.bytes) +
                                            " bytes needed, " + std::to_string(sum.fs.available) +
                                            " free");
  }
  return Status::Ok();
}

}  // namespace shoal
