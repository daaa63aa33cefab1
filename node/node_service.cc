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
  uint64_t target_bytes = 0;
  bool to_quota = false;
};

ParsedRequest ParseRequest(Frame& frame) {
  auto root = frame.Root<proto::NodeRequest>();
  ParsedRequest p{root.which()};
  if (root.isFetch()) {
    p.id = root.getFetch().getId().cStr();
    p.dest = root.getFetch().getDest().cStr();
    p.mode = root.getFetch().getMode();
  } else if (root.isCacheRemove()) {
    p.id = root.getCacheRemove().cStr();
  } else if (root.isCacheGc()) {
    p.target_bytes = root.getCacheGc().getTargetBytes();
    p.to_quota = root.getCacheGc().getToQuota();
  }
  return p;
}
}  // namespace

std::string NodeService::CacheReply(const std::vector<ArtifactMeta>& removed) const {
  auto entries = cache_.List();
  CacheUsage usage = cache_.Usage();
  return Reply([&](proto::NodeReply::Builder r) {
    auto c = r.initCache();
    auto list = c.initEntries(static_cast<unsigned>(entries.size()));
    for (unsigned i = 0; i < entries.size(); ++i) {
      ToProto(entries[i].meta, list[i].initArtifact(), /*with_torrent=*/false);
      list[i].setVerified(entries[i].verified);
      list[i].setPinned(entries[i].pinned);
      list[i].setLastUsedMs(entries[i].last_used_unix_ms);
    }
    c.setTotalBytes(usage.total_bytes);
    c.setPinnedBytes(usage.pinned_bytes);
    c.setMaxBytes(usage.max_bytes);
    auto gone = c.initRemoved(static_cast<unsigned>(removed.size()));
    for (unsigned i = 0; i < removed.size(); ++i) ToProto(removed[i], gone[i], false);
  });
}

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
        // Pinned while it downloads and installs: eviction must not pull it from under us.
        cache_.Pin(*id);
        auto outcome = co_await fetcher_.Fetch(*id, request->dest, request->mode & 07777,
                                               std::move(on_progress));
        cache_.Unpin(*id);
        if (outcome) cache_.Touch(*id);
        cache_.Enforce();
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
    } else if (request->which == proto::NodeRequest::CACHE_LIST) {
      reply = CacheReply({});
    } else if (request->which == proto::NodeRequest::CACHE_REMOVE) {
      auto id = ArtifactId::Parse(request->id);
      std::optional<StoredRecord> record;
      if (id) record = index_.Get(*id);
      Status removed = id ? cache_.Remove(*id) : Status(id.error());
      if (!removed) {
        reply = FailureReply(removed.error().message);
      } else {
        SHOAL_LOG(Info) << "cache: removed " << id->str() << " (shoal cache rm)";
        record->meta.torrent.clear();
        reply = CacheReply({record->meta});
      }
    } else if (request->which == proto::NodeRequest::CACHE_GC) {
      uint64_t target = request->to_quota ? cache_.max_bytes() : request->target_bytes;
      auto removed = cache_.EvictTo(target);
      for (const auto& m : removed) SHOAL_LOG(Info) << "cache: gc removed " << m.id.str();
      reply = CacheReply(removed);
    } else {
      reply = FailureReply("unknown request");
    }
    if (!co_await AsyncWriteFrame(socket, std::move(reply))) co_return;
  }
}

}  // namespace shoal::node
