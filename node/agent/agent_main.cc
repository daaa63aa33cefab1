// shoal-node-agent: the planner agent alone, as a daemon (the same agent shoal-node hosts).
//   shoal-node-agent --planner HOST:PORT --state-dir DIR --name NAME [--join-token T]
//                    [--config node.conf] [--dc DC] [--rack R] [--label k=v]... [--group G]...
//                    [--ready-file F]
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>

#include "core/log.h"
#include "core/startup_checks.h"
#include "node/agent/planner_agent.h"

int main(int argc, char** argv) {
  shoal::log::SetComponent("node-agent");
  CLI::App app{"shoal-node-agent: a node's control-plane agent"};
  shoal::node::AgentConfig config;
  std::vector<std::string> labels;
  std::string config_file, ready_file, state_dir;
  app.add_option("--planner", config.planner, "planner HOST:PORT")->required();
  app.add_option("--state-dir", state_dir)->required();
  app.add_option("--name", config.name)->required();
  app.add_option("--join-token", config.join_token);
  app.add_option("--config", config_file, "node.conf");
  app.add_option("--dc", config.datacenter);
  app.add_option("--rack", config.rack);
  app.add_option("--address", config.address);
  app.add_option("--label", labels, "key=value (repeatable)");
  app.add_option("--group", config.groups, "static group (repeatable)");
  app.add_option("--ready-file", ready_file, "written once registered");
  CLI11_PARSE(app, argc, argv);
  if (auto s = shoal::CheckConnectAddress("--planner", config.planner); !s) {
    std::cerr << "shoal-node-agent: " << s.error().message << "\n";
    return 2;
  }
  if (auto errors = shoal::PrepareStateDirAndReadyFile(state_dir, ready_file); !errors.empty()) {
    std::cerr << "shoal-node-agent: " << errors.front().message << "\n";
    return 2;
  }
  config.state_dir = state_dir;
  config.config_file = config_file;
  config.ready_file = ready_file;
  for (const auto& l : labels) {
    auto eq = l.find('=');
    if (eq == std::string::npos) {
      std::cerr << "--label wants key=value\n";
      return 2;
    }
    config.labels.emplace_back(l.substr(0, eq), l.substr(eq + 1));
  }
  boost::asio::io_context io(1);
  shoal::node::PlannerAgent agent(io, config);
  if (auto s = agent.Start(); !s) {
    std::cerr << "shoal-node-agent: " << s.error().message << "\n";
    return 1;
  }
  int exit_code = 0;
  agent.OnGiveUp([&](const shoal::Error& e) {
    std::cerr << "shoal-node-agent: " << e.message << "\n";
    exit_code = 1;
    agent.Stop();
    io.stop();
  });
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    agent.Stop();
    io.stop();
  });
  io.run();
  return exit_code;
}
