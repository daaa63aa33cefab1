// libFuzzer target for one control-plane message type: the input is a frame body (Cap'n
// Proto flat encoding, as FramedSession hands it to a handler) read as SHOAL_FUZZ_ROOT, and
// every field of it is visited (Cap'n Proto's stringifier walks the whole tree through the
// schema, so new fields are covered without touching this file). NodeMessage's outbox
// payload, itself a flat message from the node, is decoded and walked as OutboxMessage.
// Any input must yield values or Errors, never a crash, and stay within the reader's limits.
// Built once per type (tests/fuzz.cmake): node_message_fuzz, planner_message_fuzz,
// outbox_message_fuzz, cli_request_fuzz, cli_reply_fuzz.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/framing.h"
#include "proto/control.capnp.h"

#ifndef SHOAL_FUZZ_ROOT
#error "define SHOAL_FUZZ_ROOT to a proto type (NodeMessage, PlannerMessage, ...)"
#endif

namespace {
using namespace shoal;

template <typename T>
size_t Walk(std::span<const uint8_t> body);

template <typename Reader>
size_t Nested(Reader) {
  return 0;
}

[[maybe_unused]] size_t Nested(proto::NodeMessage::Reader m) {
  if (!m.isOutbox()) return 0;
  auto p = m.getOutbox().getPayload();
  return Walk<proto::OutboxMessage>(std::span<const uint8_t>(p.begin(), p.size()));
}

template <typename T>
size_t Walk(std::span<const uint8_t> body) {
  auto frame = Frame::Decode(body);
  if (!frame) return 0;
  auto n = ReadSafely([&] {
    auto root = (*frame)->Root<T>();
    return kj::str(root).size() + Nested(root);
  });
  return n ? *n : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)Walk<proto::SHOAL_FUZZ_ROOT>(std::span<const uint8_t>(data, size));
  return 0;
}
