// Blocking request/reply over a daemon's admin socket (CLI, tests): send one request frame,
// then hand each reply frame to `on_reply` until it returns true (the final answer).
#pragma once

#include <capnp/message.h>

#include <functional>
#include <string>

#include "core/framing.h"
#include "core/result.h"

namespace shoal {

Status AdminCall(const std::string& socket_path, capnp::MessageBuilder& request,
                 const std::function<Result<bool>(Frame& reply)>& on_reply);

}  // namespace shoal
