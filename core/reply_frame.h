// Building reply frames for services whose reply is a union with a `failure` member
// (proto::SeederReply, proto::NodeReply): one place for the encode-or-fail logic.
#pragma once

#include <capnp/message.h>

#include <string>

#include "core/framing.h"

namespace shoal {

// A frame holding `Reply` with its failure set to `message`.
template <typename Reply>
std::string FailureFrame(const std::string& message) {
  capnp::MallocMessageBuilder builder;
  builder.initRoot<Reply>().initFailure().setMessage(message);
  auto frame = EncodeFrame(builder);
  return frame ? std::move(*frame) : std::string();
}

// A frame holding the `Reply` that `fill(builder)` writes; a failure frame if it is too large.
template <typename Reply, typename Fill>
std::string ReplyFrame(Fill fill) {
  capnp::MallocMessageBuilder builder;
  fill(builder.initRoot<Reply>());
  auto frame = EncodeFrame(builder);
  if (frame) return std::move(*frame);
  return FailureFrame<Reply>(frame.error().message);
}

}  // namespace shoal
