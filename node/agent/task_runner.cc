#include "node/agent/task_runner.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "core/log.h"
#include "node/agent/policy.h"

namespace shoal::node {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error Errno(const std::string& where, const char* what, int err = errno) {
  return Error::of(where, std::string(what) + ": " + std::strerror(err));
}

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Returns a pipe whose ends are close-on-exec and numbered >= 3, so that the child's dup2 onto
// 0..2 can never clobber another end.
Status MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Errno("pipe", "pipe2");
  for (int& fd : fds) {
    if (fd < 3) {
      int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      ::close(fd);
      fd = moved;
    }
  }
  read_end.Reset(fds[0]);
  write_end.Reset(fds[1]);
  if (read_end.get() < 0 || write_end.get() < 0) return Errno("pipe", "fcntl");
  return Status::Ok();
}

struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home, shell;
  std::vector<gid_t> groups;
};

Result<Account> LookupAccount(const std::string& name) {
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  int rc = name.empty() ? ::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found)
                        : ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return Errno("run_as " + name, "getpwnam", rc);
  if (!found) {
    return Error::of("run_as", name.empty() ? "the daemon's uid has no passwd entry"
                                            : "no such account '" + name + "'");
  }
  Account a{pw.pw_name,
            pw.pw_uid,
            pw.pw_gid,
            pw.pw_dir ? pw.pw_dir : "/",
            pw.pw_shell ? pw.pw_shell : "/bin/sh",
            {}};
  int n = 64;
  a.groups.resize(n);
  while (::getgrouplist(a.name.c_str(), a.gid, a.groups.data(), &n) < 0) a.groups.resize(n);
  a.groups.resize(n);
  return a;
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

Status ValidateSpec(const TaskSpec& spec) {
  const std::string where = "task " + std::to_string(spec.id.v);
  if (spec.script_body.has_value() == spec.script_path.has_value()) {
    return Error::of(where, "exactly one of script_body and script_path must be given");
  }
  if (spec.script_path && !spec.script_path->is_absolute()) {
    return Error::of(where, "script_path must be absolute: " + spec.script_path->string());
  }
  if (spec.script_body && spec.interpreter == Interpreter::kExec) {
    return Error::of(where, "interpreter 'exec' needs a stored script_path, not a body");
  }
  if (!spec.script_body && spec.body_on_stdin) {
    return Error::of(where, "body_on_stdin needs a script_body");
  }
  if (!spec.working_dir.empty() && !spec.working_dir.is_absolute()) {
    return Error::of(where, "working_dir must be absolute: " + spec.working_dir.string());
  }
  for (const auto& arg : spec.args) {
    if (HasNul(arg)) return Error::of(where, "an argument contains a NUL byte");
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos || HasNul(name) || HasNul(value)) {
      return Error::of(where, "invalid environment variable name '" + name + "'");
    }
  }
  if (spec.timeout.count() < 0 || spec.kill_grace.count() < 0) {
    return Error::of(where, "timeout and kill_grace must not be negative");
  }
  return Status::Ok();
}

// What the child reports through the exec-status pipe when it fails before execve succeeds.
struct ChildFailure {
  int stage;
  int err;
};
constexpr const char* kStages[] = {"setsid", "dup2",   "close_range", "chdir",  "setgroups",
                                   "setgid", "setuid", "execve",      "cgroup", "pdeathsig"};
constexpr int kStageCount = sizeof kStages / sizeof kStages[0];

