#include "core/framing.h"

#include <cstring>

namespace shoal {

std::string FlatMessageBytes(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Result<std::string> EncodeFrame(capnp::MessageBuilder& message, uint32_t max_size) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
  if (bytes.size() > max_size) {
    return Error{"message of " + std::to_string(bytes.size()) +
                 " bytes exceeds the frame limit of " + std::to_string(max_size)};
  }
  std::string out(kFrameHeaderSize + bytes.size(), '\0');
  uint32_t n = static_cast<uint32_t>(bytes.size());
  for (size_t i = 0; i < kFrameHeaderSize; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + kFrameHeaderSize, bytes.begin(), bytes.size());
  return out;
}

Result<uint32_t> ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize> header,
                                  uint32_t max_size) {
  uint32_t n = 0;
  for (size_t i = 0; i < kFrameHeaderSize; ++i) n |= uint32_t{header[i]} << (8 * i);
  if (n == 0) return Error{"empty frame"};
  if (n > max_size) {
    return Error{"frame of " + std::to_string(n) + " bytes exceeds the limit of " +
                 std::to_string(max_size)};
  }
  if (n % sizeof(capnp::word) != 0) {
    return Error{"frame length " + std::to_string(n) + " is not a whole number of words"};
  }
  return n;
}

Result<std::unique_ptr<Frame>> Frame::Decode(std::span<const uint8_t> body) {
  if (body.empty() || body.size() % sizeof(capnp::word) != 0) {
    return Error{"frame body of " + std::to_string(body.size()) + " bytes is not whole words"};
  }
  std::unique_ptr<Frame> frame(new Frame());
  frame->words_ = kj::heapArray<capnp::word>(body.size() / sizeof(capnp::word));
  std::memcpy(frame->words_.begin(), body.data(), body.size());
  capnp::ReaderOptions options;
  // A legitimate message is read about once: allow 4x its size in traversal, nothing more.
  options.traversalLimitInWords = frame->words_.size() * 4 + 64;
  options.nestingLimit = 32;
  auto result = ReadSafely([&]() {
    frame->reader_ = std::make_unique<capnp::FlatArrayMessageReader>(frame->words_, options);
    return true;
  });
  if (!result) return result.error();
  return frame;
}

}  // namespace shoal
