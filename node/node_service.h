// The node's admin socket (owner-only Unix socket): `fetch` with streamed progress, `status`,
// and the cache (`shoal cache ls|rm|gc`). A fetch pins its artifact while it runs and records
// its use; the cache quota is enforced when it ends.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <string>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include "core/artifact_index.h"
#include "core/swarm.h"
#include "node/cache_manager.h"
#include "node/fetcher.h"

namespace shoal::node {

class NodeService {
 public:
  NodeService(std::string name, Fetcher& fetcher, ArtifactIndex& index, Swarm& swarm,
              CacheManager& cache)
      : name_(std::move(name)), fetcher_(fetcher), index_(index), swarm_(swarm), cache_(cache) {}

  boost::asio::awaitable<void> Serve(boost::asio::local::stream_protocol::socket& socket);

 private:
  // The cache listing after a change, with what was removed.
  std::string CacheReply(const std::vector<ArtifactMeta>& removed) const;

  std::string name_;
  Fetcher& fetcher_;
  ArtifactIndex& index_;
  Swarm& swarm_;
  CacheManager& cache_;
};

}  // namespace shoal::node
