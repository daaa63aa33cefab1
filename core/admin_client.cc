#include "core/admin_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include "core/frame_io.h"

namespace shoal {
namespace asio = boost::asio;
Status AdminCall(const std::string& socket_path, capnp::MessageBuilder& request,
                 const std::function<Result<bool>(Frame& reply)>& on_reply) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  boost::system::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
  if (ec) return Error::of(socket_path, "cannot connect (is the daemon running?): " + ec.message());
  auto frame = EncodeFrame(request);
  if (!frame) return frame.error();
  if (auto s = WriteFrame(socket, *frame); !s) return Error::of(socket_path, s.error().message);
  while (true) {
    auto reply = ReadFrame(socket);
    if (!reply) return Error::of(socket_path, reply.error().message);
    auto done = ReadSafely([&] { return on_reply(**reply); });
    if (!done) return done.error();
    if (!done->ok()) return done->error();
    if (done->value()) return Status::Ok();
  }
}

}  // namespace shoal
