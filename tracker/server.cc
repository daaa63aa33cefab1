#include "tracker/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <map>
#include <random>
#include <utility>  // before asio: Boost 1.74 awaitable.hpp uses std::exchange unincluded

#include "core/log.h"

namespace shoal::tracker {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

class TrackerServer::Impl {
 public:
  Impl(asio::io_context& io, TrackerOptions options)
      : io_(io),
        options_(options),
        acceptor_(io),
        expiry_timer_(io),
        service_(
            options.timing, options.limits, options.seed ? options.seed : std::random_device{}(),
            options.register_key ? Registry::Closed(*options.register_key) : Registry::Open()) {}

  Status Listen(const tcp::endpoint& listen) {
    boost::system::error_code ec;
    acceptor_.open(listen.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(listen, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error::of("listen " + listen.address().to_string(), ec.message());
    asio::co_spawn(io_, Accept(), asio::detached);
    asio::co_spawn(io_, ExpireLoop(), asio::detached);
    return Status::Ok();
  }

  tcp::endpoint local_endpoint() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec);
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    expiry_timer_.cancel();
    for (auto& [id, stream] : live_) stream->socket().close(ec);
  }

  const TrackerService& service() const { return service_; }

 private:
  // Peers are forgotten at most this late after their TTL ran out.
  Clock::duration ExpiryPeriod() const {
    auto quarter = options_.limits.peer_ttl / 4;
    return std::clamp<Clock::duration>(quarter, std::chrono::milliseconds(50),
                                       std::chrono::seconds(1));
  }

  asio::awaitable<void> ExpireLoop() {
    while (!stopped_) {
      expiry_timer_.expires_after(ExpiryPeriod());
      boost::system::error_code ec;
      co_await expiry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) break;
      if (size_t n = service_.Expire(Clock::now()); n > 0) {
        SHOAL_LOG(Debug) << "expired " << n << " peers";
      }
    }
  }

  asio::awaitable<void> Accept() {
    while (!stopped_) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) break;
      if (ec) {
        // e.g. EMFILE: back off briefly instead of spinning on the error.
        SHOAL_LOG(Warn) << "accept: " << ec.message();
        asio::steady_timer backoff(io_, std::chrono::milliseconds(100));
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (open_connections_ >= options_.max_connections) {
        socket.close(ec);  // shed load: the client retries at its next interval
        continue;
      }
      ++open_connections_;  // counted here, not in Serve, so the cap holds for a burst
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    const uint64_t id = next_id_++;
    live_.emplace(id, &stream);
    struct Unregister {
      Impl* self;
      uint64_t id;
      ~Unregister() {
        self->live_.erase(id);
        --self->open_connections_;
      }
    } unregister{this, id};
    bool linger = false;
    try {
      linger = co_await ServeRequests(stream);
    } catch (const std::exception& e) {
      SHOAL_LOG(Warn) << "connection dropped: " << e.what();
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (linger && !stopped_) co_await Drain(stream);
    stream.socket().close(ec);
  }

  // After an error answer sent while the client may still be sending (an oversize request):
  // closing with unread bytes would make the kernel send a reset, which can destroy the answer
  // before the client reads it. Read and discard until the client closes, for a bounded time
  // and amount, as HTTP servers' "lingering close" does.
  asio::awaitable<void> Drain(beast::tcp_stream& stream) {
    char sink[4096];
    size_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (drained < (1u << 20)) {
      boost::system::error_code ec;
      size_t n = co_await stream.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      drained += n;
      if (ec) break;
    }
  }

  // Serves requests until the connection ends. Returns true if it ended with an error answer
  // the client may not have finished sending (see Drain).
  asio::awaitable<bool> ServeRequests(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    const auto source = stream.socket().remote_endpoint(ec).address();
    if (ec) co_return false;
    beast::flat_buffer buffer(2 * options_.max_header_bytes);
    while (!stopped_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(options_.max_header_bytes);
      // Beast checks Content-Length against the limit while parsing the header, so the limit
      // is the largest body anyone may send (a registration); other requests with a body are
      // refused below, before it is read.
      parser.body_limit(options_.max_register_body);
      stream.expires_after(options_.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      bool is_register = false, unwanted_body = false;
      if (!ec) {
        const auto& req = parser.get();
        std::string_view target(req.target().data(), req.target().size());
        is_register = target == "/register" || target.starts_with("/register?");
        if (!parser.is_done()) {
          if (is_register && req.method() == http::verb::post) {
            co_await http::async_read(stream, buffer, parser,
                                      asio::redirect_error(asio::use_awaitable, ec));
          } else {
            unwanted_body = true;
          }
        }
      }
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
          ec == asio::error::eof || stopped_) {
        co_return false;
      }
      http::response<http::string_body> res;
      res.version(11);
      bool keep_alive = false;
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
        // RFC 6585: the request line or headers are larger than the server will process.
        res.result(http::status::request_header_fields_too_large);
        res.body() = EncodeFailure("request line or headers over " +
                                   std::to_string(options_.max_header_bytes) + " bytes");
      } else if (ec || unwanted_body) {
        // Not HTTP we accept (garbage, a body): say why, then close.
        res.result(http::status::bad_request);
        res.body() = EncodeFailure("bad HTTP request: " +
                                   (ec ? ec.message() : std::string("no body expected")));
      } else {
        const auto& req = parser.get();
        HttpAnswer answer;
        if (is_register) {
          answer = req.method() == http::verb::post
                       ? service_.HandleRegister(
                             std::string_view(req[http::field::authorization].data(),
                                              req[http::field::authorization].size()),
                             req.body(), source)
                       : HttpAnswer{405, EncodeFailure("register with POST")};
        } else {
          answer = service_.Handle(req.method() == http::verb::get,
                                   std::string_view(req.target().data(), req.target().size()),
                                   source, Clock::now());
        }
        res.version(req.version());
        res.result(static_cast<http::status>(answer.status));
        res.body() = std::move(answer.body);
        keep_alive = req.keep_alive();
      }
      res.set(http::field::server, "shoal-tracker");
      res.set(http::field::content_type, "text/plain");
      res.keep_alive(keep_alive);
      res.prepare_payload();
      stream.expires_after(options_.idle_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
      if (!keep_alive) co_return res.result() != http::status::ok;
    }
    co_return false;
  }

  asio::io_context& io_;
  TrackerOptions options_;
  tcp::acceptor acceptor_;
  asio::steady_timer expiry_timer_;
  TrackerService service_;
  std::map<uint64_t, beast::tcp_stream*> live_;  // open connections, closed by Stop()
  size_t open_connections_ = 0;                  // accepted and not yet finished
  uint64_t next_id_ = 0;
  bool stopped_ = false;
};

TrackerServer::TrackerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrackerServer::~TrackerServer() = default;

Result<std::unique_ptr<TrackerServer>> TrackerServer::Start(asio::io_context& io,
                                                            const tcp::endpoint& listen,
                                                            TrackerOptions options) {
  auto impl = std::make_unique<Impl>(io, options);
  if (Status s = impl->Listen(listen); !s.ok()) return s.error();
  return std::unique_ptr<TrackerServer>(new TrackerServer(std::move(impl)));
}

tcp::endpoint TrackerServer::local_endpoint() const { return impl_->local_endpoint(); }
void TrackerServer::Stop() { impl_->Stop(); }
const TrackerService& TrackerServer::service() const { return impl_->service(); }

}  // namespace shoal::tracker
