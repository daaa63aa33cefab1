// Serves framed Cap'n Proto connections on an Asio acceptor (TCP or Unix): one coroutine per
// connection running `handler(socket)`. A handler returning, or throwing, closes only its own
// connection; the acceptor keeps serving.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <functional>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

#include "core/log.h"
#include "core/result.h"

namespace shoal {

template <typename Protocol>
using ConnectionHandler =
    std::function<boost::asio::awaitable<void>(typename Protocol::socket& socket)>;

template <typename Protocol>
boost::asio::awaitable<void> AcceptLoop(typename Protocol::acceptor& acceptor,
                                        ConnectionHandler<Protocol> handler) {
  namespace asio = boost::asio;
  while (acceptor.is_open()) {
    boost::system::error_code ec;
    typename Protocol::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      SHOAL_LOG(Warn) << "accept: " << ec.message();
      continue;
    }
    auto executor = acceptor.get_executor();
    asio::co_spawn(
        executor,
        [handler, s = std::move(socket)]() mutable -> asio::awaitable<void> {
          co_await handler(s);
        },
        [](std::exception_ptr e) {
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            SHOAL_LOG(Warn) << "connection dropped: " << ex.what();
          }
        });
  }
}

// Listens on a Unix socket at `path` (replacing a stale one), mode 0600: only the daemon's
// owner may use the admin interface.
Result<boost::asio::local::stream_protocol::acceptor> ListenUnix(boost::asio::io_context& io,
                                                                 const std::filesystem::path& path);
// Listens on "host:port" (port 0 = any); the bound endpoint is acceptor.local_endpoint().
Result<boost::asio::ip::tcp::acceptor> ListenTcp(boost::asio::io_context& io,
                                                 const std::string& host_port);
// Splits "host:port" (IPv6 hosts in brackets); error naming the input otherwise.
Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& host_port);
// Parses "127.0.0.1:6969", "[::1]:0" or "0.0.0.0:0" into an endpoint (IP literals only).
Result<boost::asio::ip::tcp::endpoint> ParseTcpEndpoint(const std::string& host_port);

}  // namespace shoal
