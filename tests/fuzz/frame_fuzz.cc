// libFuzzer target for the control plane's decoder of untrusted bytes: frame headers, Cap'n
// Proto frame bodies, and every message a planner or node reads from a peer (NodeMessage with
// its nested outbox payload, PlannerMessage, CliRequest). Any input must yield values or
// Errors, never a crash, and stay within the reader's traversal limits.
// Build and run: tools/fuzz-all (or cmake -DSHOAL_FUZZ=ON with clang, then
//   bin/frame_fuzz tests/fuzz/corpus/frame -max_total_time=60).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/framing.h"
#include "proto/control.capnp.h"

namespace {
using namespace shoal;

size_t Touch(capnp::Text::Reader t) { return t.size(); }
size_t Touch(capnp::Data::Reader d) { return d.size(); }

void ReadNode(Frame& frame) {
  (void)ReadSafely([&] {
    size_t n = 0;
    auto m = frame.Root<proto::NodeMessage>();
    switch (m.which()) {
      case proto::NodeMessage::JOIN:
        n += Touch(m.getJoin().getToken()) + Touch(m.getJoin().getCsrPem());
        break;
      case proto::NodeMessage::HELLO:
        for (auto kv : m.getHello().getLabels()) n += Touch(kv.getKey()) + Touch(kv.getValue());
        for (auto g : m.getHello().getGroups()) n += Touch(g);
        break;
      case proto::NodeMessage::OUTBOX: {
        auto p = m.getOutbox().getPayload();
        auto inner = Frame::Decode(std::span<const uint8_t>(p.begin(), p.size()));
        if (inner) {
          (void)ReadSafely([&] {
            auto o = (*inner)->Root<proto::OutboxMessage>();
            if (o.isOutput()) return Touch(o.getOutput().getData());
            return Touch(o.getResult().getError());
          });
        }
        break;
      }
      case proto::NodeMessage::STATS:
        for (auto mt : m.getStats().getMetrics()) n += Touch(mt.getName());
        for (auto a : m.getStats().getAlerts()) n += Touch(a.getText());
        break;
      default:
        break;
    }
    return n;
  });
}

void ReadPlanner(Frame& frame) {
  (void)ReadSafely([&] {
    auto m = frame.Root<proto::PlannerMessage>();
    size_t n = 0;
    if (m.isTask()) {
      n += Touch(m.getTask().getBody());
      for (auto a : m.getTask().getArgs()) n += Touch(a);
      for (auto kv : m.getTask().getEnv()) n += Touch(kv.getKey());
    } else if (m.isJoined()) {
      n += Touch(m.getJoined().getCertPem());
    }
    return n;
  });
}

void ReadCli(Frame& frame) {
  (void)ReadSafely([&] {
    auto m = frame.Root<proto::CliRequest>();
    size_t n = 0;
    if (m.isRun()) {
      for (auto t : m.getRun().getTargets()) n += Touch(t);
      n += Touch(m.getRun().getTask().getBody());
    } else if (m.isLogs()) {
      n += Touch(m.getLogs().getHost());
    }
    return n;
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input is a byte stream as a peer would send it: frames back to back.
  std::span<const uint8_t> rest(data, size);
  while (rest.size() >= kFrameHeaderSize) {
    auto len = ParseFrameHeader(rest.first<kFrameHeaderSize>(), 1u << 20);
    if (!len) return 0;
    rest = rest.subspan(kFrameHeaderSize);
    if (rest.size() < *len) return 0;
    auto frame = Frame::Decode(rest.first(*len));
    rest = rest.subspan(*len);
    if (!frame) continue;
    ReadNode(**frame);
    ReadPlanner(**frame);
    ReadCli(**frame);
  }
  return 0;
}
