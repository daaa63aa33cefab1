#include "node/agent/agent_config.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "node/agent/policy.h"

namespace shoal::node {
namespace {

Result<int64_t> ParseInt(const ConfEntry& e, std::string_view origin) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(e.value.data(), e.value.data() + e.value.size(), v);
  if (ec != std::errc() || p != e.value.data() + e.value.size() || v <= 0) {
    return Error::of(std::string(origin) + ":" + std::to_string(e.line),
                     e.key + " must be a positive integer");
  }
  return v;
}

}  // namespace

Result<NodeConf> LoadNodeConf(AgentConfig& config) {
  NodeConf conf;
  conf.stats.builtin_interval = std::chrono::seconds(30);
  if (config.config_file.empty()) return conf;
  std::ifstream in(config.config_file);
  if (!in) return Error::of(config.config_file.string(), "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  conf.policy_text = ss.str();
  std::string origin = config.config_file.string();
  auto sections = ParseConf(conf.policy_text, origin);
  if (!sections) return sections.error();
  for (const auto& section : *sections) {
    auto where = [&](const ConfEntry& e) { return origin + ":" + std::to_string(e.line); };
    if (section.name == "node") {
      for (const auto& e : section.entries) {
        if (e.key == "datacenter") {
          if (config.datacenter.empty()) config.datacenter = e.value;
        } else if (e.key == "rack") {
          if (config.rack.empty()) config.rack = e.value;
        } else if (e.key == "address") {
          if (config.address.empty()) config.address = e.value;
        } else if (e.key == "labels") {
          for (const auto& item : SplitList(e.value)) {
            auto eq = item.find('=');
            if (eq == std::string::npos || eq == 0) {
              return Error::of(where(e), "label '" + item + "' is not key=value");
            }
            config.labels.emplace_back(item.substr(0, eq), item.substr(eq + 1));
          }
        } else if (e.key == "groups") {
          for (const auto& g : SplitList(e.value)) config.groups.push_back(g);
        } else {
          return Error::of(where(e), "unknown key '" + e.key + "' in [node]");
        }
      }
    } else if (section.name == "stats") {
      for (const auto& e : section.entries) {
        if (e.key != "builtin_interval_s") {
          return Error::of(where(e), "unknown key '" + e.key + "' in [stats]");
        }
        auto v = ParseInt(e, origin);
        if (!v) return v.error();
        conf.stats.builtin_interval = std::chrono::seconds(*v);
      }
    } else if (section.name.starts_with("plugin.")) {
      PluginSpec plugin;
      plugin.name = section.name.substr(7);
      for (const auto& e : section.entries) {
        if (e.key == "path") {
          plugin.path = e.value;
        } else if (e.key == "args") {
          plugin.args = SplitList(e.value);
        } else if (e.key == "run_as") {
          plugin.run_as = e.value;
        } else if (e.key == "interval_s" || e.key == "timeout_s") {
          auto v = ParseInt(e, origin);
          if (!v) return v.error();
          (e.key == "interval_s" ? plugin.interval : plugin.timeout) = std::chrono::seconds(*v);
        } else {
          return Error::of(where(e), "unknown key '" + e.key + "' in [" + section.name + "]");
        }
      }
      conf.stats.plugins.push_back(std::move(plugin));
    } else if (section.name == "thresholds") {
      for (const auto& e : section.entries) {
        auto comma = e.value.find(',');
        std::string warn = e.value.substr(0, comma);
        std::string crit = comma == std::string::npos ? "" : e.value.substr(comma + 1);
        auto trim = [](std::string s) {
          s.erase(0, s.find_first_not_of(" \t"));
          s.erase(s.find_last_not_of(" \t") + 1);
          return s;
        };
        auto t = Threshold::Parse(trim(warn), trim(crit));
        if (!t) return Error::of(where(e), t.error().message);
        conf.stats.thresholds[e.key] = *t;
      }
    }
  }
  return conf;
}

}  // namespace shoal::node
