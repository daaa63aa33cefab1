#include "planner/store.h"

#include <capnp/serialize.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>

#include "core/log.h"

namespace shoal::planner {

Result<std::unique_ptr<Store>> Store::Open(const std::filesystem::path& dir,
                                           boost::asio::io_context& io) {
  auto env = lmdb::Env::Open(dir, 16);
  if (!env) return env.error();
  std::unique_ptr<Store> store(new Store(io));
  store->env_ = std::move(*env);
  auto open = [&](const char* name, MDB_dbi& dbi) -> Status {
    auto db = store->env_->OpenDb(name);
    if (!db) return db.error();
    dbi = *db;
    return Status::Ok();
  };
  Dbs& d = store->dbs_;
  for (auto [name, dbi] : {std::pair{"hosts", &d.hosts},
                           {"acked", &d.acked},
                           {"runs", &d.runs},
                           {"tasks", &d.tasks},
                           {"output", &d.output},
                           {"audit", &d.audit},
                           {"stats", &d.stats},
                           {"tokens", &d.tokens},
                           {"revoked", &d.revoked},
                           {"meta", &d.meta}}) {
    if (auto s = open(name, *dbi); !s) return s.error();
  }
  return store;
}

void Store::Write(WriteFn write, std::function<void()> after) {
  writes_.push_back(std::move(write));
  if (after) afters_.push_back(std::move(after));
  if (!scheduled_) {
    scheduled_ = true;
    // Posted: runs after the handlers already ready in this turn, so their writes join it.
    boost::asio::post(io_, [this] {
      scheduled_ = false;
      if (auto s = Flush(); !s) {
        SHOAL_LOG(Error) << "planner state commit failed: " << s.error().message;
        std::_Exit(70);
      }
    });
  }
}

Status Store::Flush() {
  if (writes_.empty() && afters_.empty()) return Status::Ok();
  auto writes = std::move(writes_);
  auto afters = std::move(afters_);
  writes_.clear();
  afters_.clear();
  auto txn = env_->BeginWrite();
  if (!txn) return txn.error();
  for (auto& w : writes) {
    if (auto s = w(*txn); !s) return s.error();
  }
  if (auto s = txn->Commit(); !s) return s.error();
  ++commits_;
  for (auto& a : afters) a();
  return Status::Ok();
}

Result<std::unique_ptr<Frame>> FromBytes(std::string_view bytes) {
  return Frame::Decode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace shoal::planner
