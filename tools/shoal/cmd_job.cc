// Jobs: `shoal plan JOB.yaml` (the waves, steps and artifacts; touches nothing), `shoal apply
// JOB.yaml` (puts `source:` files to the seeder, starts the run, follows it), `shoal watch
// RUN`, `shoal runs`, `shoal rerun RUN [--failed]`, `shoal resume RUN`, `shoal cancel RUN`.
// apply, watch and rerun re-attach after a lost planner connection (planner_call.cc); apply and
// rerun send a request id, so a request re-sent after a drop never starts a second run.
#include <capnp/message.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/framing.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"
#include "tools/shoal/job_request.h"
#include "tools/shoal/job_watch.h"
#include "tools/shoal/progress_line.h"

namespace shoal::cli {
namespace {

struct JobFlags {
  PlannerFlags planner;
  std::string file, seeder, request_id;
  uint64_t run_id = 0;
  bool detach = false, quiet = false, failed_only = false;
};

std::string ReadJobFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "shoal: %s: cannot read the job file\n", path.c_str());
    std::exit(kExitError);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<Pin> Pins(const JobFlags& f, const std::string& yaml, PinMode mode) {
  // apply waits for a restarting seeder as it would for its planner; plan asks once.
  auto pins = PinArtifacts(f.file, yaml, mode, f.seeder,
                           mode == PinMode::kPutToSeeder ? f.planner.reattach_timeout_s : 0);
  if (!pins) {
    std::fprintf(stderr, "shoal: %s\n", pins.error().message.c_str());
    std::exit(kExitError);
  }
  return *pins;
}

int Plan(const JobFlags& f) {
  std::string yaml = ReadJobFile(f.file);
  auto pins = Pins(f, yaml, PinMode::kHashLocally);
  capnp::MallocMessageBuilder request;
  FillJobRequest(f.file, yaml, pins, request.initRoot<proto::CliRequest>().initPlan());
  auto reply = CallPlanner(f.planner, request);
  auto p = reply->Root<proto::CliReply>().getPlan();
  uint32_t hosts = 0;
  for (auto w : p.getWaves()) hosts += w.getHosts().size();
  std::printf("job %s: %u hosts in %u waves%s\n", std::string(p.getName()).c_str(), hosts,
              p.getWaves().size(), p.getPrestage() ? ", artifacts pre-staged on later waves" : "");
  uint32_t k = 0;
  for (auto w : p.getWaves()) {
    std::printf("  wave %u (%u):", ++k, w.getHosts().size());
    uint32_t shown = 0;
    for (auto h : w.getHosts()) {
      if (++shown > 20) {
        std::printf(" ... +%u more", w.getHosts().size() - 20);
        break;
      }
      std::printf(" %s", std::string(h).c_str());
    }
    std::printf("\n");
  }
  std::printf("steps:\n");
  for (auto s : p.getSteps()) std::printf("  %s\n", std::string(s).c_str());
  if (p.getArtifacts().size() > 0) std::printf("artifacts:\n");
  for (auto a : p.getArtifacts()) {
    std::printf("  %s  %s  md5:%s  %s\n", std::string(a.getId()).c_str(),
                a.getSize() ? HumanBytes(static_cast<double>(a.getSize())).c_str() : "size ?",
                a.getMd5().size() ? std::string(a.getMd5()).c_str() : "?",
                std::string(a.getRef()).c_str());
  }
  if (p.getExcluded().size() > 0) {
    std::printf("excluded:");
    for (auto h : p.getExcluded()) std::printf(" %s", std::string(h).c_str());
    std::printf("\n");
  }
  if (p.getOffline().size() > 0) {
    std::printf("offline now (%u):", p.getOffline().size());
    for (auto h : p.getOffline()) std::printf(" %s", std::string(h).c_str());
    std::printf("\n");
  }
  return 0;
}

int Started(const JobFlags& f, Frame& reply) {
  auto st = reply.Root<proto::CliReply>().getRunStatus();
  uint64_t run_id = st.getRunId();
  std::printf("run %lu: job %s on %u hosts in %u waves\n", static_cast<unsigned long>(run_id),
              std::string(st.getJob().getName()).c_str(), st.getTotal(), st.getJob().getWaves());
  std::fflush(stdout);
  if (f.detach) return 0;
  return WatchJobRun(f.planner, run_id, f.quiet);
}

int Apply(const JobFlags& f) {
  std::string yaml = ReadJobFile(f.file);
  auto pins = Pins(f, yaml, PinMode::kPutToSeeder);
  capnp::MallocMessageBuilder request;
  auto root = request.initRoot<proto::CliRequest>();
  // Sent again after a lost connection: still one run.
  root.setRequestId(f.request_id.empty() ? NewRequestId() : f.request_id);
  FillJobRequest(f.file, yaml, pins, root.initApply());
  auto reply = CallPlanner(f.planner, request);
  return Started(f, *reply);
}

int Rerun(const JobFlags& f) {
  capnp::MallocMessageBuilder request;
  auto root = request.initRoot<proto::CliRequest>();
  root.setRequestId(NewRequestId());
  auto r = root.initRerun();
  r.setRunId(f.run_id);
  r.setFailedOnly(f.failed_only);
  auto reply = CallPlanner(f.planner, request);
  return Started(f, *reply);
}

int Runs(const JobFlags& f) {
  capnp::MallocMessageBuilder request;
  request.initRoot<proto::CliRequest>().setRuns();
  auto reply = CallPlanner(f.planner, request);
  std::printf("%-6s %-10s %-20s %-8s %5s %5s %6s %5s  %s\n", "RUN", "WHO", "STARTED", "WAVE", "OK",
              "FAIL", "HOSTS", "", "WHAT / STATE");
  for (auto r : reply->Root<proto::CliReply>().getRuns()) {
    time_t secs = static_cast<time_t>(r.getCreatedMs() / 1000);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&secs));
    std::string wave = "-", state;
    if (r.hasJob()) {
      auto j = r.getJob();
      wave = std::to_string(j.getWave()) + "/" + std::to_string(j.getWaves());
      state = std::string(j.getPhase()) + (j.getWhy().size() ? ": " + std::string(j.getWhy()) : "");
    } else {
      state = r.getDone() == r.getTotal() ? "done" : "running";
    }
    std::printf("%-6lu %-10s %-20s %-8s %5u %5u %6u %5s  %s  [%s]\n",
                static_cast<unsigned long>(r.getRunId()), std::string(r.getWho()).c_str(), when,
                wave.c_str(), r.getOk(), r.getFailed(), r.getTotal(), "",
                std::string(r.getCommand()).c_str(), state.c_str());
  }
  return 0;
}

