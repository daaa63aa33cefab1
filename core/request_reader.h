// The request side of a framed service: read one request frame and decode it, answering a
// malformed or oversize one with the service's failure reply. One place for what every
// service's connection loop does first.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/frame_io.h"
#include "core/log.h"
#include "core/reply_frame.h"

namespace shoal {

// Returns the decoded request, or nullopt when the connection should end: the client closed it,
// or sent something malformed (it has then been answered with a `Reply` failure and logged).
// `parse(Frame&)` reads the fields it needs; decoding exceptions become failures.
template <typename Reply, typename Socket, typename Parsed>
boost::asio::awaitable<std::optional<Parsed>> ReadRequest(Socket& socket, uint32_t max_size,
                                                          Parsed (*parse)(Frame&)) {
  auto frame = co_await AsyncReadFrame(socket, max_size);
  std::optional<Error> error;
  if (!frame) {
    if (frame.error().message == "connection closed") co_return std::nullopt;
    error = frame.error();
  } else {
    Frame& f = **frame;
    auto request = ReadSafely([&] { return parse(f); });
    if (request) co_return std::move(*request);
    error = request.error();
  }
  SHOAL_LOG(Warn) << "dropping client: " << error->message;
  std::string failure = FailureFrame<Reply>(error->message);
  co_await AsyncWriteFrame(socket, std::move(failure));
  co_return std::nullopt;
}

}  // namespace shoal