// Runs in the forked child: only async-signal-safe calls. Never returns.
[[noreturn]] void ExecChild(int stdin_fd, int out_fd, int err_fd, int status_fd, int cgroup_fd,
                            int memory_v1_fd, pid_t parent, const char* cwd, bool switch_ids,
                            const Account& account, char* const argv[], char* const envp[]) {
  auto fail = [&](int stage) {
    ChildFailure f{stage, errno};
    [[maybe_unused]] ssize_t n = ::write(status_fd, &f, sizeof f);
    ::_exit(127);
  };
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // undo SIG_IGN too
  // Into the task's cgroup first: everything it runs is inside from the start.
  if (cgroup_fd >= 0 && ::write(cgroup_fd, "0", 1) != 1) fail(8);
  if (memory_v1_fd >= 0 && ::write(memory_v1_fd, "0", 1) != 1) fail(8);
  if (::setsid() < 0) fail(0);
  if (::dup2(stdin_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) fail(1);
  // Close everything else but the status pipe (close-on-exec, so execve closes it).
  if ((status_fd > 3 && ::close_range(3, status_fd - 1, 0) != 0) ||
      ::close_range(status_fd + 1, ~0U, 0) != 0) {
    fail(2);
  }
  ::umask(022);
  if (::chdir(cwd) != 0) fail(3);
  if (switch_ids) {
    if (::setgroups(account.groups.size(), account.groups.data()) != 0) fail(4);
    if (::setgid(account.gid) != 0) fail(5);
    if (::setuid(account.uid) != 0) fail(6);
  }
  // Dies with the agent. Set after the uid switch (which clears it); a parent that died
  // before this line is caught by the getppid check.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(9);
  if (::getppid() != parent) ::_exit(127);
  ::execve(argv[0], argv, envp);
  fail(7);
  ::_exit(127);
}

}  // namespace

std::string_view InterpreterName(Interpreter interpreter) {
  switch (interpreter) {
    case Interpreter::kSh:
      return "sh";
    case Interpreter::kBash:
      return "bash";
    case Interpreter::kPython3:
      return "python3";
    case Interpreter::kExec:
      return "exec";
  }
  return "?";
}

Result<Interpreter> ParseInterpreter(std::string_view name) {
  for (auto i : {Interpreter::kSh, Interpreter::kBash, Interpreter::kPython3, Interpreter::kExec}) {
    if (InterpreterName(i) == name) return i;
  }
  return Error::of("interpreter", "unknown interpreter '" + std::string(name) +
                                      "' (known: sh, bash, python3, exec)");
}

Result<fs::path> ResolveInterpreter(Interpreter interpreter) {
  // A fixed list of system directories, never the daemon's PATH: what runs must not depend on
  // the environment the daemon happened to be started with.
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    fs::path candidate = fs::path(dir) / InterpreterName(interpreter);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return Error::of("interpreter", std::string(InterpreterName(interpreter)) +
                                      " is not installed in /usr/local/bin, /usr/bin or /bin");
}

std::string_view StreamName(OutputStream stream) {
  return stream == OutputStream::kStdout ? "stdout" : "stderr";
}

// One running task: its pipes, its pidfd, its timers. Handlers hold a shared_ptr to it; once
// `runner_` is null (the runner is gone or the task is done) they do nothing.
class TaskRunner::Task : public std::enable_shared_from_this<Task> {
 public:
  Task(TaskRunner* runner, TaskSpec spec, OutputCallback on_output, DoneCallback on_done)
      : runner_(runner),
        spec_(std::move(spec)),
        on_output_(std::move(on_output)),
        on_done_(std::move(on_done)),
        out_(runner->io_),
        err_(runner->io_),
        pidfd_(runner->io_),
        timeout_timer_(runner->io_),
        kill_timer_(runner->io_),
        drain_timer_(runner->io_) {
    outcome_.id = spec_.id;
  }

  Status Spawn(const Account& account, bool switch_ids, std::unique_ptr<TaskCgroup> cgroup);
  void Begin();
  void Terminate(bool timed_out);
  void set_memory_max(std::optional<uint64_t> bytes) { outcome_.memory_max = bytes; }
  // The runner is going away: kill and reap synchronously, call nothing.
  void Abandon();

 private:
  void Read(OutputStream stream);
  void OnExit();
  void MaybeFinish();
  void RemovePrivateDir();

  TaskRunner* runner_;
  TaskSpec spec_;
  OutputCallback on_output_;
  DoneCallback on_done_;
  asio::posix::stream_descriptor out_, err_, pidfd_;
  asio::steady_timer timeout_timer_, kill_timer_, drain_timer_;
  std::vector<char> out_buf_, err_buf_;
  pid_t pid_ = -1;
  bool out_open_ = true, err_open_ = true, exited_ = false, terminating_ = false;
  uint64_t seq_ = 0;
  fs::path private_dir_;
  TaskOutcome outcome_;
  std::unique_ptr<TaskCgroup> cgroup_;  // null without a cgroup subtree
};

