#include "node/fetcher.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sstream>

#include "core/disk_io_space.h"
#include "core/file_check.h"
#include "core/file_copy.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/piece_cache.h"
#include "core/run_on_thread.h"

namespace shoal::node {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {
struct VerifyResult {
  std::optional<Error> error;                   // the file's digests or its read
  std::vector<Status> installs;                 // per staged destination, when the file checked out
  double read_seconds = 0, commit_seconds = 0;  // the one read (digests + copies); fsync+rename
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int64_t NowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace

Fetcher::Fetcher(asio::io_context& io, ArtifactIndex& index, OriginClient& origin,
                 std::vector<fs::path> allowed_roots)
    : io_(io), index_(index), origin_(origin), allowed_roots_(std::move(allowed_roots)) {}

void Fetcher::Restore() {
  for (auto& record : index_.List()) {
    const ArtifactId id = record.meta.id;
    if (record.verified) {
      if (!ChangedSinceVerified(record)) {
        if (auto s = swarm_->Add(record.meta, index_.objects_dir(), Swarm::AddMode::kSeedTrusted);
            !s) {
          SHOAL_LOG(Error) << s.error().message;
        }
        continue;
      }
      // A cache is refetchable: an object changed behind our back is simply dropped.
      SHOAL_LOG(Warn) << id.str() << ": cached object changed on disk; dropped from the cache";
      DropCached(id);
      continue;
    }
    // A download that cannot finish in the space left is dropped rather than resumed into the
    // same failure (a later fetch starts it afresh, checking space again).
    if (auto space = CheckSpace(record.meta, {}); !space) {
      SHOAL_LOG(Error) << space.error().message << "; dropping the partial download";
      DropPartial(id);
      continue;
    }
    auto download = std::make_shared<Download>();
    download->size = record.meta.size;
    downloads_[id] = download;
    if (auto s = swarm_->Add(record.meta, index_.objects_dir(), Swarm::AddMode::kDownload,
                             index_.GetResume(id));
        !s) {
      Finish(id, s.error());
    } else {
      StartStream(record.meta, *download);
      SHOAL_LOG(Info) << id.str() << ": resuming interrupted download";
    }
  }
}

std::shared_ptr<Fetcher::Download> Fetcher::StartDownload(const ArtifactId& id) {
  auto& slot = downloads_[id];
  if (slot && !(slot->finished && slot->error)) return slot;  // in flight (or just verified)
  slot = std::make_shared<Download>();
  asio::co_spawn(io_, Begin(id, slot), asio::detached);
  return slot;
}

asio::awaitable<void> Fetcher::Begin(ArtifactId id, std::shared_ptr<Download> download) {
  std::optional<ArtifactMeta> meta;
  if (auto record = index_.Get(id)) meta = std::move(record->meta);
  const bool known = meta.has_value();
  if (!meta) {
    auto fetched = co_await origin_.Get(id);
    if (!fetched) {
      Finish(id, fetched.error());
      co_return;
    }
    meta = std::move(*fetched);
  }
  download->size = meta->size;
  // The cache quota (node/cache_manager.h): evict least recently used objects, or refuse.
  if (make_room) {
    if (auto room = make_room(known ? 0 : meta->size); !room) {
      Finish(id, room.error());
      co_return;
    }
  }
  std::vector<fs::path> dests;
  for (const auto& install : download->installs) dests.push_back(install->dest);
  if (auto space = CheckSpace(*meta, dests); !space) {
    if (known) DropPartial(id);
    Finish(id, space.error());
    co_return;
  }
  if (!known) {
    StoredRecord record;
    record.meta = std::move(*meta);
    record.added_unix_ms = NowUnixMs();
    if (auto s = index_.Put(record); !s) {
      Finish(id, s.error());
      co_return;
    }
    meta = std::move(record.meta);
  }
  if (auto s =
          swarm_->Add(*meta, index_.objects_dir(), Swarm::AddMode::kDownload, index_.GetResume(id));
      !s) {
    Finish(id, s.error());
    co_return;
  }
  if (!download->finished) StartStream(*meta, *download);
}

void Fetcher::StartStream(const ArtifactMeta& meta, Download& download) {
  if (!stream_check || download.stream || download.verifying) return;
  auto [piece_length, pieces] = swarm_->PieceLayout(meta.id);
  if (pieces == 0) return;
  download.stream = std::make_unique<StreamCheck>(
      digest_worker_, index_.ObjectPath(meta.id), meta.size, piece_length, pieces,
      swarm_->piece_cache(), share_blocks, link_installs);
  auto waiting = std::move(download.installs);
  download.installs.clear();
  for (auto& install : waiting) StreamInstall(download, install);
}

bool Fetcher::StreamInstall(Download& download, const std::shared_ptr<PendingInstall>& install) {
  if (!download.stream || download.verifying) return false;
  auto file = StagedFile::Create(install->dest, install->mode);
  if (!file) {
    install->result = file.error();
    return true;
  }
  download.stream->AddInstall(std::move(*file));
  download.streamed.push_back(install);
  return true;
}

asio::awaitable<Result<FetchOutcome>> Fetcher::Fetch(const ArtifactId& id, std::string dest,
                                                     unsigned mode, FetchProgress progress) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<fs::path> install_path;
  if (!dest.empty()) {
    auto confined = ConfinePath(dest, allowed_roots_);
    if (!confined) co_return confined.error();
    install_path = *confined;
  }
  bool from_cache = true;
  std::shared_ptr<PendingInstall> pending;
  auto record = index_.Get(id);
  if (record && record->verified && ChangedSinceVerified(*record)) {
    // Written since it was verified: through an install linked to it (--install-link), or by
    // hand. Nothing installs or seeds it again; it is fetched afresh.
    SHOAL_LOG(Warn) << id.str() << ": cached object changed since it was verified; fetching it "
                    << "again";
    DropCached(id);
    record.reset();
  }
  if (!record || !record->verified) {
    from_cache = false;
    auto download = StartDownload(id);
    if (install_path && !download->finished) {
      pending = std::make_shared<PendingInstall>(PendingInstall{*install_path, mode, {}});
      if (!StreamInstall(*download, pending)) download->installs.push_back(pending);
    }
    auto waiter = std::make_shared<asio::steady_timer>(io_);
    download->waiters.push_back(waiter);
    while (!download->finished) {
      waiter->expires_after(500ms);
      boost::system::error_code ec;
      co_await waiter->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!download->finished && progress) {
        if (auto status = swarm_->GetStatus(id)) co_await progress(*status);
      }
    }
    if (download->error) co_return *download->error;
    record = index_.Get(id);
    if (!record) co_return Error::of(id.str(), "vanished from the cache");
  }
  FetchOutcome outcome;
  outcome.meta = record->meta;
  outcome.meta.torrent.clear();
  outcome.from_cache = from_cache;
  outcome.path = index_.ObjectPath(id);
  if (auto status = swarm_->GetStatus(id)) {
    outcome.downloaded_bytes = status->payload_downloaded;
    outcome.from_origin_bytes = status->payload_from_origin;
    if (!from_cache) {
      SHOAL_LOG(Info) << id.str() << ": took " << outcome.downloaded_bytes << " payload bytes, "
                      << outcome.from_origin_bytes << " of them from the origin";
    }
  }
  if (pending && pending->result) {
    if (!*pending->result) co_return pending->result->error();
    outcome.path = *install_path;
  } else if (install_path) {  // cached already, or asked for after verification began
    if (auto space =
            CheckFreeSpace({InstallNeed(*install_path, record->meta.size)}, install_path->string());
        !space) {
      co_return space.error();
    }
    fs::path object = outcome.path;
    // Named, not a temporary inside co_await: GCC 12 may destroy such temporaries twice.
    auto install = [object, path = *install_path, mode, share = share_blocks,
                    link = link_installs] {
      return InstallFileAtomically(object, path, mode, share, link);
    };
    auto installed = co_await RunOnThread(io_, std::move(install));
    if (!installed) co_return installed.error();
    SHOAL_LOG(Info) << id.str() << ": installed at " << install_path->string();
    outcome.path = *install_path;
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  co_return outcome;
}

bool Fetcher::ChangedSinceVerified(const StoredRecord& record) const {
  const fs::path object = index_.ObjectPath(record.meta.id);
  std::error_code ec;
  return fs::file_size(object, ec) != record.meta.size || ec ||
         FileMtimeNs(object) != record.mtime_ns;
}

void Fetcher::DropCached(const ArtifactId& id) {
  swarm_->Remove(id);
  if (auto s = index_.Remove(id); !s) SHOAL_LOG(Warn) << s.error().message;
  // Only the cache's name goes: an install linked to the object keeps it.
  std::error_code ec;
  fs::remove(index_.ObjectPath(id), ec);
  OnEvicted(id);
}

void Fetcher::WatchCache(std::chrono::milliseconds interval) {
  watch_timer_.expires_after(interval);
  watch_timer_.async_wait([this, interval](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the Fetcher is going away
    DropChangedObjects();
    WatchCache(interval);
  });
}

void Fetcher::DropChangedObjects() {
  for (const auto& record : index_.List()) {
    if (!record.verified || !ChangedSinceVerified(record)) continue;
    // An install linked to it written in place, or a hand in the cache: what it holds is no
    // longer what was verified, so it is neither seeded nor installed again.
    SHOAL_LOG(Warn) << record.meta.id.str()
                    << ": cached object changed since it was verified; no longer seeding it, "
                       "dropped from the cache";
    DropCached(record.meta.id);
  }
}

void Fetcher::OnEvicted(const ArtifactId& id) {
  if (auto it = downloads_.find(id); it != downloads_.end() && it->second->finished) {
    downloads_.erase(it);
  }
}

void Fetcher::OnListening(int port) {
  if (on_listening) on_listening(port);
}

void Fetcher::OnFinished(const ArtifactId& id) {
  auto it = downloads_.find(id);
  if (it == downloads_.end() || it->second->finished || it->second->verifying) return;
  it->second->verifying = true;
  SHOAL_LOG(Info) << id.str() << ": every piece in; checking the whole file";
  asio::co_spawn(io_, Verify(id, it->second), asio::detached);
}

asio::awaitable<void> Fetcher::Verify(ArtifactId id, std::shared_ptr<Download> download) {
  auto record = index_.Get(id);
  if (!record) {
    Finish(id, Error::of(id.str(), "record lost before verification"));
    co_return;
  }
  fs::path object = index_.ObjectPath(id);
  if (download->stream) {
    auto stream = std::move(download->stream);
    auto streamed = std::move(download->streamed);
    download->streamed.clear();
    StreamCheck::Outcome out = co_await stream->Finish(io_, record->meta);
    if (out.digests) {
      SHOAL_LOG(Info) << id.str() << ": streamed digests sha256:" << out.digests->first.hex()
                      << " md5 " << out.digests->second.hex();
    }
    if (!out.error) {
      for (size_t i = 0; i < streamed.size(); ++i) streamed[i]->result = out.installs[i];
      std::ostringstream how;
      how << "while downloading (" << out.tail_bytes << " bytes left at the last piece, "
          << out.tail_seconds << " s to digest them"
          << (streamed.empty() ? "" : " and commit the installs") << "; ";
      if (!streamed.empty())
        how << out.installs_sharing_blocks << " of " << streamed.size()
            << " installs sharing the file's blocks, " << out.installs_linked << " linked to it; ";
      how << out.digested_from_memory << " bytes digested from memory";
      if (const auto& cache = swarm_->piece_cache()) {
        const PieceCache::Counts reads = cache->reads();
        how << "; peers' reads from memory so far: " << reads.hits << " of "
            << reads.hits + reads.misses;
      }
      how << "; " << out.prefix_history << ")";
      Verified(id, std::move(*record), how.str());
      co_return;
    }
    // The authority is one full read of the file, as without a streamed check.
    SHOAL_LOG(Warn) << out.error->message << "; checking the whole file again";
    download->installs.insert(download->installs.begin(), streamed.begin(), streamed.end());
  }
  // Destinations asked for so far are written during the check; later ones copy afterwards.
  auto installs = std::move(download->installs);
  download->installs.clear();
  auto staged = std::make_shared<std::vector<StagedFile>>();
  std::vector<std::shared_ptr<PendingInstall>> staged_for;
  for (auto& install : installs) {
    auto file = StagedFile::Create(install->dest, install->mode);
    if (!file) {
      install->result = file.error();
      continue;
    }
    staged->push_back(std::move(*file));
    staged_for.push_back(install);
  }
  auto check = [object, meta = record->meta, staged]() -> VerifyResult {
    std::vector<int> fds;
    for (const auto& file : *staged) fds.push_back(file.fd());
    auto started = std::chrono::steady_clock::now();
    auto checked = CheckAndCopyFile(object, fds);
    VerifyResult out;
    out.read_seconds = SecondsSince(started);
    started = std::chrono::steady_clock::now();
    if (!checked) {
      out.error = checked.error();
    } else if (ArtifactId{checked->sha256} != meta.id || checked->md5.hex() != meta.md5_hex ||
               checked->size != meta.size) {
      out.error =
          Error::of(meta.id.str(), "downloaded file failed whole-file verification (SHA-256/MD5)");
    } else {
      for (size_t i = 0; i < staged->size(); ++i) {
        Status& copied = checked->copies[i];
        StagedFile& file = (*staged)[i];
        out.installs.push_back(copied ? file.Commit()
                                      : Error::of(file.dest().string(), copied.error().message));
      }
    }
    staged->clear();  // uncommitted temporaries are removed here, off the event loop
    out.commit_seconds = SecondsSince(started);
    return out;
  };
  VerifyResult verified = co_await RunOnThread(io_, std::move(check));
  for (size_t i = 0; i < staged_for.size(); ++i) {
    staged_for[i]->result = verified.error ? Status(*verified.error) : verified.installs[i];
  }
  if (verified.error) {
    SHOAL_LOG(Error) << verified.error->message << "; discarding it";
    swarm_->Remove(id);
    (void)index_.Remove(id);
    std::error_code ec;
    fs::remove(object, ec);
    Finish(id, verified.error);
    co_return;
  }
  std::ostringstream how;
  how << (staged_for.empty() ? "" : "and installed while reading it ") << "in "
      << verified.read_seconds << " s + " << verified.commit_seconds << " s to sync";
  Verified(id, std::move(*record), how.str());
}

void Fetcher::Verified(const ArtifactId& id, StoredRecord record, const std::string& how) {
  record.verified = true;
  record.mtime_ns = FileMtimeNs(index_.ObjectPath(id));
  if (auto s = index_.Put(record); !s) {
    Finish(id, s.error());
    return;
  }
  SHOAL_LOG(Info) << id.str() << ": verified (sha256 and md5 " << record.meta.md5_hex << ") "
                  << how;
  Finish(id, std::nullopt);
}

void Fetcher::Finish(const ArtifactId& id, std::optional<Error> error) {
  auto it = downloads_.find(id);
  if (it == downloads_.end()) return;
  auto download = it->second;
  download->finished = true;
  download->error = std::move(error);
  // A failed download's staged installs are removed once the digest worker lets go of them.
  if (download->error) download->stream.reset();
  if (download->error) SHOAL_LOG(Warn) << id.str() << ": " << download->error->message;
  for (auto& weak : download->waiters) {
    if (auto waiter = weak.lock()) waiter->cancel();
  }
  download->waiters.clear();
}

Status Fetcher::CheckSpace(const ArtifactMeta& meta, const std::vector<fs::path>& dests) const {
  const fs::path object = index_.ObjectPath(meta.id);
  auto remaining = [](uint64_t size, const fs::path& file) {
    return size - std::min(size, AllocatedBytes(file));
  };
  std::vector<SpaceNeed> needs{{index_.objects_dir(), remaining(meta.size, object)}};
  for (const auto& [other, download] : downloads_) {
    if (other == meta.id || download->finished || download->size == 0) continue;
    needs.push_back({index_.objects_dir(), remaining(download->size, index_.ObjectPath(other))});
  }
  // A staged copy is written beside each destination while the object is checked.
  for (const auto& dest : dests) needs.push_back(InstallNeed(dest, meta.size));
  return CheckFreeSpace(needs, meta.id.str());
}

SpaceNeed Fetcher::InstallNeed(const fs::path& dest, uint64_t size) const {
  // An install that will share the cached file's blocks (XFS, Btrfs) takes no space of its own:
  // counting it at full size would refuse a file that fits once, as an operator expects it to.
  const bool shares =
      (link_installs && CanHardLinkInto(index_.objects_dir(), dest.parent_path())) ||
      (share_blocks && CanShareBlocksInto(index_.objects_dir(), dest.parent_path()));
  return {dest.parent_path(), shares ? 0 : size};
}

void Fetcher::DropPartial(const ArtifactId& id) {
  swarm_->Remove(id, /*delete_file=*/true);
  if (auto s = index_.Remove(id); !s) SHOAL_LOG(Warn) << s.error().message;
  // Now, not only once libtorrent gets to it: the space is what the next fetch needs.
  std::error_code ec;
  fs::remove(index_.ObjectPath(id), ec);
}

void Fetcher::OnFailed(const ArtifactId& id, const Error& error) {
  auto it = downloads_.find(id);
  if (it == downloads_.end() || it->second->finished) {
    // A seeded object that can no longer be read: stop offering it; the next start re-checks it.
    SHOAL_LOG(Error) << id.str() << ": " << error.message << "; no longer seeding it";
    swarm_->Remove(id);
    return;
  }
  // A disk error (ENOSPC, EIO) fails this download only; the daemon keeps serving the rest, and
  // nothing of it is left to resume into the same failure.
  DropPartial(id);
  Finish(id, Error::of(id.str(), error.message + "; download abandoned, partial object removed"));
}

void Fetcher::OnResumeData(const ArtifactId& id, std::vector<char> data) {
  auto record = index_.Get(id);
  if (!record || record->verified) return;
  if (auto s = index_.PutResume(id, data); !s) SHOAL_LOG(Warn) << s.error().message;
}

void Fetcher::OnPieceVerified(const ArtifactId& id, int piece) {
  if (auto it = downloads_.find(id); it != downloads_.end() && it->second->stream)
    it->second->stream->PieceVerified(piece);
}

void Fetcher::OnCorruptPiece(const ArtifactId& id, int) {
  if (auto it = downloads_.find(id); it != downloads_.end()) ++it->second->corrupt_pieces;
}

}  // namespace shoal::node
