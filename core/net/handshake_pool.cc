#include "core/net/handshake_pool.h"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "core/log.h"
#include "core/net/handshake_gate.h"
#include "core/net/tls_context.h"

namespace shoal::net {
namespace asio = boost::asio;
using asio::ip::tcp;

struct HandshakePool::Worker {
  explicit Worker(size_t max_handshakes) : gate(max_handshakes) {}
  // The gate outlives the io_context: coroutines destroyed with the io_context release slots.
  HandshakeGate gate;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
};

HandshakePool::HandshakePool(const TlsContext& ctx, asio::any_io_executor owner,
                             Options options, Established established)
    : ctx_(ctx),
      owner_(std::move(owner)),
      options_(options),
      established_(std::move(established)) {
  if (options_.threads == 0) {
    owner_gate_ = std::make_unique<HandshakeGate>(options_.max_handshakes);
    return;
  }
  for (size_t i = 0; i < options_.threads; ++i) {
    auto w = std::make_unique<Worker>(options_.max_handshakes);
    w->thread = std::thread([io = &w->io] { io->run(); });
    workers_.push_back(std::move(w));
  }
}

HandshakePool::~HandshakePool() { Stop(); }

void HandshakePool::Stop() {
  if (!*live_) return;
  *live_ = false;
  for (auto& w : workers_) {
    w->work.reset();
    w->io.stop();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  // The io_contexts (and the coroutines still in them, which close their sockets) are
  // destroyed with the pool, on this thread, after their threads have ended.
}

void HandshakePool::Submit(tcp::socket socket) {
  if (!*live_) return;
  pending_->fetch_add(1);
  if (workers_.empty()) {
    asio::co_spawn(owner_, Handshake(nullptr, std::move(socket)), asio::detached);
    return;
  }
  Worker* w = workers_[next_++ % workers_.size()].get();
  boost::system::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  int fd = ec ? -1 : socket.release(ec);
  if (fd < 0) {
    pending_->fetch_sub(1);
    return;  // the peer is already gone
  }
  // The descriptor travels by number; the worker registers it with its own reactor.
  asio::post(w->io, [this, w, protocol, fd] {
    tcp::socket s(w->io);
    boost::system::error_code ec;
    s.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      pending_->fetch_sub(1);
      return;
    }
    asio::co_spawn(w->io, Handshake(w, std::move(s)), asio::detached);
  });
}

asio::awaitable<void> HandshakePool::Handshake(Worker* worker, tcp::socket socket) {
  // Counted down however this ends: handed back, failed, or destroyed with its io_context.
  struct Pending {
    std::shared_ptr<std::atomic<size_t>> count;
    bool armed = true;
    ~Pending() {
      if (armed) count->fetch_sub(1);
    }
  } pending{pending_};
  HandshakeGate& gate = worker ? worker->gate : *owner_gate_;
  // In a reconnect storm most connections wait here, before any TLS work: a bounded number of
  // handshakes progress at once and each finishes quickly (the deadline starts after the wait).
  auto slot = co_await gate.Acquire();
  auto stream = std::make_unique<TlsStream>(std::move(socket), ctx_, TlsStream::Side::kServer);
  std::string peer = stream->RemoteAddress();
  auto executor = worker ? asio::any_io_executor(worker->io.get_executor()) : owner_;
  asio::steady_timer deadline(executor, std::chrono::milliseconds(options_.timeout_ms));
  // `finished` guards against a deadline that fired just as the handshake completed: its
  // handler may still run after the stream has been handed on.
  auto finished = std::make_shared<bool>(false);
  deadline.async_wait([finished, s = stream.get(), peer](boost::system::error_code ec) {
    if (ec || *finished) return;
    SHOAL_LOG(Warn) << "dropping " << peer << ": too slow to handshake";
    s->Close();
  });
  auto hs = co_await stream->Handshake();
  *finished = true;
  deadline.cancel();
  slot.Reset();
  if (!hs) {
    SHOAL_LOG(Warn) << "TLS handshake with " << peer << " failed: " << hs.error().message;
    co_return;
  }
  if (worker) {
    if (auto s = stream->MoveTo(owner_); !s) {
      SHOAL_LOG(Warn) << "dropping " << peer << ": " << s.error().message;
      co_return;
    }
  }
  // Counted as pending until the owner has it, so a storm's backlog bound includes these.
  pending.armed = false;
  asio::post(owner_, [this, live = live_, count = pending_, stream = std::move(stream)]() mutable {
    count->fetch_sub(1);
    if (*live) established_(std::move(stream));
  });
}

}  // namespace shoal::net
