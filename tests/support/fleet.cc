#include "tests/support/fleet.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "core/admin_client.h"
#include "proto/node_local.capnp.h"
#include "tests/support/ports.h"

namespace shoal::testing {
namespace fs = std::filesystem;

Fleet::Fleet(const fs::path& root) : root_(root) {
  fs::create_directories(root_ / "tracker");
  fs::create_directories(OutDir());
  // A closed tracker, as a fleet runs one: it tracks only what the seeder registers.
  {
    std::ofstream key(root_ / "tracker/key");
    key << "fleet-test-registration-key-" << ::getpid() << "\n";
  }
  StartTracker();
}

void Fleet::StartTracker() {
  fs::remove(root_ / "tracker/ready");
  // A restart listens on the same port: the seeder and nodes keep announcing to it.
  std::string listen =
      tracker_address_.empty() ? RestartableLoopbackAddress() : tracker_address_;
  tracker_ = std::make_unique<ChildProcess>(
      "shoal-tracker",
      std::vector<std::string>{"--listen", listen, "--ready-file",
                               (root_ / "tracker/ready").string(), "--interval", "2",
                               "--register-key-file", (root_ / "tracker/key").string()},
      root_ / ("tracker/log-" + std::to_string(++tracker_starts_)));
  auto ready = WaitForReadyFile(root_ / "tracker/ready", *tracker_);
  announce_ = ready["announce"];
  tracker_address_ = ready["tracker"];
  if (announce_.empty()) ADD_FAILURE() << "tracker did not start: " << tracker_->Stderr();
}

void Fleet::KillTracker() {
  tracker_->Kill(SIGKILL);
  tracker_->Wait();
}

void Fleet::StartSeeder(const std::vector<std::string>& extra) {
  fs::create_directories(SeederState());
  fs::remove(SeederState() / "ready");
  std::vector<std::string> args{"--state-dir",  SeederState().string(),
                                "--tracker",    announce_,
                                "--ready-file", (SeederState() / "ready").string(),
                                "--tracker-key-file", (root_ / "tracker/key").string()};
  // A restart listens on the same address: the nodes keep fetching from it.
  args.insert(args.end(), {"--listen", origin_.empty() ? RestartableLoopbackAddress() : origin_});
  args.insert(args.end(), extra.begin(), extra.end());
  seeder_ = std::make_unique<ChildProcess>("shoal-seeder", args, root_ / "seeder.log");
  auto ready = WaitForReadyFile(SeederState() / "ready", *seeder_);
  if (ready["origin"].empty()) ADD_FAILURE() << "seeder did not start: " << seeder_->Stderr();
  origin_ = ready["origin"];
}

void Fleet::StopSeeder() {
  seeder_->Kill(SIGTERM);
  seeder_->Wait();
}

void Fleet::KillSeeder() {
  seeder_->Kill(SIGKILL);
  seeder_->Wait();
}

void Fleet::StartNode(int i, const std::vector<std::string>& extra) {
  fs::path state = NodeState(i);
  fs::create_directories(state);
  fs::remove(state / "ready");
  std::vector<std::string> args{
      "--state-dir",  state.string(),    "--name",       "node-" + std::to_string(i),
      "--origin",     origin_,           "--tracker",    announce_,
      "--allow-root", OutDir().string(), "--ready-file", (state / "ready").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  nodes_[i] = std::make_unique<ChildProcess>(
      "shoal-node", args, root_ / ("node-" + std::to_string(i) + "-" + std::to_string(rand())));
  auto ready = WaitForReadyFile(state / "ready", *nodes_[i]);
  if (ready["admin"].empty())
    ADD_FAILURE() << "node " << i << " did not start: " << nodes_[i]->Stderr();
}

void Fleet::KillNode(int i) {
  nodes_.at(i)->Kill(SIGKILL);
  nodes_.at(i)->Wait();
}

std::string Fleet::Put(const fs::path& file) {
  auto r = RunCommand("shoal",
                      {"put", file.string(), "--seeder", (SeederState() / "admin.sock").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find(' '));
}

FetchReply Fleet::Fetch(int i, const std::string& id, const std::string& dest,
                        const std::function<bool(uint64_t, uint64_t)>& on_progress) {
  capnp::MallocMessageBuilder request;
  auto fetch = request.initRoot<proto::NodeRequest>().initFetch();
  fetch.setId(id);
  fetch.setDest(dest);
  FetchReply out;
  auto status =
      AdminCall((NodeState(i) / "admin.sock").string(), request, [&](Frame& frame) -> Result<bool> {
        auto reply = frame.Root<proto::NodeReply>();
        if (reply.isProgress()) {
          auto p = reply.getProgress();
          if (on_progress && on_progress(p.getDone(), p.getTotal())) {
            return Error{"abandoned"};
          }
          return false;
        }
        if (reply.isFailure()) return Error{reply.getFailure().getMessage().cStr()};
        auto f = reply.getFetched();
        out.ok = true;
        out.path = f.getPath().cStr();
        out.downloaded_bytes = f.getDownloadedBytes();
        out.from_cache = f.getFromCache();
        return true;
      });
  if (!status) out.error = status.error().message;
  return out;
}

uint64_t Fleet::UploadedBytes(int i) {
  capnp::MallocMessageBuilder request;
  request.initRoot<proto::NodeRequest>().setStatus();
  uint64_t up = 0;
  auto status =
      AdminCall((NodeState(i) / "admin.sock").string(), request, [&](Frame& frame) -> Result<bool> {
        up = frame.Root<proto::NodeReply>().getStatus().getUploadedBytes();
        return true;
      });
  EXPECT_TRUE(status.ok()) << status.error().message;
  return up;
}

}  // namespace shoal::testing