int Simple(const JobFlags& f, bool resume) {
  capnp::MallocMessageBuilder request;
  auto root = request.initRoot<proto::CliRequest>();
  if (resume) {
    root.setResume(f.run_id);
  } else {
    root.setCancel(f.run_id);
  }
  PlannerFlags once = f.planner;
  once.reattach_timeout_s = 0;  // not retried: a resume sent twice could open two gates
  CallPlanner(once, request);
  std::printf("run %lu: %s\n", static_cast<unsigned long>(f.run_id),
              resume ? "resumed" : "cancelled (tasks in flight are asked to stop)");
  return 0;
}

std::string DefaultSeeder() {
  const char* v = std::getenv("SHOAL_SEEDER_SOCKET");
  return v ? v : "/var/lib/shoal/seeder/admin.sock";
}

}  // namespace

void AddJobCommands(CLI::App& app) {
  static JobFlags f;
  f.seeder = DefaultSeeder();
  auto job_file = [&](CLI::App* cmd) {
    AddPlannerFlags(cmd, f.planner);
    cmd->add_option("job", f.file, "job file (YAML)")->required();
    cmd->add_option("--seeder", f.seeder, "seeder admin socket ($SHOAL_SEEDER_SOCKET)");
  };
  auto* plan = app.add_subcommand("plan", "show a job's waves, steps and artifacts; runs nothing");
  job_file(plan);
  plan->callback([] { std::exit(Plan(f)); });

  auto* apply = app.add_subcommand("apply", "start a job and follow it to the end");
  job_file(apply);
  AddReattachFlag(apply, f.planner);
  apply->add_option("--request-id", f.request_id,
                    "idempotency key (<= 64 chars): an apply repeating an earlier one's id gets "
                    "that run back instead of starting another (default: random)");
  apply->add_flag("--detach,-d", f.detach, "print the run id and return (`shoal watch RUN`)");
  apply->add_flag("--quiet,-q", f.quiet, "no progress line");
  apply->callback([] { std::exit(Apply(f)); });

  auto* watch = app.add_subcommand("watch", "follow a job run to the end");
  AddPlannerFlags(watch, f.planner);
  AddReattachFlag(watch, f.planner);
  watch->add_option("run", f.run_id, "run id")->required();
  watch->add_flag("--quiet,-q", f.quiet, "no progress line");
  watch->callback([] { std::exit(WatchJobRun(f.planner, f.run_id, f.quiet)); });

  auto* rerun = app.add_subcommand("rerun", "run a finished job run's job again");
  AddPlannerFlags(rerun, f.planner);
  AddReattachFlag(rerun, f.planner);
  rerun->add_option("run", f.run_id, "run id")->required();
  rerun->add_flag("--failed", f.failed_only,
                  "only the hosts that failed or never ran (never one that succeeded)");
  rerun->add_flag("--detach,-d", f.detach, "print the run id and return");
  rerun->add_flag("--quiet,-q", f.quiet, "no progress line");
  rerun->callback([] { std::exit(Rerun(f)); });

  auto* resume = app.add_subcommand("resume", "open a paused job run's next wave");
  AddPlannerFlags(resume, f.planner);
  resume->add_option("run", f.run_id, "run id")->required();
  resume->callback([] { std::exit(Simple(f, true)); });

  auto* cancel = app.add_subcommand("cancel", "stop a job run: nothing new starts");
  AddPlannerFlags(cancel, f.planner);
  cancel->add_option("run", f.run_id, "run id")->required();
  cancel->callback([] { std::exit(Simple(f, false)); });

  auto* runs = app.add_subcommand("runs", "list recent runs, newest first");
  AddPlannerFlags(runs, f.planner);
  runs->callback([] { std::exit(Runs(f)); });
}

}  // namespace shoal::cli
