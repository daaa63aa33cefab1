#include "node/agent/task_cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/log.h"

namespace shoal::node {
namespace fs = std::filesystem;

namespace {

Error Errno(const fs::path& where, const char* what, int err = errno) {
  return Error::of(where.string(), std::string(what) + ": " + std::strerror(err));
}

// Writes `value` to a cgroup control file in one write(2), as the kernel wants.
Status WriteControl(const fs::path& file, const std::string& value) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Errno(file, "open");
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return Errno(file, ("write '" + value + "'").c_str(), err);
  return Status::Ok();
}

std::string ReadControl(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<pid_t> Procs(const fs::path& cgroup) {
  std::vector<pid_t> out;
  std::istringstream in(ReadControl(cgroup / "cgroup.procs"));
  pid_t pid;
  while (in >> pid) out.push_back(pid);
  return out;
}

bool HasWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

Status KillAll(const fs::path& cgroup) {
  if (WriteControl(cgroup / "cgroup.kill", "1")) return Status::Ok();
  // Kernels before 5.14 have no cgroup.kill: signal every member until none is left (a fork
  // racing with us shows up in the next read).
  for (int round = 0; round < 100; ++round) {
    auto procs = Procs(cgroup);
    if (procs.empty()) return Status::Ok();
    for (pid_t p : procs) ::kill(p, SIGKILL);
  }
  return Error::of(cgroup.string(), "processes keep appearing; could not kill them all");
}

// Kills what is left and removes the directory. Killed processes leave the cgroup as the kernel
// finishes them, so rmdir may need a few tries; a leftover is swept at the agent's next start.
void KillAndRemove(const fs::path& cgroup) {
  (void)KillAll(cgroup);
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(cgroup.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  SHOAL_LOG(Warn) << "cannot remove cgroup " << cgroup.string() << ": " << std::strerror(errno);
}

// The v1 memory hierarchy's directory for this process (mount point + its memory cgroup), or
// empty when the memory controller is not mounted as v1.
fs::path V1MemoryCgroup() {
  std::string self;
  {
    std::ifstream cg("/proc/self/cgroup");
    std::string line;
    while (std::getline(cg, line)) {
      // "4:memory:/some/path" (a v1 hierarchy may carry several controllers: "4:cpu,memory:/")
      auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos) continue;
      std::string controllers = "," + line.substr(c1 + 1, c2 - c1 - 1) + ",";
      if (controllers.find(",memory,") != std::string::npos) self = line.substr(c2 + 1);
    }
  }
  if (self.empty()) return {};
  std::ifstream mounts("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    auto dash = line.find(" - cgroup ");
    if (dash == std::string::npos) continue;
    std::string super = "," + line.substr(line.rfind(' ') + 1) + ",";
    if (super.find(",memory,") == std::string::npos) continue;
    std::istringstream in(line.substr(0, dash));
    std::string f, root, point;
    in >> f >> f >> f >> root >> point;
    if (root != "/") continue;
    return fs::path(point) / fs::path(self).relative_path();
  }
  return {};
}

uint64_t OomKills(const std::string& text) {
  std::istringstream in(text);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

}  // namespace

CgroupRoot::~CgroupRoot() {
  if (!memory_v1_.empty()) ::rmdir(memory_v1_.c_str());  // fails (harmlessly) if not empty
}

ResourceLimits ResourceLimits::TightestWith(const ResourceLimits& other) const {
  auto tighter = [](auto a, auto b) -> decltype(a) {
    if (a && b) return std::min(*a, *b);
    return a ? a : b;
  };
  return ResourceLimits{tighter(memory_max, other.memory_max), tighter(cpus, other.cpus),
                        tighter(pids_max, other.pids_max)};
}

TaskCgroup::~TaskCgroup() {
  if (procs_fd_ >= 0) ::close(procs_fd_);
  if (v1_procs_fd_ >= 0) ::close(v1_procs_fd_);
  KillAndRemove(path_);
  if (!v1_path_.empty()) KillAndRemove(v1_path_);
}

Status TaskCgroup::Kill() { return KillAll(path_); }

bool TaskCgroup::OomKilled() const {
  if (OomKills(ReadControl(path_ / "memory.events")) > 0) return true;
  return !v1_path_.empty() && OomKills(ReadControl(v1_path_ / "memory.oom_control")) > 0;
}

Result<fs::path> CgroupRoot::DetectDelegated() {
  std::ifstream cg("/proc/self/cgroup");
  std::string line, relative;
  while (std::getline(cg, line)) {
    if (line.rfind("0::", 0) == 0) relative = line.substr(3);
  }
  if (relative.empty()) return Error{"no cgroup v2 hierarchy in /proc/self/cgroup"};
  std::ifstream mounts("/proc/self/mountinfo");
  fs::path mount;
  while (std::getline(mounts, line)) {
    // "... mount-point ... - cgroup2 source options"
    auto dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream in(line.substr(0, dash));
    std::string field, root, point;
    in >> field >> field >> field >> root >> point;
    if (root == "/") mount = point;
  }
  if (mount.empty()) return Error{"no cgroup2 file system mounted"};
  if (relative == "/") {
    return Error{"this process is in the root cgroup of " + mount.string() +
                 ": nothing is delegated (e.g. systemd Delegate=yes); set cgroup_root"};
  }
  fs::path dir = mount / fs::path(relative).relative_path();
  if (::access((dir / "cgroup.subtree_control").c_str(), W_OK) != 0 ||
      ::access(dir.c_str(), W_OK) != 0) {
    return Error::of(dir.string(), "not delegated to this user (not writable)");
  }
  return dir;
}

Result<std::unique_ptr<CgroupRoot>> CgroupRoot::Open(const fs::path& dir) {
  if (!fs::exists(dir / "cgroup.controllers")) {
    return Error::of(dir.string(), "not a cgroup v2 directory (no cgroup.controllers)");
  }
  if (::access((dir / "cgroup.procs").c_str(), W_OK) != 0 || ::access(dir.c_str(), W_OK) != 0) {
    return Errno(dir, "not writable");
  }
  std::unique_ptr<CgroupRoot> root(new CgroupRoot(dir));
  // No internal processes: the daemon leaves the directory whose controllers it hands out.
  auto procs = Procs(dir);
  if (std::find(procs.begin(), procs.end(), ::getpid()) != procs.end()) {
    std::error_code ec;
    fs::create_directory(dir / "agent", ec);
    if (ec) return Error::of((dir / "agent").string(), ec.message());
    if (auto s = WriteControl(dir / "agent" / "cgroup.procs", std::to_string(::getpid())); !s) {
      return s.error();
    }
  }
  // Task cgroups a previous run left behind: their tasks were interrupted with it.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("task-", 0) == 0) {
      SHOAL_LOG(Warn) << "killing leftover task cgroup " << entry.path().string();
      KillAndRemove(entry.path());
    }
  }
  // Leftovers in the v1 memory mirror of a hybrid host, too (set up below).
  std::string available = ReadControl(dir / "cgroup.controllers");
  for (auto [name, flag] :
       {std::pair{"memory", &root->memory_}, {"cpu", &root->cpu_}, {"pids", &root->pids_}}) {
    if (!HasWord(available, name)) continue;
    if (HasWord(ReadControl(dir / "cgroup.subtree_control"), name)) {
      *flag = true;
      continue;
    }
    Status s = WriteControl(dir / "cgroup.subtree_control", std::string("+") + name);
    if (s) {
      *flag = true;
    } else {
      SHOAL_LOG(Warn) << "cgroup " << dir.string() << ": cannot enable the " << name
                      << " controller for tasks: " << s.error().message;
    }
  }
  if (!root->memory_) {
    // A hybrid host: the memory controller is a v1 hierarchy's.
    fs::path v1 = V1MemoryCgroup();
    if (!v1.empty() && ::access(v1.c_str(), W_OK) == 0) {
      fs::path mirror = v1 / ("shoal-" + dir.filename().string());
      std::error_code ec;
      fs::create_directory(mirror, ec);
      if (!ec && fs::exists(mirror / "memory.limit_in_bytes")) {
        for (const auto& entry : fs::directory_iterator(mirror, ec)) {
          if (entry.is_directory() && entry.path().filename().string().rfind("task-", 0) == 0) {
            KillAndRemove(entry.path());
          }
        }
        root->memory_v1_ = mirror;
        SHOAL_LOG(Info) << "cgroup " << dir.string()
                        << " has no memory controller (a hybrid v1/v2 host): memory limits go "
                           "through the v1 memory controller at "
                        << mirror.string();
      }
    }
  }
  return root;
}

