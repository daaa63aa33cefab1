#include "node/fetch_tasks.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cerrno>
#include <cstring>

namespace shoal::node {
namespace asio = boost::asio;

namespace {
int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

asio::awaitable<void> RunFetch(Fetcher& fetcher, FileTaskRequest request,
                               FileTasks::Progress progress, FileTasks::Done done) {
  FileTaskReport report;
  report.started_ms = NowMs();
  auto id = ArtifactId::Parse(request.artifact);
  if (!id) {
    report.error = id.error().message;
    report.ended_ms = NowMs();
    done(report);
    co_return;
  }
  FetchProgress on_progress = [progress](const TransferStatus& st) -> asio::awaitable<void> {
    if (progress) progress(st.done, st.total, static_cast<uint64_t>(st.download_rate));
    co_return;
  };
  auto fetched = co_await fetcher.Fetch(*id, request.dest, request.mode, on_progress);
  report.ended_ms = NowMs();
  if (!fetched) {
    report.error = fetched.error().message;
    done(report);
    co_return;
  }
  report.seconds = fetched->seconds;
  report.size = fetched->meta.size;
  report.sha256 = fetched->meta.id.str();
  report.md5 = fetched->meta.md5_hex;
  report.from_cache = fetched->from_cache;
  report.bytes_from_origin = fetched->from_origin_bytes;
  report.bytes_from_peers = fetched->downloaded_bytes - fetched->from_origin_bytes;
  if (!request.dest.empty() && !request.owner.empty()) {
    if (auto s = ChangeOwner(fetched->path.string(), request.owner); !s) {
      report.error = s.error().message;
      done(report);
      co_return;
    }
  }
  report.ok = true;
  done(report);
}
}  // namespace

void FetchTasks::Pin(const ArtifactId& id) {
  if (cache_) cache_->Pin(id);
}

void FetchTasks::Unpin(const ArtifactId& id) {
  if (cache_) cache_->Unpin(id);
}

void FetchTasks::Start(const FileTaskRequest& request, Progress progress, Done done) {
  auto id = ArtifactId::Parse(request.artifact);
  if (id) {
    Pin(*id);
    const bool prestage = request.dest.empty();
    done = [this, id = *id, prestage, done = std::move(done)](const FileTaskReport& report) {
      if (prestage && report.ok) {
        ++prestaged_[id];  // keep this task's pin until an install
      } else {
        Unpin(id);
        if (!prestage && report.ok) {
          auto it = prestaged_.find(id);
          for (int i = 0; it != prestaged_.end() && i < it->second; ++i) Unpin(id);
          if (it != prestaged_.end()) prestaged_.erase(it);
        }
      }
      done(report);
    };
  }
  asio::co_spawn(io_, RunFetch(fetcher_, request, std::move(progress), std::move(done)),
                 asio::detached);
}

Status ChangeOwner(const std::string& path, const std::string& owner) {
  std::string user = owner, group_name;
  if (auto colon = owner.find(':'); colon != std::string::npos) {
    user = owner.substr(0, colon);
    group_name = owner.substr(colon + 1);
  }
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!user.empty()) {
    passwd* pw = getpwnam(user.c_str());
    if (!pw) return Error::of("owner " + owner, "no such account " + user);
    uid = pw->pw_uid;
    if (group_name.empty()) gid = pw->pw_gid;
  }
  if (!group_name.empty()) {
    group* gr = getgrnam(group_name.c_str());
    if (!gr) return Error::of("owner " + owner, "no such group");
    gid = gr->gr_gid;
  }
  if (lchown(path.c_str(), uid, gid) != 0) {
    return Error::of(path, std::string("chown to ") + owner + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace shoal::node