Status TaskRunner::Task::Spawn(const Account& account, bool switch_ids,
                               std::unique_ptr<TaskCgroup> cgroup) {
  const std::string where = "task " + std::to_string(spec_.id.v);
  cgroup_ = std::move(cgroup);
  // Private directory: the default working directory and the home of a script file.
  fs::path scratch = runner_->options_.scratch_dir;
  if (scratch.empty()) scratch = fs::temp_directory_path();
  std::string tmpl = (scratch / ("shoal-task-" + std::to_string(spec_.id.v) + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) return Errno(scratch.string(), "mkdtemp");
  private_dir_ = tmpl;
  if (switch_ids && ::chown(private_dir_.c_str(), account.uid, account.gid) != 0) {
    return Errno(private_dir_.string(), "chown");
  }

  std::vector<std::string> args;
  Fd stdin_fd;
  if (spec_.interpreter == Interpreter::kExec) {
    args.push_back(spec_.script_path->string());
  } else {
    auto interpreter = ResolveInterpreter(spec_.interpreter);
    if (!interpreter) return interpreter.error();
    args.push_back(interpreter->string());
    if (spec_.script_path) {
      args.push_back(spec_.script_path->string());
    } else if (spec_.body_on_stdin) {
      if (spec_.interpreter == Interpreter::kPython3) {
        args.push_back("-");
      } else {
        args.insert(args.end(), {"-s", "--"});
      }
      stdin_fd.Reset(::memfd_create("shoal-task-body", MFD_CLOEXEC));
      if (stdin_fd.get() < 0) return Errno(where, "memfd_create");
      const std::string& body = *spec_.script_body;
      for (size_t done = 0; done < body.size();) {
        ssize_t n = ::write(stdin_fd.get(), body.data() + done, body.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Errno(where, "write script body");
        done += n;
      }
      if (::lseek(stdin_fd.get(), 0, SEEK_SET) != 0) return Errno(where, "lseek");
    } else {
      fs::path script = private_dir_ / "script";
      Fd fd(::open(script.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700));
      if (fd.get() < 0) return Errno(script.string(), "create");
      const std::string& body = *spec_.script_body;
      for (size_t done = 0; done < body.size();) {
        ssize_t n = ::write(fd.get(), body.data() + done, body.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Errno(script.string(), "write");
        done += n;
      }
      if (switch_ids && ::fchown(fd.get(), account.uid, account.gid) != 0) {
        return Errno(script.string(), "chown");
      }
      args.push_back(script.string());
    }
  }
  args.insert(args.end(), spec_.args.begin(), spec_.args.end());
  if (stdin_fd.get() < 0) {
    stdin_fd.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (stdin_fd.get() < 0) return Errno("/dev/null", "open");
  }

  std::map<std::string, std::string> env{{"PATH", kSystemPath},
                                         {"HOME", account.home},
                                         {"USER", account.name},
                                         {"LOGNAME", account.name},
                                         {"SHELL", account.shell}};
  for (const auto& [k, v] : spec_.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);

  // Everything the child needs is built before fork: it may only make async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string cwd = spec_.working_dir.empty() ? private_dir_.string() : spec_.working_dir.string();

  Fd out_r, out_w, err_r, err_w, status_r, status_w;
  if (auto s = MakePipe(out_r, out_w); !s) return s;
  if (auto s = MakePipe(err_r, err_w); !s) return s;
  if (auto s = MakePipe(status_r, status_w); !s) return s;

  outcome_.start_unix_ms = NowUnixMs();
  const pid_t parent = ::getpid();
  const int cgroup_fd = cgroup_ ? cgroup_->procs_fd() : -1;
  const int memory_v1_fd = cgroup_ ? cgroup_->memory_v1_procs_fd() : -1;
  pid_t pid = ::fork();
  if (pid < 0) return Errno(where, "fork");
  if (pid == 0) {
    ExecChild(stdin_fd.get(), out_w.get(), err_w.get(), status_w.get(), cgroup_fd, memory_v1_fd,
              parent, cwd.c_str(), switch_ids, account, argv.data(), envp.data());
  }
  pid_ = pid;
  outcome_.pid = pid;
  out_w.Reset();
  err_w.Reset();
  status_w.Reset();
  stdin_fd.Reset();

  // The status pipe reaches EOF at a successful execve (close-on-exec) or carries the failure.
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(status_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    std::string stage =
        failure.stage >= 0 && failure.stage < kStageCount ? kStages[failure.stage] : "?";
    std::string subject = stage == "chdir"    ? cwd
                          : stage == "execve" ? args[0]
                          : stage == "cgroup" ? cgroup_->path().string()
                                              : account.name;
    return Error::of(where, stage + " " + subject + ": " + std::strerror(failure.err));
  }

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int err = errno;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return Errno(where, "pidfd_open (needs Linux 5.3+)", err);
  }
  pidfd_.assign(pidfd);
  out_.assign(out_r.release());
  err_.assign(err_r.release());
  out_.non_blocking(true);
  err_.non_blocking(true);
  return Status::Ok();
}

void TaskRunner::Task::Begin() {
  auto self = shared_from_this();
  out_buf_.resize(runner_->options_.chunk_size);
  err_buf_.resize(runner_->options_.chunk_size);
  Read(OutputStream::kStdout);
  Read(OutputStream::kStderr);
  pidfd_.async_wait(asio::posix::descriptor_base::wait_read,
                    [self](const boost::system::error_code& ec) {
                      if (!ec && self->runner_) self->OnExit();
                    });
  if (spec_.timeout.count() > 0) {
    timeout_timer_.expires_after(spec_.timeout);
    timeout_timer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec && self->runner_ && !self->exited_) self->Terminate(/*timed_out=*/true);
    });
  }
}

