// The node agent's file tasks over this node's Fetcher: fetch through the swarm, verify
// (SHA-256 per piece and whole file, MD5), install atomically inside --allow-root, then hand
// the file to its owner. The report says how many bytes came from peers and from the origin.
#pragma once

#include <boost/asio/io_context.hpp>

#include <map>

#include "node/agent/file_tasks.h"
#include "node/cache_manager.h"
#include "node/fetcher.h"

namespace shoal::node {

// Cache pins (when given a CacheManager): an artifact is pinned while a task fetches it, and a
// pre-staged one stays pinned until a task installs it, so that the cache quota never evicts
// what a later wave is about to install. (Pins live in memory: a restarted node re-pins when
// the install task runs.)
class FetchTasks : public FileTasks {
 public:
  FetchTasks(boost::asio::io_context& io, Fetcher& fetcher, CacheManager* cache = nullptr)
      : io_(io), fetcher_(fetcher), cache_(cache) {}
  void Start(const FileTaskRequest& request, Progress progress, Done done) override;

 private:
  void Pin(const ArtifactId& id);
  void Unpin(const ArtifactId& id);

  boost::asio::io_context& io_;
  Fetcher& fetcher_;
  CacheManager* cache_;
  std::map<ArtifactId, int> prestaged_;  // pre-staged and not installed yet: pins held
};

// Sets `path`'s owner from "user" or "user:group" (lchown). Errors name the account.
Status ChangeOwner(const std::string& path, const std::string& owner);

}  // namespace shoal::node
