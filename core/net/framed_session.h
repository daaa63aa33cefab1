// A TLS connection carrying length-framed Cap'n Proto messages (core/framing.h), with an
// ordered send queue so that any handler may send without awaiting.
//
// Contract: frames are read one at a time by one reader (Receive); Send queues and a single
// writer coroutine drains the queue in order. Close() is final: queued frames are dropped,
// a pending Receive fails. A peer that sends an oversize or undecodable frame is the caller's
// to drop (Receive returns the reason); the session never throws on bad input.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange

#include "core/framing.h"
#include "core/net/tls_stream.h"

namespace shoal::net {

class FramedSession : public std::enable_shared_from_this<FramedSession> {
 public:
  FramedSession(std::unique_ptr<TlsStream> stream, uint32_t max_frame_size);

  // Queues a frame already encoded with EncodeFrame. Ignored once closed.
  void SendEncoded(std::string frame);
  // Encodes and queues `message`. Fails if the message exceeds the frame limit.
  Status Send(capnp::MessageBuilder& message);

  // Reads the next frame. Errors: connection closed, I/O failure, oversize or malformed frame.
  boost::asio::awaitable<Result<std::unique_ptr<Frame>>> Receive();

  void Close();
  bool closed() const { return stream_->closed(); }
  // Bytes queued but not yet handed to the socket: senders use it for flow control.
  size_t queued_bytes() const { return queued_bytes_; }
  // Called (on the session's executor) each time the send queue becomes empty.
  void OnDrained(std::function<void()> fn) { on_drained_ = std::move(fn); }
  TlsStream& stream() { return *stream_; }

 private:
  boost::asio::awaitable<void> WriteLoop();

  std::unique_ptr<TlsStream> stream_;
  uint32_t max_frame_size_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::function<void()> on_drained_;
};

using FramedSessionPtr = std::shared_ptr<FramedSession>;

}  // namespace shoal::net
