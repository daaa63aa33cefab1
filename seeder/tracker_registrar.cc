#include "seeder/tracker_registrar.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/log.h"

namespace shoal::seeder {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Result<std::unique_ptr<TrackerRegistrar>> TrackerRegistrar::Create(
    asio::io_context& io, const std::string& announce_url, std::string key,
    std::function<std::vector<std::string>()> all_hashes, std::chrono::milliseconds period) {
  if (!announce_url.starts_with("http://")) {
    return Error::of(announce_url, "registration needs an http:// tracker URL");
  }
  std::string authority = announce_url.substr(7, announce_url.find('/', 7) - 7);
  std::string host = authority, port = "80";
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || port.empty()) return Error::of(announce_url, "no host or port");
  return std::unique_ptr<TrackerRegistrar>(new TrackerRegistrar(
      io, std::move(host), std::move(port), std::move(key), std::move(all_hashes), period));
}

asio::awaitable<Status> TrackerRegistrar::Register(std::vector<std::string> hex_hashes) {
  const std::string where = "tracker " + host_ + ":" + port_;
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io_);
  auto endpoints =
      co_await resolver.async_resolve(host_, port_, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(where, "resolve: " + ec.message());
  beast::tcp_stream stream(io_);
  stream.expires_after(std::chrono::seconds(10));
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(where, "connect: " + ec.message());
  http::request<http::string_body> req{http::verb::post, "/register", 11};
  req.set(http::field::host, host_);
  req.set(http::field::authorization, "Bearer " + key_);
  req.set(http::field::content_type, "text/plain");
  req.set(http::field::connection, "close");
  for (const auto& h : hex_hashes) req.body() += h + "\n";
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(where, "send: " + ec.message());
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(stream, buffer, res, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(where, "reply: " + ec.message());
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  if (res.result() != http::status::ok) {
    co_return Error::of(where, "registration refused (HTTP " + std::to_string(res.result_int()) +
                                   "): " + res.body());
  }
  co_return Status::Ok();
}

asio::awaitable<void> TrackerRegistrar::Loop() {
  while (!stopped_) {
    std::vector<std::string> hashes = all_hashes_();
    Status s = co_await Register(std::move(hashes));
    if (!s) {
      // Once per outage, not once per period.
      if (last_ok_) SHOAL_LOG(Warn) << s.error().message << "; retrying every period";
    } else if (!last_ok_) {
      SHOAL_LOG(Info) << "registered with tracker " << host_ << ":" << port_ << " again";
    }
    last_ok_ = s.ok();
    timer_.expires_after(period_);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void TrackerRegistrar::Stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace shoal::seeder
