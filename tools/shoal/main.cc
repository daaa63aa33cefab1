// shoal: the operator's command line.
#include <CLI/CLI.hpp>

#include "tools/shoal/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"shoal: distribute artifacts through a swarm and run commands on fleets"};
  app.require_subcommand(1);
  shoal::cli::AddPutCommand(app);
  shoal::cli::AddFetchCommand(app);
  shoal::cli::AddCacheCommand(app);
  // Control-plane commands register below this line.
  shoal::cli::AddHostsCommand(app);
  shoal::cli::AddRunCommand(app);
  shoal::cli::AddLogsCommand(app);
  shoal::cli::AddStatsCommand(app);
  shoal::cli::AddJoinTokenCommand(app);
  shoal::cli::AddAuditCommand(app);
  shoal::cli::AddJobCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
