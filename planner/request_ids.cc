#include "planner/request_ids.h"

#include <cstring>
#include <vector>

#include "core/log.h"

namespace shoal::planner {
namespace {

constexpr std::string_view kPrefix = "request-id/";

// Value: run id and creation time, 8 bytes each (host order: the file never leaves the host).
std::string Encode(uint64_t run_id, int64_t created_ms) {
  std::string v(16, '\0');
  std::memcpy(v.data(), &run_id, 8);
  std::memcpy(v.data() + 8, &created_ms, 8);
  return v;
}

}  // namespace

Status RequestIds::Load(int64_t now_ms, const std::function<bool(uint64_t)>& exists) {
  std::vector<std::string> stale;
  {
    auto txn = store_.env().BeginRead();
    if (!txn) return txn.error();
    txn->Scan(store_.dbs().meta, kPrefix, [&](std::string_view key, std::string_view value) {
      if (!key.starts_with(kPrefix)) return false;
      uint64_t run_id = 0;
      int64_t created_ms = 0;
      if (value.size() == 16) {
        std::memcpy(&run_id, value.data(), 8);
        std::memcpy(&created_ms, value.data() + 8, 8);
      }
      if (run_id == 0 || now_ms - created_ms > kKeepMs || !exists(run_id)) {
        stale.emplace_back(key);
      } else {
        runs_[std::string(key.substr(kPrefix.size()))] = run_id;
      }
      return true;
    });
  }
  if (!stale.empty()) {
    SHOAL_LOG(Info) << "dropping " << stale.size() << " expired request ids";
    store_.Write([this, stale = std::move(stale)](lmdb::Txn& txn) -> Status {
      for (const auto& key : stale) {
        if (auto s = txn.Del(store_.dbs().meta, key); !s) return s.error();
      }
      return Status::Ok();
    });
  }
  return Status::Ok();
}

std::optional<uint64_t> RequestIds::Find(const std::string& id) const {
  auto it = runs_.find(id);
  if (it == runs_.end()) return std::nullopt;
  return it->second;
}

void RequestIds::Remember(const std::string& id, uint64_t run_id, int64_t now_ms) {
  runs_[id] = run_id;
  store_.Write([this, key = std::string(kPrefix) + id, value = Encode(run_id, now_ms)](
                   lmdb::Txn& txn) { return txn.Put(store_.dbs().meta, key, value); });
}

}  // namespace shoal::planner
