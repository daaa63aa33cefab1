// File tasks: the planner's "fetch this artifact and install it" steps. The agent does not
// know how artifacts travel; shoal-node gives it an implementation over its swarm fetcher
// (node/fetch_tasks.h). shoal-node-agent alone has none and rejects file tasks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "node/agent/task_runner.h"

namespace shoal::node {

struct FileTaskRequest {
  TaskId id;
  std::string artifact;  // "sha256:<hex>"
  std::string dest;      // empty: into the cache only (pre-staging)
  uint32_t mode = 0644;
  std::string owner;     // "user" or "user:group"; empty: leave as installed
};

struct FileTaskReport {
  bool ok = false;
  std::string error;
  uint64_t bytes_from_peers = 0, bytes_from_origin = 0, size = 0;
  double seconds = 0;
  std::string sha256, md5;
  bool from_cache = false;
  int64_t started_ms = 0, ended_ms = 0;
};

class FileTasks {
 public:
  virtual ~FileTasks() = default;
  using Progress = std::function<void(uint64_t done, uint64_t total, uint64_t rate)>;
  using Done = std::function<void(const FileTaskReport&)>;
  // Starts the fetch; `done` is called exactly once, on the io_context, `progress` about twice
  // a second while bytes move.
  virtual void Start(const FileTaskRequest& request, Progress progress, Done done) = 0;
};

}  // namespace shoal::node
