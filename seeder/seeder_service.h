// The seeder's request handler: `put` (admin socket only), `get` and `list`, over framed
// Cap'n Proto (proto/seeder.capnp). Newly put artifacts start seeding at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <utility>  // Boost 1.74 awaitable.hpp needs std::exchange

#include "core/swarm.h"
#include "seeder/origin_store.h"

namespace shoal::seeder {

class SeederService {
 public:
  SeederService(boost::asio::io_context& io, OriginStore& store, Swarm& swarm)
      : io_(io), store_(store), swarm_(swarm) {}

  // Serves one connection until it closes or sends a malformed frame. `admin` connections may
  // put; others may only look artifacts up.
  template <typename Socket>
  boost::asio::awaitable<void> Serve(Socket& socket, bool admin);

  // Awaited after a put stored an artifact and before it starts seeding (e.g. registering it
  // with a closed tracker, so that its first announce is accepted).
  std::function<boost::asio::awaitable<void>(const ArtifactMeta&)> before_seed;

 private:
  template <typename Socket>
  boost::asio::awaitable<void> HandlePut(Socket& socket, std::string path, std::string name);

  boost::asio::io_context& io_;
  OriginStore& store_;
  Swarm& swarm_;
};

}  // namespace shoal::seeder
