// TaskRunner: runs a node's tasks as child processes on a Boost.Asio io_context, streaming their
// stdout and stderr as separate, sequenced, binary-safe chunks, with a timeout that kills the
// task's whole process group. Many tasks run concurrently on one thread: every wait (pipes,
// process exit through a pidfd, timers) is an asynchronous operation on the io_context.
//
// What a child gets:
//   - argv built as a vector (interpreter, script, args...): never a shell command line, so no
//     argument is ever re-parsed by a shell;
//   - a clean environment: PATH (a fixed system path), HOME, USER, LOGNAME, SHELL of the run-as
//     account, then the spec's variables (which may override those). Nothing of the daemon's;
//   - its own session and process group (setsid), so the group can be killed as a whole;
//   - no descriptor but 0, 1, 2 (close_range): stdin is /dev/null or the script body;
//   - the run-as account's uid, gid and supplementary groups when the daemon is root.
// A task's process group does not outlive it: when the task's main process exits, whatever is
// left of its group is SIGKILLed (a task that wants to leave a daemon behind must setsid it).
//
// With a cgroup subtree (Options::cgroups, see task_cgroup.h) each task also runs in its own
// cgroup, entered before exec, with the tighter of the policy's and the task's limits; the
// timeout, a cancel and the main process's exit kill the whole cgroup (cgroup.kill), setsid'd
// escapees included, and a task the kernel OOM-killed for its memory limit says so.
//
// When the agent dies, its tasks die with it: every task's main process has PR_SET_PDEATHSIG
// = SIGKILL (set after the uid switch, which would clear it), and the task cgroups left by a
// dead agent (with whatever the main process had started) are killed when the agent starts
// again (CgroupRoot::Open). Tasks are never adopted: the restarted agent reports them as
// interrupted.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "node/agent/task_cgroup.h"

namespace shoal::node {

class Policy;

// Identifies a task on this node (assigned by the planner). A strong type, never a bare integer.
struct TaskId {
  uint64_t v = 0;
  friend auto operator<=>(const TaskId&, const TaskId&) = default;
};

// How the script is run. kExec runs a stored path itself (it must be executable); the others run
// the script with that interpreter, found by absolute path in /usr/local/bin, /usr/bin, /bin.
enum class Interpreter { kSh, kBash, kPython3, kExec };
std::string_view InterpreterName(Interpreter interpreter);  // "sh", "bash", "python3", "exec"
// Parses a name as above; an error names the unknown interpreter.
Result<Interpreter> ParseInterpreter(std::string_view name);
// Returns the absolute path of the interpreter's binary, or an error if none is installed.
// REQUIRES: interpreter != kExec
Result<std::filesystem::path> ResolveInterpreter(Interpreter interpreter);

enum class OutputStream : uint8_t { kStdout = 1, kStderr = 2 };
std::string_view StreamName(OutputStream stream);  // "stdout" / "stderr"

struct TaskSpec {
  TaskId id;
  // Exactly one of the two: the script's text, or the absolute path of a stored script.
  std::optional<std::string> script_body;
  std::optional<std::filesystem::path> script_path;
  // With a script_body: true passes it on the child's stdin (`sh -s`, `python3 -`; stdin is an
  // anonymous memfd holding the body, so nothing touches the disk) instead of writing it to a
  // private temporary file (directory 0700, file 0700, owned by the run-as account, removed
  // when the task ends). Without it, stdin is /dev/null.
  bool body_on_stdin = false;
  Interpreter interpreter = Interpreter::kSh;
  std::vector<std::string> args;  // $1.. for the script (sys.argv[1:] for python)
  // Account to run as; empty means the daemon's own account.
  std::string run_as;
  // Working directory; empty means the task's private temporary directory.
  std::filesystem::path working_dir;
  std::map<std::string, std::string> env;
  // Zero means no limit. On expiry the group gets SIGTERM, then SIGKILL after `kill_grace`.
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  // The task's own limits (applied with the policy's, the tighter of each). A task that asks
  // for a limit the node cannot apply (no cgroup subtree or no such controller) is refused.
  ResourceLimits limits;
};

struct TaskOutcome {
  TaskId id;
  pid_t pid = -1;  // the task's main process, which is also its process group id
  // Exactly one of exit_code / signal is set: how the main process ended.
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool timed_out = false;  // killed because the timeout expired
  bool cancelled = false;  // killed through Cancel()
  bool oom_killed = false;  // the kernel killed a process of the task for its memory limit
  std::optional<uint64_t> memory_max;  // the memory limit it ran under, if any
  int64_t start_unix_ms = 0;
  int64_t end_unix_ms = 0;
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;

  bool succeeded() const { return exit_code == 0 && !timed_out && !cancelled; }
};

// Called for each chunk of output, in order; `seq` counts the task's chunks across both streams
// from 0, so a receiver can restore the interleaving as the runner saw it. `bytes` is valid
// only during the call and holds 1..chunk_size bytes.
using OutputCallback =
    std::function<void(TaskId id, OutputStream stream, uint64_t seq, std::string_view bytes)>;
// Called exactly once per started task, after its last output chunk.
using DoneCallback = std::function<void(const TaskOutcome& outcome)>;

class TaskRunner {
 public:
  struct Options {
    size_t chunk_size = 64 * 1024;  // upper bound of one output chunk
    // Where private per-task directories are created (mode 0700 each); must exist and be
    // reachable (searchable) by the run-as accounts. Empty means the system temp directory.
    std::filesystem::path scratch_dir;
    // When set (not owned; must outlive the runner), every spec passes Policy::Admit first.
    const Policy* policy = nullptr;
    // After the main process exits, how long to wait for the pipes to drain before closing them
    // (a process that escaped the group with setsid may still hold them open).
    std::chrono::milliseconds drain_limit{std::chrono::seconds(2)};
    // When set (not owned; must outlive the runner), every task runs in its own cgroup under it.
    CgroupRoot* cgroups = nullptr;
    // Limits for every task (from the exec policy). Limits the cgroup subtree cannot apply are
    // left out (the agent logs them at start); without `cgroups` none is applied.
    ResourceLimits limits;
  };

  TaskRunner(boost::asio::io_context& io, Options options);
  // Kills (SIGKILL) every running task's group and reaps it; done callbacks are not called.
  ~TaskRunner();
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Validates `spec` (and passes it through the policy), then forks and execs the task. On
  // success the task runs and `on_done` will be called exactly once from the io_context;
  // otherwise returns an error (invalid spec, policy refusal naming the rule, unknown account,
  // missing working directory or interpreter, exec failure) and no callback is ever called.
  // An id that is already running is refused.
  Status Start(TaskSpec spec, OutputCallback on_output, DoneCallback on_done);

  // Kills a running task's process group (SIGTERM, then SIGKILL after its kill_grace); its
  // outcome reports cancelled. Returns false if no such task is running.
  bool Cancel(TaskId id);

  bool IsRunning(TaskId id) const;
  size_t running_count() const;

 private:
  class Task;
  boost::asio::io_context& io_;
  Options options_;
  std::map<TaskId, std::shared_ptr<Task>> tasks_;
};

}  // namespace shoal::node
