// libFuzzer target for the tracker's only decoder of untrusted bytes: the request target
// parser, and the service answer built on it (which must always be valid bencode).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <libtorrent/bdecode.hpp>
#include <string_view>

#include "tracker/request.h"
#include "tracker/service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal::tracker;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseTarget(input);
  if (parsed.ok()) {
    if (auto* a = std::get_if<AnnounceRequest>(&*parsed)) {
      if (a->port == 0 || a->numwant < 0 || a->numwant > kMaxNumWant || a->left < 0) abort();
    }
  }
  static TrackerService service({}, {}, 1);
  static const auto source = boost::asio::ip::make_address("127.0.0.1");
  auto answer = service.Handle(true, input, source, Clock::now());
  lt::error_code ec;
  lt::bdecode(answer.body, ec);
  if (ec) abort();
  service.Expire(Clock::now() + std::chrono::hours(1));  // keep memory flat across runs
  return 0;
}
