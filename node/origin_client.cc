#include "node/origin_client.h"

#include <capnp/message.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/artifact_meta_codec.h"
#include "core/frame_io.h"
#include "core/frame_server.h"
#include "proto/seeder.capnp.h"

namespace shoal::node {
namespace asio = boost::asio;

asio::awaitable<Result<ArtifactMeta>> OriginClient::Get(const ArtifactId& id) {
  const std::string where = "origin " + address_;
  auto hp = SplitHostPort(address_);
  if (!hp) co_return hp.error();
  boost::system::error_code ec;
  auto address = asio::ip::make_address(hp->first, ec);
  if (ec) co_return Error::of(where, "bad address");
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({address, hp->second},
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Error::of(where, "cannot connect: " + ec.message());

  capnp::MallocMessageBuilder builder;
  builder.initRoot<proto::SeederRequest>().setGet(id.str());
  auto frame = EncodeFrame(builder);
  if (!frame) co_return frame.error();
  if (auto s = co_await AsyncWriteFrame(socket, *frame); !s)
    co_return Error::of(where, s.error().message);
  auto reply = co_await AsyncReadFrame(socket);
  if (!reply) co_return Error::of(where, reply.error().message);
  auto meta = ReadSafely([&]() -> Result<ArtifactMeta> {
    auto root = (*reply)->Root<proto::SeederReply>();
    if (root.isFailure()) return Error::of(where, root.getFailure().getMessage().cStr());
    if (!root.isArtifact()) return Error::of(where, "unexpected reply");
    return FromProto(root.getArtifact());
  });
  if (!meta) co_return meta.error();
  if (!meta->ok()) co_return meta->error();
  if (meta->value().id != id) co_return Error::of(where, "answered with a different artifact");
  co_return std::move(meta->value());
}

}  // namespace shoal::node
