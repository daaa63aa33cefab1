// The node agent's file tasks over this node's Fetcher: fetch through the swarm, verify
// (SHA-256 per piece and whole file, MD5), install atomically inside --allow-root, then hand
// the file to its owner. The report says how many bytes came from peers and from the origin.
#pragma once

#include <boost/asio/io_context.hpp>

#include "node/agent/file_tasks.h"
#include "node/fetcher.h"

namespace shoal::node {

class FetchTasks : public FileTasks {
 public:
  FetchTasks(boost::asio::io_context& io, Fetcher& fetcher) : io_(io), fetcher_(fetcher) {}
  void Start(const FileTaskRequest& request, Progress progress, Done done) override;

 private:
  boost::asio::io_context& io_;
  Fetcher& fetcher_;
};

// Sets `path`'s owner from "user" or "user:group" (lchown). Errors name the account.
Status ChangeOwner(const std::string& path, const std::string& owner);

}  // namespace shoal::node
