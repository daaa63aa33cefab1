// Looks artifacts up at the origin (the seeder's origin API): id -> metadata and torrent.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include "core/artifact_index.h"
#include "core/result.h"

namespace shoal::node {

class OriginClient {
 public:
  explicit OriginClient(std::string origin_address) : address_(std::move(origin_address)) {}

  // Connects, asks for `id`, validates the answer (the id must match what was asked). Fails with
  // the origin's own reason if it does not hold the artifact.
  boost::asio::awaitable<Result<ArtifactMeta>> Get(const ArtifactId& id);

 private:
  std::string address_;
};

}  // namespace shoal::node
