// shoal-tracker's HTTP server: Beast on one io_context thread, one coroutine per connection.
// Bounded everywhere a client could make it grow: header size, connection count, idle time,
// and (through SwarmLimits) torrents and peers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "tracker/service.h"

namespace shoal::tracker {

struct TrackerOptions {
  AnnounceTiming timing;
  SwarmLimits limits;
  std::chrono::milliseconds idle_timeout{15'000};  // a connection silent this long is closed
  size_t max_connections = 4096;                   // further connections are closed at once
  uint32_t max_header_bytes = 8192;                // request line + headers
  uint64_t seed = 0;                               // 0: seed the peer choice randomly
  // Closed tracker: only info-hashes registered with this key are tracked (registry.h).
  // Unset: open, any info-hash is tracked.
  std::optional<std::string> register_key;
  uint32_t max_register_body = 4u << 20;  // a /register body (~100,000 hashes)
};


class TrackerServer {
 public:
  // Binds `listen` and starts accepting on `io` (the caller runs `io`). Fails if the address
  // cannot be bound.
  static Result<std::unique_ptr<TrackerServer>> Start(boost::asio::io_context& io,
                                                      const boost::asio::ip::tcp::endpoint& listen,
                                                      TrackerOptions options);
  ~TrackerServer();
  TrackerServer(const TrackerServer&) = delete;
  TrackerServer& operator=(const TrackerServer&) = delete;

  // The bound address (with the real port when listening on port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting, closes every connection and the expiry timer. Must run on the io_context's
  // thread; once the handlers it aborts have run, `io.run()` returns (if nothing else is
  // queued). REQUIRES: the server outlives those handlers, i.e. is destroyed after io.run()
  // returns (or io is otherwise drained).
  void Stop();

  const TrackerService& service() const;

 private:
  class Impl;
  explicit TrackerServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::tracker
