// `shoal logs RUN [HOST]`: a run's output. With HOST, the host's stdout goes to stdout and its
// stderr to stderr, byte for byte (binary-safe). Without, every host's output in turn, each
// under a "==> host <==" header, with stderr lines merged in order of arrival.
#include <capnp/message.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "core/framing.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"
#include "tools/shoal/task_end.h"

namespace shoal::cli {
namespace {

void WriteAll(int fd, const kj::byte* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) std::exit(1);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// One task's output (task_id 0: the host's only, or last, task of the run).
void PrintTask(const PlannerFlags& flags, uint64_t run_id, const std::string& host,
               uint64_t task_id, bool split) {
  uint64_t from = 0;
  for (;;) {
    capnp::MallocMessageBuilder q;
    auto l = q.initRoot<proto::CliRequest>().initLogs();
    l.setRunId(run_id);
    l.setHost(host);
    l.setTaskId(task_id);
    l.setFromSeq(from);
    auto reply = CallPlanner(flags, q);
    auto logs = reply->Root<proto::CliReply>().getLogs();
    for (auto c : logs.getChunks()) {
      int fd = split && c.getStream() == 2 ? STDERR_FILENO : STDOUT_FILENO;
      WriteAll(fd, c.getData().begin(), c.getData().size());
    }
    from = logs.getNextSeq();
    if (!logs.getMore()) break;
  }
}

}  // namespace

void AddLogsCommand(CLI::App& app) {
  static PlannerFlags flags;
  static uint64_t run_id = 0;
  static std::string host;
  auto* cmd = app.add_subcommand("logs", "show a run's output (one host, or all)");
  AddPlannerFlags(cmd, flags);
  cmd->add_option("run", run_id, "run id")->required();
  cmd->add_option("host", host, "host name");
  cmd->callback([] {
    capnp::MallocMessageBuilder q;
    auto rq = q.initRoot<proto::CliRequest>().initRunStatus();
    rq.setRunId(run_id);
    rq.setWithResults(true);
    auto reply = CallPlanner(flags, q);
    auto status = reply->Root<proto::CliReply>().getRunStatus();
    const bool job = status.hasJob();
    if (!host.empty() && !job) {
      PrintTask(flags, run_id, host, 0, true);
      return;
    }
    // A job run has a task per host and step: each under its own header.
    auto steps = status.getJob().getSteps();
    for (auto r : status.getResults()) {
      if (!host.empty() && std::string(r.getHost()) != host) continue;
      std::string step = job && r.getStep() < steps.size()
                             ? " " + std::string(steps[r.getStep()])
                             : std::string(job ? " (never ran)" : "");
      std::printf("==> %s%s <==\n", std::string(r.getHost()).c_str(), step.c_str());
      std::fflush(stdout);
      PrintTask(flags, run_id, r.getHost(), r.getTaskId(), false);
      auto res = r.getResult();
      if (!r.getDone()) {
        std::printf("(running)\n");
      } else {
        std::printf("(%s %d%s%s)\n", TaskEndName(res.getEnd()),
                    res.getEnd() == proto::TaskEnd::SIGNALED ? res.getSignal() : res.getExitCode(),
                    res.getError().size() ? ": " : "", std::string(res.getError()).c_str());
      }
    }
  });
}

}  // namespace shoal::cli
