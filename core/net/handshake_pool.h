// Runs a TLS server's handshakes on a small pool of threads and hands each established
// connection back to the server's own executor.
//
// Why: a handshake is almost all of what a reconnecting node costs a server (a full mutual-TLS
// handshake ~2 ms of CPU, a resumed one ~1 ms, registration a fraction of that). With every
// handshake on the server's one thread, 10,000 nodes reconnecting after a restart queue behind
// ~12 s of one core while the other cores idle. Here the server's state stays on its one
// thread; only the handshakes (accepted socket -> TLS handshake -> certificate and revocation
// checks) run elsewhere.
//
// Threading: each handshake thread has its own io_context and its own HandshakeGate (at most
// `max_handshakes` running at once on that thread, the rest waiting in arrival order), so
// nothing here but the pending count is shared between threads. A socket moves to a thread by
// descriptor (released from the owner's reactor, registered with the thread's) and comes back
// the same way with its SSL (TlsStream::MoveTo): OpenSSL addresses the descriptor by number.
// What the handshake itself touches on those threads must be thread-safe: the SSL_CTX (it is),
// the ticket keys (core/net/ticket_keys.h), the revocation check (the server's
// RevocationCheck must be), and logging (it is).
//
// With threads == 0 the handshakes run on the owner's executor: no threads, no moves. Then, as
// with any coroutine of the owner's, the pool must outlive the owner's io_context's handlers.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange
#include <vector>

#include "core/net/tls_stream.h"

namespace shoal::net {

class TlsContext;

class HandshakePool {
 public:
  struct Options {
    size_t threads = 0;           // 0: handshakes run on the owner's executor
    size_t max_handshakes = 64;   // running at once per thread (per owner if threads == 0)
    uint32_t timeout_ms = 10000;  // per handshake, counted from its start (not its wait)
  };
  // Receives each established connection on the owner's executor, bound to it.
  using Established = std::function<void(std::unique_ptr<TlsStream>)>;

  // `ctx` (a server context) must outlive the pool. Starts the threads.
  HandshakePool(const TlsContext& ctx, boost::asio::any_io_executor owner, Options options,
                Established established);
  ~HandshakePool();  // Stop()
  HandshakePool(const HandshakePool&) = delete;
  HandshakePool& operator=(const HandshakePool&) = delete;

  // Takes an accepted socket (bound to the owner's executor) and handshakes it. A failed or
  // timed-out handshake is logged and closed; a successful one goes to `established`.
  // REQUIRES: called on the owner's thread.
  void Submit(boost::asio::ip::tcp::socket socket);
  // Connections submitted and not yet handed back or dropped (waiting or handshaking).
  size_t pending() const { return pending_->load(); }
  size_t threads() const { return workers_.size(); }

  // Stops the threads; connections still in handshakes are closed and never handed back, nor
  // is any established connection not yet delivered. Idempotent. REQUIRES: owner's thread.
  void Stop();

 private:
  struct Worker;
  // One connection from submission to hand-off, on `worker` (null: the owner's executor).
  boost::asio::awaitable<void> Handshake(Worker* worker, boost::asio::ip::tcp::socket socket);

  const TlsContext& ctx_;
  boost::asio::any_io_executor owner_;
  Options options_;
  Established established_;
  // Shared with handlers posted to the owner: false once stopped, so late ones drop.
  std::shared_ptr<bool> live_ = std::make_shared<bool>(true);
  std::shared_ptr<std::atomic<size_t>> pending_ = std::make_shared<std::atomic<size_t>>(0);
  std::unique_ptr<class HandshakeGate> owner_gate_;  // threads == 0
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t next_ = 0;  // round robin
};

}  // namespace shoal::net
