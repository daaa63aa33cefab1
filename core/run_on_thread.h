// Runs blocking work (hashing, large file I/O) on a thread of its own and resumes the calling
// coroutine on its io_context with the result, so that the daemon's event loop never stalls.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it

namespace shoal {

template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> RunOnThread(boost::asio::io_context& io, Fn fn) {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<Fn>;
  auto wake = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
  auto result = std::make_shared<std::optional<R>>();
  std::thread([&io, wake, result, fn = std::move(fn)]() mutable {
    R r = fn();
    asio::post(io, [wake, result, r = std::move(r)]() mutable {
      result->emplace(std::move(r));
      wake->cancel();
    });
  }).detach();
  while (!result->has_value()) {
    boost::system::error_code ec;
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(**result);
}

// Runs `fn` on `executor` (e.g. a one-thread pool that serializes a kind of work) and resumes
// the calling coroutine on `io` with its result.
template <typename Executor, typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> RunOnExecutor(boost::asio::io_context& io,
                                                                Executor executor, Fn fn) {
  namespace asio = boost::asio;
  using R = std::invoke_result_t<Fn>;
  auto wake = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
  auto result = std::make_shared<std::optional<R>>();
  asio::post(executor, [&io, wake, result, fn = std::move(fn)]() mutable {
    R r = fn();
    asio::post(io, [wake, result, r = std::move(r)]() mutable {
      result->emplace(std::move(r));
      wake->cancel();
    });
  });
  while (!result->has_value()) {
    boost::system::error_code ec;
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(**result);
}

}  // namespace shoal
