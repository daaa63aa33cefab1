// Test support: a local fleet of real daemons on loopback — one shoal-tracker, one shoal-seeder
// and any number of shoal-node processes, each with its own state directory and port-0 sockets.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "tests/support/process.h"

namespace shoal::testing {

struct FetchReply {
  bool ok = false;
  std::string error;
  std::string path;
  uint64_t downloaded_bytes = 0;
  bool from_cache = false;
};

class Fleet {
 public:
  explicit Fleet(const std::filesystem::path& root);

  // Restarts the tracker (started by the constructor) on the same port; KillTracker SIGKILLs it.
  void StartTracker();
  void KillTracker();
  // Starts (or restarts, keeping its state) the seeder. Extra flags, e.g. --upload-limit.
  void StartSeeder(const std::vector<std::string>& extra = {});
  void StopSeeder();
  void KillSeeder();  // SIGKILL
  // Starts node `i` (state in root/node-i, installs allowed under root/out). Keeps its state.
  void StartNode(int i, const std::vector<std::string>& extra = {});
  void KillNode(int i);
  ChildProcess& node(int i) { return *nodes_.at(i); }
  ChildProcess& tracker() { return *tracker_; }
  ChildProcess& seeder() { return *seeder_; }

  std::filesystem::path NodeState(int i) const { return root_ / ("node-" + std::to_string(i)); }
  std::filesystem::path OutDir() const { return root_ / "out"; }
  std::filesystem::path SeederState() const { return root_ / "seeder"; }

  // `shoal put FILE`: returns the artifact id.
  std::string Put(const std::filesystem::path& file);
  // Fetches through node `i`'s admin socket. `on_progress(done, total)` may return true to stop
  // waiting (the request is then abandoned with the connection).
  FetchReply Fetch(int i, const std::string& id, const std::string& dest,
                   const std::function<bool(uint64_t, uint64_t)>& on_progress = nullptr);
  // Payload bytes node `i` has served to peers since it started.
  uint64_t UploadedBytes(int i);

 private:
  std::filesystem::path root_;
  std::string announce_, tracker_address_;
  int tracker_starts_ = 0;
  std::string origin_;
  std::unique_ptr<ChildProcess> tracker_, seeder_;
  std::map<int, std::unique_ptr<ChildProcess>> nodes_;
};

}  // namespace shoal::testing