std::vector<std::string> CgroupRoot::Missing(const ResourceLimits& limits) const {
  std::vector<std::string> out;
  auto need = [&](bool wanted, bool have, const char* limit, const char* controller) {
    if (wanted && !have) {
      out.push_back(std::string(limit) + " (no " + controller + " controller in " + dir_.string() +
                    ")");
    }
  };
  need(limits.memory_max.has_value(), memory_ || !memory_v1_.empty(), "memory_max", "memory");
  need(limits.cpus.has_value(), cpu_, "cpu_max", "cpu");
  need(limits.pids_max.has_value(), pids_, "pids_max", "pids");
  return out;
}

Result<std::unique_ptr<TaskCgroup>> CgroupRoot::Create(uint64_t task_id,
                                                       const ResourceLimits& limits) {
  if (auto missing = Missing(limits); !missing.empty()) {
    return Error{"cannot apply " + missing.front()};
  }
  fs::path path = dir_ / ("task-" + std::to_string(task_id));
  if (fs::exists(path)) KillAndRemove(path);
  if (::mkdir(path.c_str(), 0755) != 0) return Errno(path, "mkdir");
  int fd = ::open((path / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    Error e = Errno(path / "cgroup.procs", "open");
    ::rmdir(path.c_str());
    return e;
  }
  std::unique_ptr<TaskCgroup> cgroup(new TaskCgroup(path, fd));
  if (limits.memory_max && memory_) {
    if (auto s = WriteControl(path / "memory.max", std::to_string(*limits.memory_max)); !s) {
      return s.error();
    }
    // Over the limit means killed, not swapped out for ever.
    if (fs::exists(path / "memory.swap.max")) (void)WriteControl(path / "memory.swap.max", "0");
  } else if (limits.memory_max) {
    fs::path v1 = memory_v1_ / ("task-" + std::to_string(task_id));
    if (fs::exists(v1)) KillAndRemove(v1);
    if (::mkdir(v1.c_str(), 0755) != 0) return Errno(v1, "mkdir");
    cgroup->v1_path_ = v1;
    const std::string bytes = std::to_string(*limits.memory_max);
    if (auto s = WriteControl(v1 / "memory.limit_in_bytes", bytes); !s) return s.error();
    if (fs::exists(v1 / "memory.memsw.limit_in_bytes")) {  // memory + swap: no swapping out
      (void)WriteControl(v1 / "memory.memsw.limit_in_bytes", bytes);
    }
    cgroup->v1_procs_fd_ = ::open((v1 / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (cgroup->v1_procs_fd_ < 0) return Errno(v1 / "cgroup.procs", "open");
  }
  if (limits.cpus) {
    constexpr long kPeriod = 100000;
    long quota = std::max(1000L, std::lround(*limits.cpus * kPeriod));
    if (auto s =
            WriteControl(path / "cpu.max", std::to_string(quota) + " " + std::to_string(kPeriod));
        !s) {
      return s.error();
    }
  }
  if (limits.pids_max) {
    if (auto s = WriteControl(path / "pids.max", std::to_string(*limits.pids_max)); !s) {
      return s.error();
    }
  }
  return cgroup;
}

Result<std::unique_ptr<CgroupRoot>> OpenTaskCgroups(const std::string& setting,
                                                    const ResourceLimits& policy_limits) {
  std::unique_ptr<CgroupRoot> root;
  if (setting == "none") {
    SHOAL_LOG(Info) << "tasks run without cgroups (cgroup_root = none)";
  } else if (setting.empty() || setting == "auto") {
    auto dir = CgroupRoot::DetectDelegated();
    if (!dir) {
      SHOAL_LOG(Info) << "tasks run without cgroups: " << dir.error().message
                      << "; a timeout kills the task's process group only";
    } else if (auto opened = CgroupRoot::Open(*dir); !opened) {
      SHOAL_LOG(Info) << "tasks run without cgroups: " << opened.error().message;
    } else {
      root = std::move(*opened);
    }
  } else {
    auto opened = CgroupRoot::Open(setting);
    if (!opened) return Error{"cgroup_root: " + opened.error().message};
    root = std::move(*opened);
  }
  if (root) {
    SHOAL_LOG(Info) << "each task runs in its own cgroup under " << root->dir().string();
    for (const auto& m : root->Missing(policy_limits)) {
      SHOAL_LOG(Warn) << "exec policy limit not applied: " << m;
    }
  } else if (policy_limits.any()) {
    SHOAL_LOG(Warn) << "exec policy limits (memory_max, cpu_max, pids_max) not applied: "
                       "no cgroup subtree";
  }
  return root;
}

}  // namespace shoal::node
