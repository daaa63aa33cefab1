#include "planner/audit.h"

#include <capnp/message.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <vector>

#include "core/log.h"
#include "proto/control.capnp.h"

namespace shoal::planner {

void Audit::Record(const std::string& who, const std::string& action, const std::string& detail) {
  int64_t now = NowMs();
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<proto::AuditRecord>();
  r.setUnixMs(now);
  r.setWho(who);
  r.setAction(action);
  r.setDetail(detail);
  std::string key = lmdb::EncodeU64Key(static_cast<uint64_t>(now)) + lmdb::EncodeU64Key(++counter_);
  SHOAL_LOG(Info) << "audit: " << who << " " << action << " " << detail.substr(0, 200);
  store_.Write([this, key, bytes = FlatMessageBytes(message)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().audit, key, bytes);
  });
}

Result<std::vector<std::string>> Audit::Read(int64_t since_ms, const std::string& who,
                                             size_t limit) const {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  std::deque<std::string> found;  // the newest `limit` so far
  txn->Scan(
      store_.dbs().audit, lmdb::EncodeU64Key(static_cast<uint64_t>(std::max<int64_t>(since_ms, 0))),
      [&](std::string_view, std::string_view value) {
        if (!who.empty()) {
          auto frame = FromBytes(value);
          if (!frame) return true;
          auto match =
              ReadSafely([&] { return (*frame)->Root<proto::AuditRecord>().getWho() == who; });
          if (!match || !*match) return true;
        }
        found.emplace_back(value);
        if (found.size() > limit) found.pop_front();
        return true;
      });
  return std::vector<std::string>(found.begin(), found.end());
}

void Audit::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void Audit::PruneBatch() {
  if (stopped_) return;
  const uint64_t cutoff = static_cast<uint64_t>(std::max<int64_t>(NowMs() - keep_ms_, 0));
  auto deleted = std::make_shared<size_t>(0);
  store_.Write(
      [this, cutoff, deleted](lmdb::Txn& txn) {
        std::vector<std::string> keys;
        txn.Scan(store_.dbs().audit, "", [&](std::string_view key, std::string_view) {
          if (key.size() < 8 || lmdb::DecodeU64Key(key.substr(0, 8)) >= cutoff) return false;
          keys.emplace_back(key);
          return keys.size() < kBatchKeys;
        });
        for (const auto& k : keys) {
          auto r = txn.Del(store_.dbs().audit, k);
          if (!r) return Status(r.error());
        }
        *deleted = keys.size();
        return Status::Ok();
      },
      [this, deleted] {
        pruned_ += *deleted;
        if (*deleted > 0) SHOAL_LOG(Info) << "audit: pruned " << *deleted << " entries";
        if (stopped_) return;
        // A full batch may have left more behind: go on at once; else check again in an hour.
        timer_.expires_after(*deleted == kBatchKeys ? std::chrono::milliseconds(0)
                                                    : std::chrono::hours(1));
        timer_.async_wait([this](boost::system::error_code ec) {
          if (!ec) PruneBatch();
        });
      });
}

}  // namespace shoal::planner
