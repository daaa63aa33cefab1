// Registers the seeder's torrents with a closed shoal-tracker (tracker/registry.h): POST
// /register with the shared key and one info-hash per line. Everything stored is registered at
// start-up and again every `period` (so a restarted tracker, which keeps no state, learns them
// back); a new artifact is registered as it is put, before it starts seeding.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>  // Boost 1.74 awaitable.hpp needs std::exchange
#include <vector>

#include "core/result.h"

namespace shoal::seeder {

class TrackerRegistrar {
 public:
  // `announce_url` is the tracker's http:// announce URL (its host and port are used).
  // `all_hashes` lists the hex info-hashes of everything stored (called on the io thread).
  // Errors: an URL that is not http://host[:port]/...
  static Result<std::unique_ptr<TrackerRegistrar>> Create(
      boost::asio::io_context& io, const std::string& announce_url, std::string key,
      std::function<std::vector<std::string>()> all_hashes,
      std::chrono::milliseconds period = std::chrono::seconds(5));

  // Registers `hex_hashes` now. Never throws; an error names the tracker and the reason.
  boost::asio::awaitable<Status> Register(std::vector<std::string> hex_hashes);
  // Registers everything every period, until Stop().
  boost::asio::awaitable<void> Loop();
  void Stop();

 private:
  TrackerRegistrar(boost::asio::io_context& io, std::string host, std::string port, std::string key,
                   std::function<std::vector<std::string>()> all_hashes,
                   std::chrono::milliseconds period)
      : io_(io),
        host_(std::move(host)),
        port_(std::move(port)),
        key_(std::move(key)),
        all_hashes_(std::move(all_hashes)),
        period_(period),
        timer_(io) {}
  boost::asio::io_context& io_;
  std::string host_, port_, key_;
  std::function<std::vector<std::string>()> all_hashes_;
  std::chrono::milliseconds period_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  bool last_ok_ = true;
};

}  // namespace shoal::seeder
