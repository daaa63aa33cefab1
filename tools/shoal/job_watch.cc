#include "tools/shoal/job_watch.h"

#include <capnp/message.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/framing.h"
#include "proto/control.capnp.h"
#include "tools/shoal/progress_line.h"
#include "tools/shoal/task_end.h"

namespace shoal::cli {
namespace {

bool Over(const std::string& phase) {
  return phase == "succeeded" || phase == "completed" || phase == "halted" ||
         phase == "cancelled";
}

void PrintResults(const PlannerFlags& flags, uint64_t run_id) {
  capnp::MallocMessageBuilder q;
  auto rq = q.initRoot<proto::CliRequest>().initRunStatus();
  rq.setRunId(run_id);
  rq.setWithResults(true);
  auto reply = CallPlanner(flags, q, run_id);
  auto st = reply->Root<proto::CliReply>().getRunStatus();
  auto job = st.getJob();
  auto steps = job.getSteps();
  for (auto r : st.getResults()) {
    auto res = r.getResult();
    std::string step = r.getStep() < steps.size() ? std::string(steps[r.getStep()]) : "-";
    if (!r.getDone()) {
      std::printf("w%-2u %-20s %-28s running\n", r.getWave(), std::string(r.getHost()).c_str(),
                  step.c_str());
      continue;
    }
    bool ok = res.getEnd() == proto::TaskEnd::EXITED && res.getExitCode() == 0;
    std::string how = TaskEndName(res.getEnd());
    if (res.getEnd() == proto::TaskEnd::EXITED) how += " " + std::to_string(res.getExitCode());
    double secs = res.getStartedMs() ? (res.getEndedMs() - res.getStartedMs()) / 1000.0 : 0.0;
    std::string detail;
    if (res.hasFetch() && ok) {
      auto f = res.getFetch();
      detail = f.getFromCache() ? "in cache" :
               HumanBytes(static_cast<double>(f.getBytesFromPeers())) + " from peers, " +
                   HumanBytes(static_cast<double>(f.getBytesFromOrigin())) + " from origin";
      detail += "  md5 " + std::string(f.getMd5());
    } else if (!res.hasFetch()) {
      detail = "out " + std::to_string(res.getStdoutBytes()) + " B, err " +
               std::to_string(res.getStderrBytes()) + " B";
    }
    if (res.getError().size()) detail += (detail.empty() ? "" : "  ") + std::string(res.getError());
    std::printf("w%-2u %-20s %-28s %-4s %-13s %7.2fs  %s\n", r.getWave(),
                std::string(r.getHost()).c_str(), step.c_str(), ok ? "OK" : "FAIL", how.c_str(),
                secs, detail.c_str());
  }
  if (job.getNeverStarted().size() > 0) {
    std::printf("never started (%u):", job.getNeverStarted().size());
    for (auto h : job.getNeverStarted()) std::printf(" %s", std::string(h).c_str());
    std::printf("\n");
  }
}

}  // namespace

int WatchJobRun(const PlannerFlags& flags, uint64_t run_id, bool quiet) {
  const bool tty = isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  std::string last_event, last_line;
  auto last_print = t0 - std::chrono::hours(1);
  std::string phase;
  for (;;) {
    capnp::MallocMessageBuilder q;
    q.initRoot<proto::CliRequest>().initRunStatus().setRunId(run_id);
    auto reply = CallPlanner(flags, q, run_id);
    auto st = reply->Root<proto::CliReply>().getRunStatus();
    if (!st.hasJob()) {
      std::fprintf(stderr, "shoal: run %lu is not a job run (see `shoal logs`)\n",
                   static_cast<unsigned long>(run_id));
      return kExitError;
    }
    auto j = st.getJob();
    phase = j.getPhase();
    const auto now = std::chrono::steady_clock::now();
    const double secs = std::chrono::duration<double>(now - t0).count();
    // A line of its own for every change of wave or phase (a log an operator can scroll).
    std::string event = std::string(j.getPhase()) + " wave " + std::to_string(j.getWave());
    if (event != last_event && !quiet) {
      if (tty && !last_line.empty()) std::fprintf(stderr, "\r\033[K");
      std::fprintf(stderr, "[%6.1fs] run %lu %s: wave %u of %u (%u hosts in the run)%s%s\n", secs,
                   static_cast<unsigned long>(run_id), std::string(j.getPhase()).c_str(),
                   j.getWave(), j.getWaves(), j.getHosts(), j.getWhy().size() ? ": " : "",
                   std::string(j.getWhy()).c_str());
      last_event = event;
    }
    char line[512];
    std::snprintf(line, sizeof line,
                  "run %lu: wave %u/%u%s%s | ok %u  failed %u  running %u  waiting %u | %s moved%s",
                  static_cast<unsigned long>(run_id), j.getWave(), j.getWaves(),
                  j.getStepNow().size() ? " | " : "", std::string(j.getStepNow()).c_str(),
                  j.getOk(), j.getFailed(), j.getRunning(), j.getWaiting(),
                  HumanBytes(static_cast<double>(j.getBytesMoved())).c_str(),
                  j.getRate() ? (", " + HumanBytes(static_cast<double>(j.getRate())) + "/s").c_str()
                              : "");
    const bool over = Over(phase) && j.getRunning() == 0;
    if (!quiet && (tty || line != last_line) &&
        (tty || now - last_print > std::chrono::seconds(2) || over)) {
      std::fprintf(stderr, tty ? "\r\033[K%s [%.0fs]" : "%s [%.0fs]\n", line, secs);
      std::fflush(stderr);
      last_line = line;
      last_print = now;
    }
    if (over) {
      if (tty && !quiet) std::fprintf(stderr, "\n");
      // The outcome, always (even quiet): it says why a run halted.
      std::fprintf(stderr, "run %lu %s%s%s\n", static_cast<unsigned long>(run_id),
                   phase.c_str(), j.getWhy().size() ? ": " : "", std::string(j.getWhy()).c_str());
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a display refresh
  }
  PrintResults(flags, run_id);
  if (phase == "succeeded") return kExitSucceeded;
  if (phase == "completed") return kExitCompleted;
  if (phase == "halted") return kExitHalted;
  return kExitCancelled;
}

}  // namespace shoal::cli
