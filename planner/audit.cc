#include "planner/audit.h"

#include <capnp/message.h>

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

}  // namespace shoal::planner
