// A real control plane for tests: a shoal-planner process with a fresh CA, and shoal-node-agent
// processes joined with one-time tokens, all on 127.0.0.1 (port 0 + ready files).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace shoal::testing {

// The run id a `shoal run`/`apply` printed ("run 42" up to ':' or the line's end); "" if none.
std::string RunIdIn(const CommandResult& r);

class ControlPlane {
 public:
  explicit ControlPlane(const TempDir& dir);
  // Starts (or restarts, on the same port if it had one) the planner; returns its address.
  // `extra`: more `serve` flags (e.g. --keep-runs 5s).
  std::string StartPlanner(std::vector<std::string> extra = {});
  // The planner's stderr so far (its log).
  std::string PlannerLog() const;
  void KillPlanner();
  ChildProcess& planner() { return *planner_; }
  std::filesystem::path planner_dir() const { return planner_dir_; }
  const std::string& address() const { return address_; }

  // Runs the `shoal` CLI against this planner.
  CommandResult Cli(std::vector<std::string> args);
  // Whether `shoal hosts --online` lists `host`.
  bool Online(const std::string& host);
  std::string JoinToken();

  // Starts a node agent named `name` (joining with a fresh token the first time); waits until
  // it registered. `extra` are more flags (--label, --group, --config ...).
  void StartNode(const std::string& name, std::vector<std::string> extra = {});
  void KillNode(const std::string& name);
  std::filesystem::path node_state(const std::string& name) const {
    return dir_ / ("node-" + name);
  }

  // Polls `probe` until it returns true or `timeout` passes (a bounded wait on a condition the
  // system under test will reach, never a fixed sleep).
  static bool Eventually(const std::function<bool()>& probe,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

 private:
  const TempDir& dir_;
  std::filesystem::path planner_dir_;
  std::string address_;
  std::unique_ptr<ChildProcess> planner_;
  std::map<std::string, std::unique_ptr<ChildProcess>> nodes_;
  std::map<std::string, std::vector<std::string>> node_args_;
  int planner_starts_ = 0;
};

}  // namespace shoal::testing
