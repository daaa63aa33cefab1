// The `shoal` CLI's subcommands. Each Add*Command registers one subcommand (its options and
// its callback) on the app; main() wires them together. Callbacks exit with the command's status.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace capnp {
class MessageBuilder;
}
namespace shoal {
class Frame;
}

namespace shoal::cli {

// Artifacts (issue: distribution).
void AddPutCommand(CLI::App& app);
void AddFetchCommand(CLI::App& app);
void AddCacheCommand(CLI::App& app);  // a node's cache: ls, rm, gc

// Control plane (hosts, run, logs, stats, join-token) registers below this line.
void AddHostsCommand(CLI::App& app);
void AddRunCommand(CLI::App& app);
void AddLogsCommand(CLI::App& app);
void AddStatsCommand(CLI::App& app);
void AddJoinTokenCommand(CLI::App& app);
void AddAuditCommand(CLI::App& app);
// Jobs and waves: plan, apply, watch, runs, rerun, resume, cancel.
void AddJobCommands(CLI::App& app);

// Shared by the control-plane commands (defined in planner_call.cc): where the planner is
// (--planner-dir / SHOAL_PLANNER_DIR, --planner / SHOAL_PLANNER), and one request/reply call
// whose reply is a proto::CliReply that is not a failure (else the program exits with 1).
struct PlannerFlags {
  std::string dir, address;
  // After a connection that worked is lost: how long to keep re-attaching (0: exit 1 at once).
  double reattach_timeout_s = 0;
  // How long a connect or one reply may take before the planner counts as gone.
  double timeout_s = 30;
};
inline constexpr double kDefaultReattachSeconds = 300;
void AddPlannerFlags(CLI::App* command, PlannerFlags& flags);
// --reattach-timeout SECONDS (default kDefaultReattachSeconds), for commands whose requests are
// safe to send again: queries, and run/apply/rerun with a request id.
void AddReattachFlag(CLI::App* command, PlannerFlags& flags);
// A fresh random request id (32 hex characters) for CliRequest.requestId.
std::string NewRequestId();
// Connects on first use (then reuses the connection) and performs one call. A lost connection
// is re-attached while flags.reattach_timeout_s allows, saying so on stderr with `run_id` (0:
// not known yet). On any other failure prints it and exits with status 1. Returns the reply
// frame (root: proto::CliReply).
std::unique_ptr<Frame> CallPlanner(const PlannerFlags& flags, capnp::MessageBuilder& request,
                                   uint64_t run_id = 0);

}  // namespace shoal::cli
