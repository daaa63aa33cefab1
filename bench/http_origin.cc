#include "bench/http_origin.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <map>
#include <vector>

#include "core/log.h"
#include "core/paths.h"

namespace shoal::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

TokenBucket::TokenBucket(uint64_t bytes_per_sec, uint64_t burst_bytes, Clock::time_point now)
    : rate_(static_cast<double>(bytes_per_sec)),
      burst_(static_cast<double>(burst_bytes)),
      tokens_(static_cast<double>(burst_bytes)),
      last_(now) {}

TokenBucket::Clock::duration TokenBucket::Reserve(uint64_t bytes, Clock::time_point now) {
  if (rate_ <= 0) return Clock::duration::zero();
  if (now > last_) {
    tokens_ =
        std::min(burst_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(-tokens_ / rate_));
}

namespace {

// An open file descriptor, closed on destruction.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Maps a request target to a file under `root`, or an HTTP status saying why not.
Result<std::filesystem::path> Resolve(const std::filesystem::path& root, std::string_view target) {
  std::string_view name = target.substr(0, target.find('?'));
  if (name.empty() || name.front() != '/') return Error{"400"};
  name.remove_prefix(1);
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\\\0", 3)) != std::string_view::npos) {
    return Error{"400"};
  }
  auto confined = ConfinePath(root / std::string(name), {root});
  if (!confined.ok()) return Error{"404"};
  return *confined;
}

}  // namespace

class HttpOrigin::Impl {
 public:
  Impl(asio::io_context& io, OriginOptions options)
      : io_(io),
        options_(std::move(options)),
        acceptor_(io),
        bucket_(options_.upload_limit,
                std::max<uint64_t>(options_.chunk_bytes, options_.upload_limit / 20),
                TokenBucket::Clock::now()) {}

  Status Listen(const tcp::endpoint& listen) {
    std::error_code fec;
    options_.root = std::filesystem::canonical(options_.root, fec);
    if (fec) return Error::of("--root", fec.message());
    boost::system::error_code ec;
    acceptor_.open(listen.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(listen, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error::of("listen", ec.message());
    asio::co_spawn(io_, Accept(), asio::detached);
    return Status::Ok();
  }

  tcp::endpoint local_endpoint() const {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec);
  }

  void Stop() {
    stopped_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (auto& [id, stream] : live_) stream->socket().close(ec);
  }

 private:
  asio::awaitable<void> Accept() {
    while (!stopped_) {
      boost::system::error_code ec;
      tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped_) break;
      if (ec) {
        SHOAL_LOG(Warn) << "accept: " << ec.message();
        asio::steady_timer backoff(io_, std::chrono::milliseconds(100));
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (live_.size() >= options_.max_connections) continue;  // dropped: closes the socket
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
      ~Unregister() { self->live_.erase(id); }
    } unregister{this, id};
    try {
      co_await ServeRequests(stream);
    } catch (const std::exception& e) {
      SHOAL_LOG(Warn) << "connection dropped: " << e.what();
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Sends a short non-file answer; returns false when the connection should close.
  asio::awaitable<bool> SendStatus(beast::tcp_stream& stream, http::status status,
                                   bool keep_alive) {
    http::response<http::string_body> res(status, 11);
    res.set(http::field::server, "shoal-http-origin");
    res.body() = std::string(http::obsolete_reason(status)) + "\n";
    res.keep_alive(keep_alive);
    res.prepare_payload();
    boost::system::error_code ec;
    stream.expires_after(options_.idle_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec && keep_alive;
  }

  asio::awaitable<void> ServeRequests(beast::tcp_stream& stream) {
    beast::flat_buffer buffer(16 * 1024);
    std::vector<char> chunk(options_.chunk_bytes);
    while (!stopped_) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(8 * 1024);
      parser.body_limit(0);
      boost::system::error_code ec;
      stream.expires_after(options_.idle_timeout);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == http::error::end_of_stream || stopped_) co_return;
      if (ec) {
        co_await SendStatus(stream, http::status::bad_request, false);
        co_return;
      }
      const auto& req = parser.get();
      const bool keep_alive = req.keep_alive();
      if (req.method() != http::verb::get) {
        if (!co_await SendStatus(stream, http::status::method_not_allowed, keep_alive)) co_return;
        continue;
      }
      auto path =
          Resolve(options_.root, std::string_view(req.target().data(), req.target().size()));
      Fd file;
      struct stat st {};
      if (path.ok()) file.fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
      if (!path.ok() || file.fd < 0 || ::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        auto status = path.ok() || path.error().message == "404" ? http::status::not_found
                                                                 : http::status::bad_request;
        if (!co_await SendStatus(stream, status, keep_alive)) co_return;
        continue;
      }
      http::response<http::empty_body> res(http::status::ok, 11);
      res.set(http::field::server, "shoal-http-origin");
      res.set(http::field::content_type, "application/octet-stream");
      res.content_length(static_cast<uint64_t>(st.st_size));
      res.keep_alive(keep_alive);
      http::response_serializer<http::empty_body> sr(res);
      stream.expires_after(options_.idle_timeout);
      co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      // The body, chunk by chunk, each chunk waiting its turn in the shared bucket.
      asio::steady_timer pace(io_);
      uint64_t sent = 0, size = static_cast<uint64_t>(st.st_size);
      while (sent < size) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - sent));
        ssize_t got = ::pread(file.fd, chunk.data(), want, static_cast<off_t>(sent));
        if (got <= 0) {
          SHOAL_LOG(Warn) << "read " << *path << " failed at " << sent;
          co_return;  // the client sees a short body and fails
        }
        auto wait = bucket_.Reserve(static_cast<uint64_t>(got), TokenBucket::Clock::now());
        if (wait > TokenBucket::Clock::duration::zero()) {
          pace.expires_after(wait);
          co_await pace.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (stopped_) co_return;
        }
        stream.expires_after(options_.idle_timeout);
        co_await asio::async_write(stream, asio::buffer(chunk.data(), static_cast<size_t>(got)),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        sent += static_cast<uint64_t>(got);
      }
      SHOAL_LOG(Debug) << "sent " << *path << " (" << size << " bytes)";
      if (!keep_alive) co_return;
    }
  }

  asio::io_context& io_;
  OriginOptions options_;
  tcp::acceptor acceptor_;
  TokenBucket bucket_;  // one for all connections: the origin's uplink is shared
  std::map<uint64_t, beast::tcp_stream*> live_;
  uint64_t next_id_ = 0;
  bool stopped_ = false;
};

HttpOrigin::HttpOrigin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpOrigin::~HttpOrigin() = default;

Result<std::unique_ptr<HttpOrigin>> HttpOrigin::Start(asio::io_context& io,
                                                      const tcp::endpoint& listen,
                                                      OriginOptions options) {
  auto impl = std::make_unique<Impl>(io, std::move(options));
  if (Status s = impl->Listen(listen); !s.ok()) return s.error();
  return std::unique_ptr<HttpOrigin>(new HttpOrigin(std::move(impl)));
}

tcp::endpoint HttpOrigin::local_endpoint() const { return impl_->local_endpoint(); }
void HttpOrigin::Stop() { impl_->Stop(); }

}  // namespace shoal::bench
