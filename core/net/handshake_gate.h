// Bounds how many TLS handshakes a server runs at once. The rest wait, in arrival order, for a
// slot: they are already accepted (waiting costs a descriptor, not CPU or an SSL object), so a
// reconnect storm drains the kernel's accept backlog at once and is then worked through
// K handshakes at a time instead of thousands progressing together and all finishing late.
//
// REQUIRES: every Acquire and every Slot's destruction on one thread (the server's).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <deque>
#include <memory>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange

namespace shoal::net {

class HandshakeGate {
 public:
  explicit HandshakeGate(size_t limit) : limit_(limit == 0 ? 1 : limit) {}
  HandshakeGate(const HandshakeGate&) = delete;
  HandshakeGate& operator=(const HandshakeGate&) = delete;

  // Holds one slot until destroyed (or moved from).
  class Slot {
   public:
    Slot() = default;
    explicit Slot(HandshakeGate* gate) : gate_(gate) {}
    Slot(Slot&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
    Slot& operator=(Slot&& o) noexcept {
      if (this != &o) {
        Reset();
        gate_ = std::exchange(o.gate_, nullptr);
      }
      return *this;
    }
    ~Slot() { Reset(); }
    void Reset() {
      if (gate_) std::exchange(gate_, nullptr)->Release();
    }

   private:
    HandshakeGate* gate_ = nullptr;
  };

  // Waits for a free slot (FIFO). The gate must outlive the returned Slot.
  boost::asio::awaitable<Slot> Acquire();

  size_t running() const { return running_; }
  size_t waiting() const { return waiters_.size(); }
  size_t limit() const { return limit_; }

 private:
  struct Waiter {
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool granted = false;
  };
  void Release();

  size_t limit_;
  size_t running_ = 0;
  // Weak: a waiter whose coroutine was destroyed (its io_context stopped) is skipped.
  std::deque<std::weak_ptr<Waiter>> waiters_;
};

}  // namespace shoal::net
