#include "core/network_loop.h"

#include <pthread.h>

namespace shoal {

NetworkLoop::NetworkLoop(std::chrono::microseconds batch)
    : work_(boost::asio::make_work_guard(io_)), batch_(batch) {}

NetworkLoop::~NetworkLoop() { Finish(); }

void NetworkLoop::Start() {
  thread_ = std::thread([this] { Run(); });
}

void NetworkLoop::Run() {
  ::pthread_setname_np(::pthread_self(), "shoal-net");
  // run_one() blocks until something is ready (the idle case costs one wake-up, as before);
  // poll() then runs everything else ready, and the nap lets the next packets pile up: at most
  // one pass per `batch_`, and none of it slept when a pass takes that long by itself.
  while (io_.run_one() > 0) {
    const auto woke = std::chrono::steady_clock::now();
    passes_.fetch_add(1, std::memory_order_relaxed);
    io_.poll();
    if (batch_.count() > 0) std::this_thread::sleep_until(woke + batch_);
  }
}

void NetworkLoop::Finish() {
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

}  // namespace shoal
