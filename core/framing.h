// Length-framed Cap'n Proto messages: a 4-byte little-endian body length, then the message in
// Cap'n Proto's flat (unpacked) encoding. Frames are bounded: a header announcing more than
// the limit is rejected before any body byte is buffered, so a hostile peer cannot make us
// allocate. Decoding never throws: malformed input comes back as an Error.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"

namespace shoal {

inline constexpr size_t kFrameHeaderSize = 4;
inline constexpr uint32_t kDefaultMaxFrameSize = 16u << 20;  // 16 MiB

// Serialises `message` with its frame header. Fails if the body would exceed `max_size`.
Result<std::string> EncodeFrame(capnp::MessageBuilder& message,
                                uint32_t max_size = kDefaultMaxFrameSize);

// The message in flat encoding without a frame header: how outbox entries and planner records
// are stored (Frame::Decode reads it back).
std::string FlatMessageBytes(capnp::MessageBuilder& message);

// Returns the body length announced by `header`, or an error if it is 0 or above `max_size`.
Result<uint32_t> ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize> header,
                                  uint32_t max_size = kDefaultMaxFrameSize);

// A decoded frame: owns the aligned copy of the body and the reader over it.
class Frame {
 public:
  // Validates the segment table of `body` and prepares a reader with traversal and nesting
  // limits scaled to the frame, so that amplification attacks stay bounded.
  static Result<std::unique_ptr<Frame>> Decode(std::span<const uint8_t> body);

  // Returns the root as T's reader. Field access can still meet malformed pointers: call it and
  // read fields inside Frame::Read (below) or a try/catch of kj::Exception.
  template <typename T>
  typename T::Reader Root() {
    return reader_->getRoot<T>();
  }

 private:
  Frame() = default;
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// Runs `fn` (which reads a frame's fields) and turns any Cap'n Proto decoding exception into an
// Error, so that a malformed message is a value, never a crash.
template <typename Fn>
auto ReadSafely(Fn&& fn) -> Result<decltype(fn())> {
  try {
    return fn();
  } catch (const kj::Exception& e) {
    return Error{std::string("malformed message: ") + e.getDescription().cStr()};
  }
}

}  // namespace shoal
