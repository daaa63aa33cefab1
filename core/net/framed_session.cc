#include "core/net/framed_session.h"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <vector>

namespace shoal::net {
namespace asio = boost::asio;

FramedSession::FramedSession(std::unique_ptr<TlsStream> stream, uint32_t max_frame_size)
    : stream_(std::move(stream)), max_frame_size_(max_frame_size) {}

void FramedSession::SendEncoded(std::string frame) {
  if (closed()) return;
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(
        stream_->socket().get_executor(),
        [self = shared_from_this()]() { return self->WriteLoop(); }, asio::detached);
  }
}

Status FramedSession::Send(capnp::MessageBuilder& message) {
  auto frame = EncodeFrame(message, max_frame_size_);
  if (!frame) return frame.error();
  SendEncoded(std::move(*frame));
  return Status::Ok();
}

asio::awaitable<void> FramedSession::WriteLoop() {
  while (!queue_.empty() && !closed()) {
    std::string frame = std::move(queue_.front());
    queue_.pop_front();
    auto s = co_await stream_->WriteAll(frame);
    if (closed()) break;  // Close() already dropped the queue and its count
    queued_bytes_ -= frame.size();
    if (!s) {
      Close();
      break;
    }
  }
  writing_ = false;
  if (!closed() && queue_.empty() && on_drained_) on_drained_();
}

asio::awaitable<Result<std::unique_ptr<Frame>>> FramedSession::Receive() {
  std::array<uint8_t, kFrameHeaderSize> header;
  if (auto s = co_await stream_->ReadExact(header.data(), header.size()); !s) co_return s.error();
  auto size = ParseFrameHeader(header, max_frame_size_);
  if (!size) co_return size.error();
  std::vector<uint8_t> body(*size);
  if (auto s = co_await stream_->ReadExact(body.data(), body.size()); !s) co_return s.error();
  co_return Frame::Decode(body);
}

void FramedSession::Close() {
  on_drained_ = nullptr;  // may hold references back to the owner
  queue_.clear();
  queued_bytes_ = 0;
  stream_->Close();
}

}  // namespace shoal::net
