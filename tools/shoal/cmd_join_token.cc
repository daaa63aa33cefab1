// `shoal join-token`: a one-time token a new node presents (once) to get its certificate:
// "<id>.<secret>.<ca-sha256>".
#include <capnp/message.h>

#include <cstdio>

#include "core/framing.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"

namespace shoal::cli {

void AddJoinTokenCommand(CLI::App& app) {
  static PlannerFlags flags;
  static uint32_t ttl = 3600, uses = 1;
  auto* cmd = app.add_subcommand("join-token", "make a one-time token for a node to join");
  AddPlannerFlags(cmd, flags);
  cmd->add_option("--ttl", ttl, "seconds the token stays valid");
  cmd->add_option("--uses", uses, "how many joins it allows (default 1)");
  cmd->callback([] {
    capnp::MallocMessageBuilder q;
    auto t = q.initRoot<proto::CliRequest>().initJoinToken();
    t.setTtlSeconds(ttl);
    t.setUses(uses);
    auto reply = CallPlanner(flags, q);
    std::printf("%s\n", std::string(reply->Root<proto::CliReply>().getToken()).c_str());
  });
}

}  // namespace shoal::cli
