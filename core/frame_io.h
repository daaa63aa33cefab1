// Reading and writing frames (core/framing.h) on any Asio stream: TCP, Unix, or TLS.
// Coroutine forms for daemons, blocking forms for the CLI.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without it
#include <vector>

#include "core/framing.h"

namespace shoal {

template <typename Stream>
boost::asio::awaitable<Result<std::unique_ptr<Frame>>> AsyncReadFrame(
    Stream& stream, uint32_t max_size = kDefaultMaxFrameSize) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  std::array<uint8_t, kFrameHeaderSize> header;
  co_await asio::async_read(stream, asio::buffer(header),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{ec == asio::error::eof ? "connection closed" : ec.message()};
  auto size = ParseFrameHeader(header, max_size);
  if (!size) co_return size.error();
  std::vector<uint8_t> body(*size);
  co_await asio::async_read(stream, asio::buffer(body),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{"reading frame body: " + ec.message()};
  co_return Frame::Decode(body);
}

template <typename Stream>
// Takes the frame by value: the coroutine owns its bytes across the suspension (a reference to a
// temporary in a co_await expression is fragile under GCC 12).
boost::asio::awaitable<Status> AsyncWriteFrame(Stream& stream, std::string frame) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  co_await asio::async_write(stream, asio::buffer(frame),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error{"writing frame: " + ec.message()};
  co_return Status::Ok();
}

template <typename Stream>
Result<std::unique_ptr<Frame>> ReadFrame(Stream& stream, uint32_t max_size = kDefaultMaxFrameSize) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  std::array<uint8_t, kFrameHeaderSize> header;
  asio::read(stream, asio::buffer(header), ec);
  if (ec) return Error{ec == asio::error::eof ? "connection closed" : ec.message()};
  auto size = ParseFrameHeader(header, max_size);
  if (!size) return size.error();
  std::vector<uint8_t> body(*size);
  asio::read(stream, asio::buffer(body), ec);
  if (ec) return Error{"reading frame body: " + ec.message()};
  return Frame::Decode(body);
}

template <typename Stream>
Status WriteFrame(Stream& stream, const std::string& frame) {
  boost::system::error_code ec;
  boost::asio::write(stream, boost::asio::buffer(frame), ec);
  if (ec) return Error{"writing frame: " + ec.message()};
  return Status::Ok();
}

}  // namespace shoal
