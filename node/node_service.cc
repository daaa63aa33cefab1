#include "node/node_service.h"

#include <capnp/message.h>

#include "core/artifact_meta_codec.h"
#include "core/frame_io.h"
#include "core/log.h"
#include "core/reply_frame.h"
#include "core/request_reader.h"
#include "proto/node_local.capnp.h"

namespace shoal::node {
namespace asio = boost::asio;

namespace {
constexpr uint32_t kMaxRequestFrame = 64 << 10;

template <typename Fill>
std::string Reply(Fill fill) {
  return ReplyFrame<proto::NodeReply>(fill);
}

std::string FailureReply(const std::string& message) {
  return FailureFrame<proto::NodeReply>(message);
}

struct ParsedRequest {
  proto::NodeRequest::Which which;
  std::string id, dest;
  unsigned mode = 0644;
};

ParsedRequest ParseRequest(Frame& frame) {
  auto root = frame.Root<proto::NodeRequest>();
  ParsedRequest p{root.which()};
  if (root.isFetch()) {
    p.id = root.getFetch().getId().cStr();
    p.dest = root.getFetch().getDest().cStr();
    p.mode = root.getFetch().getMode();
  }
  return p;
}
}  // namespace

asio::awaitable<void> NodeService::Serve(asio::local::stream_protocol::socket& socket) {
  while (true) {
    auto request = co_await ReadRequest<proto::NodeReply>(socket, kMaxRequestFrame, &ParseRequest);
    if (!request) co_return;
    std::string reply;
    if (request->which == proto::NodeRequest::FETCH) {
      auto id = ArtifactId::Parse(request->id);
      if (!id) {
        reply = FailureReply(id.error().message);
      } else if (request->mode > 07777) {
        reply = FailureReply("mode " + std::to_string(request->mode) + " is not a file mode");
      } else {
        // Named, not a temporary inside co_await: GCC 12 may destroy such temporaries twice.
        FetchProgress on_progress = [&](const TransferStatus& st) -> asio::awaitable<void> {
          std::string frame = Reply([&](proto::NodeReply::Builder r) {
            auto p = r.initProgress();
            p.setPhase("download");
            p.setDone(st.done);
            p.setTotal(st.total);
            p.setPeers(static_cast<uint32_t>(st.peers));
            p.setRate(static_cast<uint64_t>(st.download_rate));
          });
          co_await AsyncWriteFrame(socket, std::move(frame));
        };
        auto outcome = co_await fetcher_.Fetch(*id, request->dest, request->mode & 07777,
                                               std::move(on_progress));
        if (!outcome) {
          reply = FailureReply(outcome.error().message);
        } else {
          reply = Reply([&](proto::NodeReply::Builder r) {
            auto f = r.initFetched();
            ToProto(outcome->meta, f.initArtifact(), /*with_torrent=*/false);
            f.setPath(outcome->path.string());
            f.setSeconds(outcome->seconds);
            f.setDownloadedBytes(outcome->downloaded_bytes);
            f.setFromCache(outcome->from_cache);
          });
        }
      }
    } else if (request->which == proto::NodeRequest::STATUS) {
      auto records = index_.List();
      auto [up, down] = swarm_.Totals();
      reply = Reply([&](proto::NodeReply::Builder r) {
        auto s = r.initStatus();
        s.setName(name_);
        s.setUploadedBytes(up);
        s.setDownloadedBytes(down);
        auto list = s.initArtifacts(static_cast<unsigned>(records.size()));
        for (unsigned i = 0; i < records.size(); ++i) ToProto(records[i].meta, list[i], false);
      });
    } else {
      reply = FailureReply("unknown request");
    }
    if (!co_await AsyncWriteFrame(socket, std::move(reply))) co_return;
  }
}

}  // namespace shoal::node
