// `shoal run 'CMD' --on TARGET...`: runs a command on hosts, prints a live progress line
// (done/ok/failed/running of N) on stderr, then one line per host. Exit status: 0 if every
// host succeeded, 1 otherwise (--no-wait: the run id is printed and nothing awaited). A lost
// planner connection is re-attached (tools/shoal/planner_call.cc); the request carries a random
// request id, so re-sending it after a drop never starts a second run.
#include <capnp/message.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "core/framing.h"
#include "core/units.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"
#include "tools/shoal/task_end.h"

namespace shoal::cli {
namespace {

struct RunFlags {
  PlannerFlags planner;
  std::string body, script, interpreter = "sh", run_as, cwd, request_id;
  std::vector<std::string> targets, env, args;
  double timeout_s = 0;
  std::string wait_offline;
  bool no_wait = false, quiet = false;
};

int Run(const RunFlags& f) {
  capnp::MallocMessageBuilder request;
  auto root = request.initRoot<proto::CliRequest>();
  // Sent again after a lost connection: still one run.
  root.setRequestId(f.request_id.empty() ? NewRequestId() : f.request_id);
  auto run = root.initRun();
  auto targets = run.initTargets(f.targets.size());
  for (size_t i = 0; i < f.targets.size(); ++i) targets.set(i, f.targets[i]);
  auto task = run.initTask();
  task.setBody(f.body);
  task.setStoredScript(f.script);
  task.setInterpreter(f.interpreter);
  auto args = task.initArgs(f.args.size());
  for (size_t i = 0; i < f.args.size(); ++i) args.set(i, f.args[i]);
  task.setRunAs(f.run_as);
  task.setWorkingDir(f.cwd);
  auto env = task.initEnv(f.env.size());
  for (size_t i = 0; i < f.env.size(); ++i) {
    auto eq = f.env[i].find('=');
    if (eq == std::string::npos) {
      std::cerr << "shoal run: --env wants KEY=VALUE\n";
      return 2;
    }
    env[i].setKey(f.env[i].substr(0, eq));
    env[i].setValue(f.env[i].substr(eq + 1));
  }
  task.setTimeoutMs(static_cast<uint64_t>(f.timeout_s * 1000));
  if (!f.wait_offline.empty()) {
    auto wait = ParseAgeMs(f.wait_offline);
    if (!wait) {
      std::cerr << "shoal run: --wait-offline " << wait.error().message << "\n";
      return 2;
    }
    run.setWaitOfflineMs(static_cast<uint64_t>(*wait));
  }
  auto started = CallPlanner(f.planner, request);
  uint64_t run_id = started->Root<proto::CliReply>().getRunStatus().getRunId();
  std::printf("run %lu\n", static_cast<unsigned long>(run_id));
  std::fflush(stdout);
  if (f.no_wait) return 0;

  bool tty = isatty(STDERR_FILENO);
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    capnp::MallocMessageBuilder q;
    q.initRoot<proto::CliRequest>().initRunStatus().setRunId(run_id);
    auto reply = CallPlanner(f.planner, q, run_id);
    auto st = reply->Root<proto::CliReply>().getRunStatus();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bool finished = st.getDone() == st.getTotal();
    if (!f.quiet && (tty || finished)) {
      std::fprintf(stderr, "%srun %lu: %u/%u done, %u ok, %u failed, %u running (%.1fs)%s",
                   tty ? "\r\033[K" : "", static_cast<unsigned long>(run_id), st.getDone(),
                   st.getTotal(), st.getOk(), st.getFailed(), st.getRunning(), secs,
                   finished || !tty ? "\n" : "");
    }
    if (finished) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a display refresh
  }
  capnp::MallocMessageBuilder q;
  auto rq = q.initRoot<proto::CliRequest>().initRunStatus();
  rq.setRunId(run_id);
  rq.setWithResults(true);
  auto reply = CallPlanner(f.planner, q, run_id);
  auto st = reply->Root<proto::CliReply>().getRunStatus();
  for (auto r : st.getResults()) {
    auto res = r.getResult();
    std::string how = TaskEndName(res.getEnd());
    if (res.getEnd() == proto::TaskEnd::EXITED) how += " " + std::to_string(res.getExitCode());
    if (res.getEnd() == proto::TaskEnd::SIGNALED) how += " " + std::to_string(res.getSignal());
    bool ok = res.getEnd() == proto::TaskEnd::EXITED && res.getExitCode() == 0;
    double dur = (res.getEndedMs() - res.getStartedMs()) / 1000.0;
    std::printf("%-24s %-4s %-14s %7.2fs  out %lu B  err %lu B%s%s\n",
                std::string(r.getHost()).c_str(), ok ? "OK" : "FAIL", how.c_str(),
                res.getStartedMs() ? dur : 0.0, static_cast<unsigned long>(res.getStdoutBytes()),
                static_cast<unsigned long>(res.getStderrBytes()), res.getError().size() ? "  " : "",
                std::string(res.getError()).c_str());
  }
  return st.getOk() == st.getTotal() ? 0 : 1;
}

}  // namespace

void AddRunCommand(CLI::App& app) {
  static RunFlags f;
  auto* cmd = app.add_subcommand("run", "run a command on hosts and show every host's result");
  AddPlannerFlags(cmd, f.planner);
  AddReattachFlag(cmd, f.planner);
  cmd->add_option("command", f.body, "script body (run by --interpreter)");
  cmd->add_option("--on", f.targets, "HOST | GROUP | key=value | all (repeatable)")->required();
  cmd->add_option("--script", f.script, "run a script stored on the nodes (absolute path)");
  cmd->add_option("--interpreter,-i", f.interpreter, "sh, bash, python3, exec");
  cmd->add_option("--arg", f.args, "argument for the script (repeatable)");
  cmd->add_option("--as", f.run_as, "run-as account (must be allowed by the node)");
  cmd->add_option("--cwd", f.cwd, "working directory");
  cmd->add_option("--env", f.env, "KEY=VALUE (repeatable)");
  cmd->add_option("--timeout", f.timeout_s, "seconds; the process group is killed after it");
  cmd->add_option("--request-id", f.request_id,
                  "idempotency key (<= 64 chars): a run repeating an earlier one's id gets that "
                  "run back instead of starting another (default: random)");
  cmd->add_option("--wait-offline", f.wait_offline,
                  "queue tasks of offline hosts until they register, for at most this long "
                  "(e.g. 10m); then they fail as offline");
  cmd->add_flag("--no-wait", f.no_wait, "print the run id and return");
  cmd->add_flag("--quiet,-q", f.quiet, "no progress line");
  cmd->callback([] { std::exit(Run(f)); });
}

}  // namespace shoal::cli
