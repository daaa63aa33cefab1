// Blocking request/reply over a daemon's admin socket, for the CLI: send one request frame,
// then hand each reply frame to `on_reply` until it returns true (the final answer).
#pragma once

#include <capnp/message.h>

#include <functional>
#include <string>

#include "core/framing.h"
#include "core/result.h"

namespace shoal::cli {

Status AdminCall(const std::string& socket_path, capnp::MessageBuilder& request,
                 const std::function<Result<bool>(Frame& reply)>& on_reply);

// A one-line progress display: redrawn in place on a terminal, at most every 5 s otherwise.
class ProgressLine {
 public:
  void Update(const std::string& phase, uint64_t done, uint64_t total, uint64_t rate = 0,
              int peers = -1);
  void Finish();

 private:
  bool tty_ = false, init_ = false, drawn_ = false;
  long long last_ms_ = 0;
};

std::string HumanBytes(double bytes);

}  // namespace shoal::cli
