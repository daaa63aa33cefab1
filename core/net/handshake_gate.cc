#include "core/net/handshake_gate.h"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shoal::net {
namespace asio = boost::asio;

asio::awaitable<HandshakeGate::Slot> HandshakeGate::Acquire() {
  if (running_ < limit_ && waiters_.empty()) {
    ++running_;
    co_return Slot(this);
  }
  auto waiter = std::make_shared<Waiter>();
  waiter->timer = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                       asio::steady_timer::time_point::max());
  waiters_.push_back(waiter);
  boost::system::error_code ec;
  while (!waiter->granted) {
    // Release() cancels the timer after granting; anything else waking us just waits again.
    co_await waiter->timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!waiter->granted) waiter->timer->expires_at(asio::steady_timer::time_point::max());
  }
  co_return Slot(this);  // the releasing slot's count passed to us
}

void HandshakeGate::Release() {
  while (!waiters_.empty()) {
    auto next = waiters_.front().lock();
    waiters_.pop_front();
    if (!next) continue;
    next->granted = true;
    next->timer->cancel();
    return;
  }
  --running_;
}

}  // namespace shoal::net
