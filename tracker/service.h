// The tracker's request handling without the network: an HTTP method and target plus the
// peer's source address in, an HTTP status and bencoded body out. The server (server.h) feeds
// it requests Beast has already framed; tests can call it directly.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>

#include "tracker/registry.h"
#include "tracker/response.h"
#include "tracker/swarm.h"

namespace shoal::tracker {

struct HttpAnswer {
  int status = 200;  // 200 for every tracker-level answer, failures included (BEP 3)
  std::string body;  // bencoded
};

class TrackerService {
 public:
  // `registry` says which torrents are tracked (registry.h); the default tracks any.
  TrackerService(AnnounceTiming timing, SwarmLimits limits, uint64_t seed,
                 Registry registry = Registry::Open());

  // Answers one request. `method_is_get` is false for any other HTTP method (answered 405).
  // Unknown paths get 404; malformed tracker queries get 200 with a `failure reason` that
  // names the problem. Never throws on any input.
  HttpAnswer Handle(bool method_is_get, std::string_view target,
                    const boost::asio::ip::address& source, Clock::time_point now);

  // Answers POST /register (registry.h): 200 with the count of new hashes, 403 for a wrong or
  // missing key, 404 on an open tracker, 400 for a malformed body.
  HttpAnswer HandleRegister(std::string_view authorization, std::string_view body,
                            const boost::asio::ip::address& source);
  const Registry& registry() const { return registry_; }

  // Forgets peers unheard for longer than the TTL (see Swarms::Expire).
  size_t Expire(Clock::time_point now) { return swarms_.Expire(now); }
  const Swarms& swarms() const { return swarms_; }

 private:
  AnnounceTiming timing_;
  Swarms swarms_;
  Registry registry_;
};

}  // namespace shoal::tracker
