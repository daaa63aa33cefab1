#include "tests/control_fixture.h"

#include <thread>

#include "core/ready_file.h"
#include "tests/support/ports.h"

namespace shoal::testing {
namespace fs = std::filesystem;

ControlPlane::ControlPlane(const TempDir& dir) : dir_(dir), planner_dir_(dir / "planner") {
  auto r = RunCommand("shoal-planner", {"init", "--state-dir", planner_dir_.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

std::string ControlPlane::StartPlanner(std::vector<std::string> extra) {
  // A restart listens on the same address: the nodes and CLI keep using it.
  std::string listen = address_.empty() ? RestartableLoopbackAddress() : address_;
  fs::path ready = dir_ / ("planner-" + std::to_string(++planner_starts_) + ".ready");
  std::vector<std::string> args{"serve",  "--state-dir",  planner_dir_.string(),
                                "--listen", listen,        "--ready-file",
                                ready.string(), "--heartbeat-ms", "500"};
  args.insert(args.end(), extra.begin(), extra.end());
  planner_ = std::make_unique<ChildProcess>("shoal-planner", args,
                                            dir_ / ("planner-" + std::to_string(planner_starts_)));
  auto values = WaitForReadyFile(ready, *planner_);
  EXPECT_TRUE(values.contains("address")) << planner_->Stderr();
  address_ = values["address"];
  // The CLI finds the planner through planner.ready in the state dir.
  (void)WriteReadyFile(planner_dir_ / "planner.ready", {{"address", address_}});
  return address_;
}

std::string ControlPlane::PlannerLog() const { return planner_ ? planner_->Stderr() : ""; }

void ControlPlane::KillPlanner() {
  planner_->Kill(9);
  planner_->Wait();
}

std::string RunIdIn(const CommandResult& r) {
  auto pos = r.out.find("run ");
  if (pos == std::string::npos) return "";
  auto end = r.out.find_first_of(":\n", pos);
  return r.out.substr(pos + 4, end - pos - 4);
}

bool ControlPlane::Online(const std::string& host) {
  return Cli({"hosts", "--online"}).out.find(host + " ") != std::string::npos;
}

CommandResult ControlPlane::Cli(std::vector<std::string> args) {
  args.push_back("--planner-dir");
  args.push_back(planner_dir_.string());
  return RunCommand("shoal", args);
}

std::string ControlPlane::JoinToken() {
  auto r = Cli({"join-token"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out;
  while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
  return token;
}

void ControlPlane::StartNode(const std::string& name, std::vector<std::string> extra) {
  fs::path state = node_state(name);
  if (!node_args_.contains(name)) {
    std::vector<std::string> args{"--planner", address_, "--state-dir",  state.string(),
                                  "--name",    name,     "--join-token", JoinToken()};
    args.insert(args.end(), extra.begin(), extra.end());
    node_args_[name] = args;
  }
  static int starts = 0;
  fs::path ready = dir_ / (name + "-" + std::to_string(++starts) + ".ready");
  auto args = node_args_[name];
  args.push_back("--ready-file");
  args.push_back(ready.string());
  nodes_[name] = std::make_unique<ChildProcess>("shoal-node-agent", args,
                                                dir_ / (name + "-" + std::to_string(starts)));
  auto values = WaitForReadyFile(ready, *nodes_[name]);
  EXPECT_EQ(values["name"], name) << nodes_[name]->Stderr();
}

void ControlPlane::KillNode(const std::string& name) {
  nodes_[name]->Kill(9);
  nodes_[name]->Wait();
}

bool ControlPlane::Eventually(const std::function<bool()>& probe,
                              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return probe();
}

}  // namespace shoal::testing
