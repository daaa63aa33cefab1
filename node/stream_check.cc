#include "node/stream_check.h"

#include <boost/asio/post.hpp>
#include <chrono>

#include "core/run_on_thread.h"

namespace shoal::node {
namespace asio = boost::asio;

namespace {
// Hand the worker at least this much at a time: one wake-up per MiB, not per piece.
constexpr uint64_t kBatch = 1 << 20;
}  // namespace

StreamCheck::StreamCheck(asio::thread_pool& worker, std::filesystem::path file, uint64_t size,
                         int piece_length, int pieces, std::shared_ptr<const PieceCache> cache,
                         bool share_blocks, bool link_installs)
    : worker_(worker),
      state_(
          std::make_shared<State>(std::move(file), std::move(cache), share_blocks, link_installs)),
      size_(size),
      piece_length_(piece_length),
      pieces_(pieces),
      verified_(static_cast<size_t>(std::max(0, pieces)), false) {}

void StreamCheck::PieceVerified(int piece) {
  if (piece < 0 || piece >= pieces_ || verified_[static_cast<size_t>(piece)]) return;
  verified_[static_cast<size_t>(piece)] = true;
  if (++arrived_ * 10 >= pieces_ * 9 && prefix_at_90_ < 0) prefix_at_90_ = frontier_;
  if (piece != frontier_) return;
  const int before = frontier_;
  while (frontier_ < pieces_ && verified_[static_cast<size_t>(frontier_)]) ++frontier_;
  if ((frontier_ - before) * 20 >= pieces_)
    blockers_ += " " + std::to_string(piece) + " (" + std::to_string(arrived_) + ")";
  const uint64_t end =
      std::min(size_, static_cast<uint64_t>(frontier_) * static_cast<uint64_t>(piece_length_));
  if (end - posted_ >= kBatch || end == size_) Post(end);
}

void StreamCheck::Post(uint64_t end) {
  posted_ = end;
  asio::post(worker_, [state = state_, end] {
    (void)state->digest.AdvanceTo(end);
    state->digested.store(state->digest.digested(), std::memory_order_relaxed);
  });
}

void StreamCheck::AddInstall(StagedFile staged) {
  ++installs_;
  auto file = std::make_shared<StagedFile>(std::move(staged));
  asio::post(worker_, [state = state_, file] { state->digest.AddSink(std::move(*file)); });
}

asio::awaitable<StreamCheck::Outcome> StreamCheck::Finish(asio::io_context& io,
                                                          const ArtifactMeta& meta) {
  // libtorrent finished the torrent: every piece passed, whether or not each one's alert came.
  const auto started = std::chrono::steady_clock::now();
  const uint64_t tail = size_ - state_->digested.load(std::memory_order_relaxed);
  std::string history = "prefix at 90% of pieces in: " + std::to_string(prefix_at_90_) + " of " +
                        std::to_string(pieces_) +
                        "; pieces that moved it 5%+ (arrival rank):" + blockers_;
  auto job = [state = state_, size = size_, meta, tail, started,
              history = std::move(history)]() mutable -> Outcome {
    Outcome out;
    out.tail_bytes = tail;
    out.prefix_history = std::move(history);
    PrefixDigest& digest = state->digest;
    if (auto s = digest.AdvanceTo(size); !s) {
      out.error = s.error();
    } else {
      auto [sha256, md5] = digest.Final();
      out.digests.emplace(sha256, md5);
      if (ArtifactId{sha256} != meta.id || md5.hex() != meta.md5_hex || digest.digested() != size)
        out.error = Error::of(meta.id.str(), "streamed SHA-256/MD5 do not match the artifact's");
    }
    out.digested_from_memory = digest.digested_from_memory();
    if (!out.error) digest.FillSharedSinks();
    for (auto& sink : digest.sinks()) {
      out.installs_sharing_blocks += sink.shares_blocks ? 1 : 0;
      out.installs_linked += sink.links ? 1 : 0;
      if (out.error) break;
      out.installs.push_back(
          sink.status ? sink.file.Commit()
                      : Error::of(sink.file.dest().string(), sink.status.error().message));
    }
    digest.sinks().clear();  // uncommitted temporaries are removed here, off the event loop
    out.tail_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
  };
  posted_ = size_;
  co_return co_await RunOnExecutor(io, worker_.get_executor(), std::move(job));
}

}  // namespace shoal::node
