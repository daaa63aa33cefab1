#include "seeder/seeder_service.h"

#include <capnp/message.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "core/artifact_meta_codec.h"
#include "core/frame_io.h"
#include "core/log.h"
#include "core/reply_frame.h"
#include "core/request_reader.h"
#include "proto/seeder.capnp.h"

namespace shoal::seeder {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {
// Requests are small: a path and a name. Anything bigger is hostile.
constexpr uint32_t kMaxRequestFrame = 64 << 10;

template <typename Fill>
std::string Reply(Fill fill) {
  return ReplyFrame<proto::SeederReply>(fill);
}

std::string FailureReply(const std::string& message) {
  return FailureFrame<proto::SeederReply>(message);
}

struct ParsedRequest {
  proto::SeederRequest::Which which;
  std::string text1, text2;
};

ParsedRequest ParseRequest(Frame& frame) {
  auto root = frame.Root<proto::SeederRequest>();
  ParsedRequest p{root.which(), {}, {}};
  if (root.isPut()) {
    p.text1 = root.getPut().getPath().cStr();
    p.text2 = root.getPut().getName().cStr();
  } else if (root.isGet()) {
    p.text1 = root.getGet().cStr();
  }
  return p;
}
}  // namespace

template <typename Socket>
asio::awaitable<void> SeederService::Serve(Socket& socket, bool admin) {
  while (true) {
    auto request =
        co_await ReadRequest<proto::SeederReply>(socket, kMaxRequestFrame, &ParseRequest);
    if (!request) co_return;
    std::string reply;
    switch (request->which) {
      case proto::SeederRequest::PUT:
        if (!admin) {
          reply = FailureReply("put is allowed on the admin socket only");
          break;
        }
        co_await HandlePut(socket, request->text1, request->text2);
        continue;
      case proto::SeederRequest::GET: {
        auto id = ArtifactId::Parse(request->text1);
        if (!id) {
          reply = FailureReply(id.error().message);
          break;
        }
        auto record = store_.index().Get(*id);
        if (!record || !record->verified) {
          reply = FailureReply("artifact " + id->str() + " is not held by this seeder");
          break;
        }
        reply = Reply([&](proto::SeederReply::Builder r) {
          ToProto(record->meta, r.initArtifact(), /*with_torrent=*/true);
        });
        break;
      }
      case proto::SeederRequest::LIST: {
        auto records = store_.index().List();
        reply = Reply([&](proto::SeederReply::Builder r) {
          auto list = r.initArtifacts(static_cast<unsigned>(records.size()));
          for (unsigned i = 0; i < records.size(); ++i) ToProto(records[i].meta, list[i], false);
        });
        break;
      }
      default:
        reply = FailureReply("unknown request");
    }
    if (!co_await AsyncWriteFrame(socket, std::move(reply))) co_return;
  }
}

template <typename Socket>
asio::awaitable<void> SeederService::HandlePut(Socket& socket, std::string path, std::string name) {
  // Hashing a multi-GB file takes seconds: do it on a worker thread, report progress meanwhile.
  struct Job {
    std::atomic<uint64_t> done{0}, total{0};
    std::atomic<bool> finished{false};
    std::optional<Result<ArtifactMeta>> result;
    asio::steady_timer wake;
    explicit Job(asio::io_context& io) : wake(io) {}
  };
  auto job = std::make_shared<Job>(io_);
  std::thread([job, path, name, this] {
    auto result = store_.Ingest(path, name, [&](uint64_t done, uint64_t total) {
      job->done = done;
      job->total = total;
    });
    asio::post(io_, [job, result = std::move(result)]() mutable {
      job->result = std::move(result);
      job->finished = true;
      job->wake.cancel();
    });
  }).detach();
  while (!job->finished) {
    job->wake.expires_after(250ms);
    boost::system::error_code ec;
    co_await job->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (job->finished) break;
    if (job->total == 0) continue;  // not started reading yet: "0 B of 0 B" tells nobody anything
    // Frames are named, not temporaries inside co_await: GCC 12 may destroy those twice.
    std::string progress = Reply([&](proto::SeederReply::Builder r) {
      auto p = r.initProgress();
      p.setPhase("hash");
      p.setDone(job->done);
      p.setTotal(job->total);
    });
    co_await AsyncWriteFrame(socket, std::move(progress));
  }
  if (!job->result->ok()) {
    SHOAL_LOG(Warn) << "put " << path << ": " << job->result->error().message;
    std::string failure = FailureReply(job->result->error().message);
    co_await AsyncWriteFrame(socket, std::move(failure));
    co_return;
  }
  const ArtifactMeta& meta = job->result->value();
  if (before_seed) co_await before_seed(meta);
  if (auto s = swarm_.Add(meta, store_.index().objects_dir(), Swarm::AddMode::kSeedTrusted); !s) {
    std::string failure = FailureReply(s.error().message);
    co_await AsyncWriteFrame(socket, std::move(failure));
    co_return;
  }
  std::string answer = Reply([&](proto::SeederReply::Builder r) {
    ToProto(meta, r.initArtifact(), /*with_torrent=*/false);
  });
  co_await AsyncWriteFrame(socket, std::move(answer));
}

template asio::awaitable<void> SeederService::Serve(asio::ip::tcp::socket&, bool);
template asio::awaitable<void> SeederService::Serve(asio::local::stream_protocol::socket&, bool);

}  // namespace shoal::seeder
