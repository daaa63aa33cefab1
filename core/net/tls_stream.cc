#include "core/net/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "core/frame_server.h"
#include "core/net/tls_context.h"

namespace shoal::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// OpenSSL's socket BIO writes with write(2): a peer that is gone (a planner SIGKILLed, a node
// rebooted) raises SIGPIPE, whose default action kills the process. This BIO is the socket
// BIO with writes done by send(MSG_NOSIGNAL), so that is an EPIPE error on that connection.
int SendNoSignal(BIO* bio, const char* data, int len) {
  int fd = -1;
  BIO_get_fd(bio, &fd);
  errno = 0;
  int n = static_cast<int>(::send(fd, data, static_cast<size_t>(len), MSG_NOSIGNAL));
  BIO_clear_retry_flags(bio);
  if (n <= 0 && BIO_sock_should_retry(n)) BIO_set_retry_write(bio);
  return n;
}

const BIO_METHOD* SocketMethodNoSigpipe() {
  static const BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "socket, no SIGPIPE");
    // The old-style (int) entry points: those are what the built-in socket BIO defines.
    BIO_meth_set_write(m, SendNoSignal);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return m;
  }();
  return method;
}
}  // namespace

TlsStream::TlsStream(tcp::socket socket, const TlsContext& ctx, Side side)
    : socket_(std::move(socket)) {
  ssl_ = SSL_new(ctx.get());
  socket_.non_blocking(true);
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
  BIO* bio = BIO_new(SocketMethodNoSigpipe());
  BIO_set_fd(bio, socket_.native_handle(), BIO_NOCLOSE);  // the socket owns the descriptor
  SSL_set_bio(ssl_, bio, bio);
  if (side == Side::kClient) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

void TlsStream::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

Status TlsStream::MoveTo(const asio::any_io_executor& executor) {
  if (closed_) return Error{"connection closed"};
  boost::system::error_code ec;
  auto protocol = socket_.local_endpoint(ec).protocol();
  int fd = ec ? -1 : socket_.release(ec);
  if (ec || fd < 0) {
    Close();
    return Error{"moving connection: " + ec.message()};
  }
  // Registering with another io_context's reactor is thread-safe in Asio (it locks the
  // reactor's descriptor registry); the socket object is only used there after the hand-off.
  tcp::socket moved(executor);
  moved.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    closed_ = true;
    return Error{"moving connection: " + ec.message()};
  }
  moved.non_blocking(true, ec);
  socket_ = std::move(moved);
  return Status::Ok();
}

template <typename Op>
asio::awaitable<Result<int>> TlsStream::Drive(Op op, const char* what) {
  for (;;) {
    if (closed_) co_return Error{"connection closed"};
    ERR_clear_error();
    int rc = op();
    if (rc > 0) co_return rc;
    int err = SSL_get_error(ssl_, rc);
    boost::system::error_code ec;
    if (err == SSL_ERROR_WANT_READ) {
      co_await socket_.async_wait(tcp::socket::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
    } else if (err == SSL_ERROR_WANT_WRITE) {
      co_await socket_.async_wait(tcp::socket::wait_write,
                                  asio::redirect_error(asio::use_awaitable, ec));
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      co_return Error{"connection closed"};
    } else if (err == SSL_ERROR_SYSCALL) {
      co_return Error{std::string(what) + ": connection reset"};
    } else {
      unsigned long code = ERR_get_error();
      char buf[256] = "protocol error";
      if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
      ERR_clear_error();
      co_return Error{std::string(what) + ": " + buf};
    }
    if (ec) co_return Error{std::string(what) + ": " + ec.message()};
  }
}

asio::awaitable<Status> TlsStream::Handshake() {
  auto r = co_await Drive([this] { return SSL_do_handshake(ssl_); }, "TLS handshake");
  if (!r) co_return r.error();
  co_return Status::Ok();
}

asio::awaitable<Status> TlsStream::ReadExact(void* data, size_t n) {
  auto* p = static_cast<uint8_t*>(data);
  size_t done = 0;
  while (done < n) {
    size_t got = 0;
    auto r = co_await Drive([&] { return SSL_read_ex(ssl_, p + done, n - done, &got); }, "read");
    if (!r) co_return r.error();
    done += got;
  }
  co_return Status::Ok();
}

asio::awaitable<Status> TlsStream::WriteAll(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    size_t wrote = 0;
    auto r = co_await Drive(
        [&] { return SSL_write_ex(ssl_, data.data() + done, data.size() - done, &wrote); },
        "write");
    if (!r) co_return r.error();
    done += wrote;
  }
  co_return Status::Ok();
}

void TlsStream::ResumeFrom(SessionSlot* slot) { TlsContext::BindSessionSlot(ssl_, slot); }

bool TlsStream::resumed() const { return SSL_session_reused(ssl_) == 1; }

X509* TlsStream::PeerCertificate() const { return SSL_get0_peer_certificate(ssl_); }

std::string TlsStream::RemoteAddress() const {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

asio::awaitable<Result<std::unique_ptr<TlsStream>>> ConnectTls(asio::any_io_executor executor,
                                                               const std::string& host,
                                                               uint16_t port,
                                                               const TlsContext& ctx,
                                                               SessionSlot* slot) {
  boost::system::error_code ec;
  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(host, ec.message());
  tcp::socket socket(executor);
  co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(host + ":" + std::to_string(port), ec.message());
  auto stream = std::make_unique<TlsStream>(std::move(socket), ctx, TlsStream::Side::kClient);
  if (!slot && SSL_CTX_get_session_cache_mode(ctx.get()) & SSL_SESS_CACHE_CLIENT) {
    slot = &ctx.default_session();
  }
  if (slot) stream->ResumeFrom(slot);
  if (auto s = co_await stream->Handshake(); !s) co_return s.error();
  co_return stream;
}

Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text) {
  return SplitHostPort(text);
}

}  // namespace shoal::net

namespace shoal::net {
Status RequirePeerRole(const TlsStream& stream, const std::string& role) {
  X509* peer = stream.PeerCertificate();
  if (!peer) return Error{"peer presented no certificate"};
  if (SSL_get_verify_result(stream.ssl()) != X509_V_OK) return Error{"peer certificate unverified"};
  Identity id = IdentityOf(peer);
  if (id.ou != role) return Error{"peer " + id.cn + " has role '" + id.ou + "', not " + role};
  return Status::Ok();
}
}  // namespace shoal::net