void TaskRunner::Task::Read(OutputStream stream) {
  auto& desc = stream == OutputStream::kStdout ? out_ : err_;
  auto& buf = stream == OutputStream::kStdout ? out_buf_ : err_buf_;
  desc.async_read_some(asio::buffer(buf), [self = shared_from_this(), stream, &buf](
                                              const boost::system::error_code& ec, size_t n) {
    if (!self->runner_) return;
    if (n > 0) {
      (stream == OutputStream::kStdout ? self->outcome_.stdout_bytes
                                       : self->outcome_.stderr_bytes) += n;
      if (self->on_output_) {
        self->on_output_(self->spec_.id, stream, self->seq_++, {buf.data(), n});
      }
    }
    if (!self->runner_) return;  // the callback may have destroyed the runner
    if (!ec) return self->Read(stream);
    // EOF, or the drain limit closed the pipe.
    auto& desc = stream == OutputStream::kStdout ? self->out_ : self->err_;
    boost::system::error_code ignored;
    desc.close(ignored);
    (stream == OutputStream::kStdout ? self->out_open_ : self->err_open_) = false;
    self->MaybeFinish();
  });
}

void TaskRunner::Task::Terminate(bool timed_out) {
  if (exited_ || terminating_) return;
  terminating_ = true;
  (timed_out ? outcome_.timed_out : outcome_.cancelled) = true;
  ::kill(-pid_, SIGTERM);  // the leader is not reaped yet, so the group id is still ours
  kill_timer_.expires_after(spec_.kill_grace);
  kill_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || !self->runner_ || self->exited_) return;
    ::kill(-self->pid_, SIGKILL);
    if (self->cgroup_) (void)self->cgroup_->Kill();  // and whatever left the process group
  });
}

void TaskRunner::Task::OnExit() {
  // Kill what is left of the group BEFORE reaping the leader: while the leader is a zombie its
  // pid (the group id) cannot be reused, so this signal reaches only this task's processes.
  ::kill(-pid_, SIGKILL);
  if (cgroup_) (void)cgroup_->Kill();  // and whatever left the group: the cgroup holds it all
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) {  // not exited after all (spurious wakeup): wait again
    pidfd_.async_wait(asio::posix::descriptor_base::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                        if (!ec && self->runner_) self->OnExit();
                      });
    return;
  }
  exited_ = true;
  if (r == pid_ && WIFEXITED(status)) outcome_.exit_code = WEXITSTATUS(status);
  if (r == pid_ && WIFSIGNALED(status)) outcome_.signal = WTERMSIG(status);
  boost::system::error_code ignored;
  pidfd_.close(ignored);
  timeout_timer_.cancel();
  kill_timer_.cancel();
  if (out_open_ || err_open_) {
    // Processes that escaped the group (setsid) may hold the pipes: stop waiting after a while.
    drain_timer_.expires_after(runner_->options_.drain_limit);
    drain_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->runner_) return;
      boost::system::error_code ignored;
      self->out_.cancel(ignored);
      self->err_.cancel(ignored);
    });
  }
  MaybeFinish();
}

