// `shoal stats HOST`: the host's latest built-in stats, every plugin's latest state, and the
// recent alerts (state changes) the planner holds.
#include <capnp/message.h>

#include <cstdio>
#include <map>

#include "core/framing.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"

namespace shoal::cli {

void AddStatsCommand(CLI::App& app) {
  static PlannerFlags flags;
  static std::string host;
  auto* cmd = app.add_subcommand("stats", "show a host's recent stats, checks and alerts");
  AddPlannerFlags(cmd, flags);
  cmd->add_option("host", host, "host name")->required();
  cmd->callback([] {
    capnp::MallocMessageBuilder q;
    q.initRoot<proto::CliRequest>().setStats(host);
    auto reply = CallPlanner(flags, q);
    auto reports = reply->Root<proto::CliReply>().getStats();
    // Reports come oldest first: the last one per source is the current state.
    std::map<std::string, proto::StatsReport::Reader> latest;
    for (auto r : reports) latest.insert_or_assign(std::string(r.getSource()), r);
    if (latest.empty()) {
      std::printf("no stats from %s yet\n", host.c_str());
      return;
    }
    for (auto& [source, r] : latest) {
      std::printf("%s: %s%s%s  (at %lld ms)\n", source.c_str(), std::string(r.getState()).c_str(),
                  r.getText().size() ? " - " : "", std::string(r.getText()).c_str(),
                  static_cast<long long>(r.getUnixMs()));
      for (auto m : r.getMetrics()) {
        std::printf("  %-40s %16.3f %s\n", std::string(m.getName()).c_str(), m.getValue(),
                    std::string(m.getUom()).c_str());
      }
    }
    std::printf("alerts:\n");
    size_t n = 0;
    for (auto r : reports) {
      for (auto a : r.getAlerts()) {
        ++n;
        std::printf("  %lld %s %s -> %s %s\n", static_cast<long long>(r.getUnixMs()),
                    std::string(a.getName()).c_str(), std::string(a.getFrom()).c_str(),
                    std::string(a.getTo()).c_str(), std::string(a.getText()).c_str());
      }
    }
    if (n == 0) std::printf("  (none)\n");
  });
}

}  // namespace shoal::cli
