// libtorrent's network thread, run by Shoal instead of by libtorrent (the session's external
// io_context constructor), so that its wake-ups can be batched (issue 12). libtorrent's own
// thread sleeps in epoll_wait and wakes for every packet that lands on an idle socket: at
// 25 Mbit/s a node woke ~580 times a second and moved ~10 KB per wake-up, and each wake-up costs
// a context switch, an epoll_wait and a pass through the reactor. Here, after each pass the
// thread sleeps `batch` before looking again, so that one pass takes what several packets
// brought (user-space interrupt moderation): at most one pass per `batch`, and no nap when a
// pass takes that long by itself (a busy thread is not slowed). Peers see at most `batch` more
// latency per request; TCP's windows and the request pipeline cover that (a socket's buffers
// hold 2 ms of a 10 Gbit/s link).
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>
#include <thread>

namespace shoal {

class NetworkLoop {
 public:
  explicit NetworkLoop(std::chrono::microseconds batch);
  ~NetworkLoop();  // Finish()
  NetworkLoop(const NetworkLoop&) = delete;
  NetworkLoop& operator=(const NetworkLoop&) = delete;

  // For libtorrent::session's constructor.
  boost::asio::io_context& context() { return io_; }
  void Start();
  // After session::abort() and the session's destruction: lets the loop end once libtorrent's
  // remaining work is done, and joins the thread.
  void Finish();
  // Passes over ready work so far (each starts with a wake-up or after a nap).
  uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }

 private:
  void Run();

  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::chrono::microseconds batch_;
  std::thread thread_;
  std::atomic<uint64_t> passes_{0};
};

}  // namespace shoal
