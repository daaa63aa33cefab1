// `shoal hosts`: the fleet with state, address, placement, version, uptime, reboots, the
// latest built-in stats, labels, groups and open problems.
#include <capnp/message.h>

#include <cstdio>
#include <iostream>

#include "core/framing.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"

namespace shoal::cli {

namespace {
std::string Metric(proto::HostInfo::Reader h, const std::string& name, int precision) {
  for (auto m : h.getLastStats()) {
    if (std::string(m.getName()) == name) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.*f", precision, m.getValue());
      return buf;
    }
  }
  return "-";
}

std::string Uptime(uint64_t s) {
  char buf[32];
  if (s >= 86400) {
    std::snprintf(buf, sizeof(buf), "%lud%luh", s / 86400, (s % 86400) / 3600);
  } else {
    std::snprintf(buf, sizeof(buf), "%luh%02lum", s / 3600, (s % 3600) / 60);
  }
  return buf;
}
}  // namespace

void AddHostsCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("hosts", "list hosts with state, labels, groups, last stats");
  static PlannerFlags flags;
  static bool online_only = false;
  AddPlannerFlags(cmd, flags);
  cmd->add_flag("--online", online_only, "only hosts that are online");
  cmd->callback([] {
    capnp::MallocMessageBuilder request;
    request.initRoot<proto::CliRequest>().setHosts();
    auto reply = CallPlanner(flags, request);
    auto hosts = reply->Root<proto::CliReply>().getHosts();
    std::printf("%-24s %-8s %-16s %-6s %-6s %-8s %-8s %3s %6s %5s  %s\n", "NAME", "STATE",
                "ADDRESS", "DC", "RACK", "VERSION", "UPTIME", "RB", "LOAD1", "MEMAV",
                "LABELS / GROUPS / PROBLEMS");
    size_t online = 0;
    for (auto h : hosts) {
      if (h.getOnline()) ++online;
      if (online_only && !h.getOnline()) continue;
      std::string extra;
      for (auto l : h.getLabels()) {
        extra += std::string(l.getKey()) + "=" + std::string(l.getValue()) + " ";
      }
      if (h.getGroups().size()) {
        extra += "[";
        for (auto g : h.getGroups()) extra += std::string(g) + ",";
        extra.back() = ']';
      }
      for (auto p : h.getProblems()) extra += " !" + std::string(p);
      std::printf("%-24s %-8s %-16s %-6s %-6s %-8s %-8s %3u %6s %5s  %s\n",
                  std::string(h.getName()).c_str(), h.getOnline() ? "online" : "offline",
                  std::string(h.getAddress()).c_str(), std::string(h.getDatacenter()).c_str(),
                  std::string(h.getRack()).c_str(), std::string(h.getVersion()).c_str(),
                  Uptime(h.getUptimeSeconds()).c_str(), h.getReboots(),
                  Metric(h, "load1", 2).c_str(), Metric(h, "mem_available_pct", 0).c_str(),
                  extra.c_str());
    }
    std::printf("%zu hosts, %zu online\n", static_cast<size_t>(hosts.size()), online);
  });
}

}  // namespace shoal::cli
