// A TLS connection driven directly through OpenSSL on a non-blocking Asio TCP socket.
//
// Why not asio::ssl::stream: it keeps ~68 KiB of fixed buffers per connection (two BIO-pair
// halves and two record buffers). A planner holding 10,000 nodes would spend most of its memory
// on idle buffers. Here OpenSSL reads and writes the socket itself (SSL_set_fd) and, with
// SSL_MODE_RELEASE_BUFFERS, holds record buffers only while a record is in flight; we wait for
// readiness with async_wait.
//
// One reader and one writer coroutine may be active at once (OpenSSL allows interleaved
// SSL_read/SSL_write on one thread). All calls must come from the socket's executor's thread;
// MoveTo hands the stream to another executor (a server's handshake thread -> its main thread).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include "core/net/certs.h"
#include "core/result.h"

namespace shoal::net {

class SessionSlot;
class TlsContext;

class TlsStream {
 public:
  enum class Side { kClient, kServer };
  // Takes ownership of a connected socket. `ctx` must outlive the stream.
  TlsStream(boost::asio::ip::tcp::socket socket, const TlsContext& ctx, Side side);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  boost::asio::awaitable<Status> Handshake();
  // Reads exactly `n` bytes. Fails on close, error, or Close().
  boost::asio::awaitable<Status> ReadExact(void* data, size_t n);
  boost::asio::awaitable<Status> WriteAll(std::string_view data);
  // Moves the connection to `executor` (another io_context): the descriptor leaves this
  // socket's reactor and is registered with `executor`'s. OpenSSL reads and writes the
  // descriptor by number, so the TLS state carries over unchanged. Fails (and closes) if the
  // descriptor cannot move.
  // REQUIRES: no read, write or wait pending; called on the current executor's thread. After
  // it, use the stream only on `executor`'s thread, handed over with a happens-before (a post).
  Status MoveTo(const boost::asio::any_io_executor& executor);
  // Closes the socket now; pending reads and writes fail. Idempotent.
  void Close();
  bool closed() const { return closed_; }

  // Client side, before Handshake(): offer `slot`'s ticket (if it holds a live one) and keep
  // the tickets this connection receives in it. `slot` must outlive the stream.
  void ResumeFrom(SessionSlot* slot);
  // After the handshake: whether it resumed a session (no certificates exchanged).
  bool resumed() const;

  // The verified peer certificate (null if the peer sent none). On a resumed session, the one
  // the original handshake verified.
  X509* PeerCertificate() const;
  SSL* ssl() const { return ssl_; }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  std::string RemoteAddress() const;

 private:
  // Runs `op` until it succeeds or fails, waiting for socket readiness as OpenSSL asks.
  template <typename Op>
  boost::asio::awaitable<Result<int>> Drive(Op op, const char* what);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_ = nullptr;
  bool closed_ = false;
};

// Connects to `host:port` and completes the TLS handshake as a client, resuming from `slot`
// (default: the context's default_session(), if it has one) when it holds a ticket.
boost::asio::awaitable<Result<std::unique_ptr<TlsStream>>> ConnectTls(
    boost::asio::any_io_executor executor, const std::string& host, uint16_t port,
    const TlsContext& ctx, SessionSlot* slot = nullptr);

// Splits "host:port". Fails on a missing or invalid port.
Result<std::pair<std::string, uint16_t>> ParseHostPort(const std::string& text);

}  // namespace shoal::net

namespace shoal::net {
// Succeeds if the peer presented a certificate (already verified by the handshake) whose role
// (OU) is `role`. Clients call it with kRolePlanner so no node or admin can pose as a planner.
Status RequirePeerRole(const TlsStream& stream, const std::string& role);
}  // namespace shoal::net
