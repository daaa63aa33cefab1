// `shoal audit`: who did what, when — the planner's audit log (runs, applies, reruns, resumes,
// cancels, join tokens, joins, revocations), oldest first, filtered by age and by who.
#include <capnp/message.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/framing.h"
#include "core/units.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"

namespace shoal::cli {
namespace {

// "2026-11-29 22:10:23Z": UTC, so that logs from hosts in different zones line up.
std::string UtcTime(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%SZ", &tm);
  return text;
}

}  // namespace

void AddAuditCommand(CLI::App& app) {
  static PlannerFlags flags;
  static std::string since, who;
  static uint32_t limit = 100;
  auto* cmd = app.add_subcommand("audit", "show the planner's audit log: who did what, when");
  AddPlannerFlags(cmd, flags);
  cmd->add_option("--since", since, "only entries newer than this (e.g. 1h, 7d)");
  cmd->add_option("--who", who, "only this certificate name (e.g. admin, or a node's name)");
  cmd->add_option("--limit", limit, "the newest this many")->capture_default_str();
  cmd->callback([] {
    int64_t since_ms = 0;
    if (!since.empty()) {
      auto age = ParseAgeMs(since);
      if (!age) {
        std::fprintf(stderr, "shoal audit: --since %s\n", age.error().message.c_str());
        std::exit(2);
      }
      const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      since_ms = now - *age;
    }
    capnp::MallocMessageBuilder q;
    auto rq = q.initRoot<proto::CliRequest>().initAudit();
    rq.setSinceMs(since_ms);
    rq.setWho(who);
    rq.setLimit(limit);
    auto reply = CallPlanner(flags, q);
    for (auto e : reply->Root<proto::CliReply>().getAudit()) {
      std::printf("%s  %-16s %-11s %s\n", UtcTime(e.getUnixMs()).c_str(),
                  std::string(e.getWho()).c_str(), std::string(e.getAction()).c_str(),
                  std::string(e.getDetail()).c_str());
    }
  });
}

}  // namespace shoal::cli
