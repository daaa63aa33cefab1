// shoal-http-origin: the "central push" baseline of the distribution benchmark. A minimal
// HTTP/1.1 static file server whose whole upload is paced by ONE token bucket shared by every
// connection, standing in for an origin's shared uplink.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>  // before asio: Boost 1.74 awaitable.hpp uses std::exchange unincluded

#include "core/result.h"

namespace shoal::bench {

// A token bucket in the reservation style: a caller takes the bytes it is about to send and is
// told how long to wait first. The balance may go negative (debt), so callers queue behind one
// another in reservation order and the long-run rate over all callers is `bytes_per_sec`.
// Time is passed in, so the arithmetic is testable with synthetic clocks.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // `bytes_per_sec` 0 means unlimited. `burst_bytes` is the most that can go without waiting
  // after an idle period. The bucket starts full at `now`.
  TokenBucket(uint64_t bytes_per_sec, uint64_t burst_bytes, Clock::time_point now);

  // Reserves `bytes` at `now`; returns the wait before sending them (zero when covered).
  // REQUIRES: `now` never goes backwards between calls (earlier values are treated as the last).
  Clock::duration Reserve(uint64_t bytes, Clock::time_point now);

 private:
  double rate_;   // bytes per second; 0: unlimited
  double burst_;  // cap on the balance
  double tokens_;
  Clock::time_point last_;
};

struct OriginOptions {
  std::filesystem::path root;  // files served: direct children of root only
  uint64_t upload_limit = 0;   // bytes per second over all connections; 0: unlimited
  size_t chunk_bytes = 64 * 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  size_t max_connections = 1024;
};


class HttpOrigin {
 public:
  // Listens on `listen` and serves `GET /<name>` for regular files directly under
  // options.root (a name with '/', "..", or outside the root after symlinks is refused).
  static Result<std::unique_ptr<HttpOrigin>> Start(boost::asio::io_context& io,
                                                   const boost::asio::ip::tcp::endpoint& listen,
                                                   OriginOptions options);
  ~HttpOrigin();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting and closes every connection. REQUIRES: runs on the io_context's thread,
  // and the origin outlives the handlers this aborts (destroy it after io.run() returns).
  void Stop();

 private:
  class Impl;
  explicit HttpOrigin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::bench
