// The node agent's configuration: how to reach the planner, who this node is, and what it
// runs and measures. Command-line values (set by shoal-node) come first; LoadNodeConf adds what
// node.conf says:
//
//   [node]                      identity sent at registration
//   datacenter = dc1
//   rack = r12
//   labels = role=db, tier=1    (key=value items)
//   groups = databases, eu
//   [exec]                      the allow/deny policy (policy.h)
//   [stats]
//   builtin_interval_s = 30
//   [plugin.disk_root]          one section per Nagios-style plugin
//   path = /usr/lib/nagios/plugins/check_disk
//   args = -w 10% -c 5% -p /
//   interval_s = 60
//   timeout_s = 10
//   [thresholds]                metric = warn, crit  (Nagios ranges)
//   load1 = 4, 8
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "node/agent/stats_scheduler.h"

namespace shoal::node {

struct AgentConfig {
  std::string planner;              // HOST:PORT
  std::filesystem::path state_dir;  // the agent keeps <state_dir>/agent/{node.crt,...,db}
  std::string name;                 // this node's name (its certificate's CN)
  std::string address;              // empty: the local address of the planner connection
  std::string datacenter, rack;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> groups;
  std::string join_token;             // needed only until the node holds a certificate
  std::filesystem::path config_file;  // node.conf; empty: built-in defaults
  std::string version = "0.1.0";
  std::filesystem::path ready_file;  // written once registered with the planner (tests)
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{5000};
};

// What node.conf configures beyond identity.
struct NodeConf {
  std::string policy_text;  // the whole file: Policy::Parse reads its [exec] section
  StatsScheduler::Options stats;
};

// Reads `config.config_file` (if set) into `config` ([node]) and the returned NodeConf.
// Errors name the file and line.
Result<NodeConf> LoadNodeConf(AgentConfig& config);

}  // namespace shoal::node
