// The node's admin socket (owner-only Unix socket): `fetch` with streamed progress, `status`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <string>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include "core/artifact_index.h"
#include "core/swarm.h"
#include "node/fetcher.h"

namespace shoal::node {

class NodeService {
 public:
  NodeService(std::string name, Fetcher& fetcher, ArtifactIndex& index, Swarm& swarm)
      : name_(std::move(name)), fetcher_(fetcher), index_(index), swarm_(swarm) {}

  boost::asio::awaitable<void> Serve(boost::asio::local::stream_protocol::socket& socket);

 private:
  std::string name_;
  Fetcher& fetcher_;
  ArtifactIndex& index_;
  Swarm& swarm_;
};

}  // namespace shoal::node