void TaskRunner::Task::MaybeFinish() {
  if (!exited_ || out_open_ || err_open_ || !runner_) return;
  drain_timer_.cancel();
  outcome_.end_unix_ms = NowUnixMs();
  if (cgroup_) {
    outcome_.oom_killed = cgroup_->OomKilled();
    cgroup_.reset();  // removes it
  }
  RemovePrivateDir();
  TaskRunner* runner = std::exchange(runner_, nullptr);
  auto self = shared_from_this();  // keep alive past the erase
  runner->tasks_.erase(spec_.id);
  if (on_done_) on_done_(outcome_);
}

void TaskRunner::Task::RemovePrivateDir() {
  if (private_dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(private_dir_, ec);
  if (ec) {
    SHOAL_LOG(Warn) << "cannot remove " << private_dir_ << ": " << ec.message();
  }
  private_dir_.clear();
}

void TaskRunner::Task::Abandon() {
  runner_ = nullptr;
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  boost::system::error_code ignored;
  out_.close(ignored);
  err_.close(ignored);
  pidfd_.close(ignored);
  timeout_timer_.cancel();
  kill_timer_.cancel();
  drain_timer_.cancel();
  cgroup_.reset();
  RemovePrivateDir();
}

TaskRunner::TaskRunner(asio::io_context& io, Options options)
    : io_(io), options_(std::move(options)) {
  if (options_.chunk_size == 0) options_.chunk_size = 64 * 1024;
}

TaskRunner::~TaskRunner() {
  auto tasks = std::move(tasks_);
  for (auto& [id, task] : tasks) task->Abandon();
}

Status TaskRunner::Start(TaskSpec spec, OutputCallback on_output, DoneCallback on_done) {
  if (auto s = ValidateSpec(spec); !s) return s;
  if (tasks_.contains(spec.id)) {
    return Error::of("task " + std::to_string(spec.id.v), "a task with this id is running");
  }
  if (options_.policy) {
    auto admitted = options_.policy->Admit(std::move(spec));
    if (!admitted) return admitted.error();
    spec = std::move(admitted).value();
  }
  const TaskId id = spec.id;
  auto account = LookupAccount(spec.run_as);
  if (!account) return account.error();
  const bool root = ::geteuid() == 0;
  if (!root && account->uid != ::geteuid()) {
    return Error::of("run_as " + account->name,
                     "the daemon is not root and so can run tasks only as itself");
  }
  // Limits: the task's own must all be applicable; the policy's apply where they can (the
  // agent logged the others at start).
  const std::string where = "task " + std::to_string(id.v);
  ResourceLimits limits = spec.limits;
  if (limits.any() && !options_.cgroups) {
    return Error::of(where, "resource limits need a cgroup v2 subtree (cgroup_root in node.conf)");
  }
  std::unique_ptr<TaskCgroup> cgroup;
  if (options_.cgroups) {
    if (auto missing = options_.cgroups->Missing(limits); !missing.empty()) {
      return Error::of(where, "cannot apply " + missing.front());
    }
    ResourceLimits policy = options_.limits;
    if (!options_.cgroups->Missing(ResourceLimits{policy.memory_max, {}, {}}).empty())
      policy.memory_max.reset();
    if (!options_.cgroups->Missing(ResourceLimits{{}, policy.cpus, {}}).empty())
      policy.cpus.reset();
    if (!options_.cgroups->Missing(ResourceLimits{{}, {}, policy.pids_max}).empty())
      policy.pids_max.reset();
    limits = limits.TightestWith(policy);
    auto created = options_.cgroups->Create(id.v, limits);
    if (!created) return Error::of(where, created.error().message);
    cgroup = std::move(*created);
  }
  auto task =
      std::make_shared<Task>(this, std::move(spec), std::move(on_output), std::move(on_done));
  task->set_memory_max(limits.memory_max);
  Status spawned = task->Spawn(*account, root, std::move(cgroup));
  if (!spawned) {
    task->Abandon();
    return spawned;
  }
  tasks_.emplace(id, task);
  task->Begin();
  return Status::Ok();
}

bool TaskRunner::Cancel(TaskId id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return false;
  it->second->Terminate(/*timed_out=*/false);
  return true;
}

bool TaskRunner::IsRunning(TaskId id) const { return tasks_.contains(id); }
size_t TaskRunner::running_count() const { return tasks_.size(); }

}  // namespace shoal::node
