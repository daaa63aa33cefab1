// Task cgroups (cgroup v2): each task runs in its own cgroup under a subtree delegated to the
// node agent, with optional memory, CPU and pids limits; a timeout or a cancel kills the whole
// cgroup (cgroup.kill), so a process that left the task's process group (setsid, double fork)
// dies with it; a task over its memory limit is killed by the kernel's OOM killer and reported
// as such (memory.events oom_kill).
//
// The subtree: `CgroupRoot::Open(dir)` takes a cgroup v2 directory the agent may write (systemd
// `Delegate=yes` gives the service's own cgroup). LMDB-like rule of cgroup v2: a cgroup that
// hands controllers to its children must hold no process itself ("no internal processes"), so
// when the daemon itself lives in `dir`, it moves itself into `dir/agent` first. Tasks get
// `dir/task-<id>`. Controllers are enabled for the children where `dir` offers them; a limit
// whose controller is missing is reported by `missing()` (the agent logs it at start-up).
//
// Hybrid hosts (cgroup v1 controllers mounted beside a v2 hierarchy that has none of them, as
// on older systemd set-ups and some container hosts): the memory controller cannot be enabled
// in v2 there, so memory limits are applied in the v1 memory hierarchy instead, in a mirror
// directory `<v1 memory mount>/<this process's v1 memory cgroup>/shoal-<dir name>/task-<id>`
// that the task joins too; the v2 cgroup still does the killing.
//
// Without a usable subtree the agent runs tasks without cgroups: a timeout then kills the
// task's process group only, and limits are not applied (logged once at start).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace shoal::node {

// Limits for one task; an unset field is unlimited. Effective limits are the tighter of the
// exec policy's and the task's own.
struct ResourceLimits {
  std::optional<uint64_t> memory_max;  // bytes (memory.max; swap is not limited here)
  std::optional<double> cpus;          // CPUs' worth of time, e.g. 0.5 (cpu.max)
  std::optional<uint64_t> pids_max;    // processes and threads (pids.max)

  bool any() const { return memory_max || cpus || pids_max; }
  // The tighter of each field.
  ResourceLimits TightestWith(const ResourceLimits& other) const;
};

// One task's cgroup. Removed (after killing what is left in it) on destruction.
class TaskCgroup {
 public:
  TaskCgroup(const TaskCgroup&) = delete;
  TaskCgroup& operator=(const TaskCgroup&) = delete;
  ~TaskCgroup();

  const std::filesystem::path& path() const { return path_; }
  // An O_WRONLY descriptor of cgroup.procs: a forked child writes "0" to it to move itself in
  // before exec (so everything it starts is inside from the first instruction).
  int procs_fd() const { return procs_fd_; }
  // The same for the v1 memory cgroup on a hybrid host, or -1.
  int memory_v1_procs_fd() const { return v1_procs_fd_; }

  // Kills every process in the cgroup (cgroup.kill; on kernels without it, SIGKILL to each pid
  // in cgroup.procs until it is empty).
  Status Kill();
  // Whether the kernel OOM-killed a process of this cgroup (memory.events oom_kill > 0).
  bool OomKilled() const;

 private:
  friend class CgroupRoot;
  TaskCgroup(std::filesystem::path path, int procs_fd)
      : path_(std::move(path)), procs_fd_(procs_fd) {}
  std::filesystem::path path_;
  int procs_fd_ = -1;
  std::filesystem::path v1_path_;  // the v1 memory cgroup, empty if none
  int v1_procs_fd_ = -1;
};

class CgroupRoot {
 public:
  // Prepares `dir` (a cgroup v2 directory) for task cgroups, as described above, and kills and
  // removes task cgroups left by a previous run of the agent (their tasks were interrupted).
  // Errors: not cgroup v2, not writable, cannot move the daemon out of it.
  static Result<std::unique_ptr<CgroupRoot>> Open(const std::filesystem::path& dir);
  // The cgroup v2 directory of this process if it is delegated to us (writable and not the root
  // of the hierarchy), for `cgroup_root = auto`; an error says why not.
  static Result<std::filesystem::path> DetectDelegated();

  // Creates the cgroup of task `task_id` with `limits` applied. Errors: a limit whose
  // controller is not available, or the kernel refusing the directory or a value.
  Result<std::unique_ptr<TaskCgroup>> Create(uint64_t task_id, const ResourceLimits& limits);

  const std::filesystem::path& dir() const { return dir_; }
  // The v1 memory mirror on a hybrid host (see above), or empty.
  const std::filesystem::path& memory_v1_dir() const { return memory_v1_; }
  ~CgroupRoot();
  // Names the limits in `limits` that this subtree cannot apply ("memory_max (no memory
  // controller in /sys/fs/cgroup/x)"), empty if all can be.
  std::vector<std::string> Missing(const ResourceLimits& limits) const;

 private:
  explicit CgroupRoot(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
  bool memory_ = false, cpu_ = false, pids_ = false;
  std::filesystem::path memory_v1_;
};

// The agent's set-up from node.conf's `cgroup_root` ("auto", "none" or a directory): the
// subtree, or null when tasks run without cgroups (logged, with the policy limits that will
// not apply). An explicit directory that cannot be used is an error (a misconfiguration);
// "auto" without a delegated cgroup degrades with a logged note.
Result<std::unique_ptr<CgroupRoot>> OpenTaskCgroups(const std::string& setting,
                                                    const ResourceLimits& policy_limits);

}  // namespace shoal::node
