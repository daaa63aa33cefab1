#include "node/agent/outbox.h"

namespace shoal::node {
namespace {

constexpr std::string_view kLastSeqKey = "last_seq";

// Journal value: state (1 byte, | kHasBytes), started ms (8), finished ms (8), then with
// kHasBytes stdout and stderr bytes so far (8 + 8), then the caller's meta. Entries written
// before the byte counts existed have no kHasBytes and decode with zero counts.
constexpr uint8_t kHasBytes = 0x80;

std::string EncodeJournal(const JournalEntry& e) {
  std::string out(1, static_cast<char>(static_cast<uint8_t>(e.state) | kHasBytes));
  out += lmdb::EncodeU64Key(static_cast<uint64_t>(e.started_unix_ms));
  out += lmdb::EncodeU64Key(static_cast<uint64_t>(e.finished_unix_ms));
  out += lmdb::EncodeU64Key(e.stdout_bytes);
  out += lmdb::EncodeU64Key(e.stderr_bytes);
  out += e.meta;
  return out;
}

std::optional<JournalEntry> DecodeJournal(std::string_view key, std::string_view value) {
  if (key.size() != 8 || value.size() < 17) return std::nullopt;
  JournalEntry e;
  e.id = TaskId{lmdb::DecodeU64Key(key)};
  const uint8_t first = static_cast<uint8_t>(value[0]);
  e.state = static_cast<TaskState>(first & ~kHasBytes);
  if (e.state != TaskState::kStarted && e.state != TaskState::kFinished) return std::nullopt;
  e.started_unix_ms = static_cast<int64_t>(lmdb::DecodeU64Key(value.substr(1, 8)));
  e.finished_unix_ms = static_cast<int64_t>(lmdb::DecodeU64Key(value.substr(9, 8)));
  size_t meta_at = 17;
  if (first & kHasBytes) {
    if (value.size() < 33) return std::nullopt;
    e.stdout_bytes = lmdb::DecodeU64Key(value.substr(17, 8));
    e.stderr_bytes = lmdb::DecodeU64Key(value.substr(25, 8));
    meta_at = 33;
  }
  e.meta = std::string(value.substr(meta_at));
  return e;
}

std::string TaskWhere(TaskId id) { return "task " + std::to_string(id.v); }

}  // namespace

// ---- Outbox ---------------------------------------------------------------------------------

Result<std::unique_ptr<Outbox>> Outbox::Open(lmdb::Env& env) {
  auto entries = env.OpenDb("outbox");
  if (!entries) return entries.error();
  auto meta = env.OpenDb("outbox_meta");
  if (!meta) return meta.error();
  return std::unique_ptr<Outbox>(new Outbox(env, *entries, *meta));
}

Result<uint64_t> Outbox::Append(std::string_view bytes) { return AppendWith(bytes, nullptr); }

Result<uint64_t> Outbox::AppendWith(std::string_view bytes,
                                    const std::function<Status(lmdb::Txn&)>& also) {
  uint64_t seq = 0;
  // Update retries the whole transaction after growing a full map.
  Status s = env_.Update([&](lmdb::Txn& txn) -> Status {
    auto last = txn.Get(meta_, kLastSeqKey);
    seq = (last ? lmdb::DecodeU64Key(*last) : 0) + 1;
    if (auto s = txn.Put(entries_, lmdb::EncodeU64Key(seq), bytes); !s) return s;
    if (auto s = txn.Put(meta_, kLastSeqKey, lmdb::EncodeU64Key(seq)); !s) return s;
    if (also) return also(txn);  // an error aborts the append
    return Status::Ok();
  });
  if (!s) return s.error();
  return seq;
}

Result<uint64_t> Outbox::AppendBatch(const std::vector<std::string_view>& messages) {
  if (messages.empty()) return uint64_t{0};
  uint64_t first = 0;
  Status s = env_.Update([&](lmdb::Txn& txn) -> Status {
    auto last = txn.Get(meta_, kLastSeqKey);
    first = (last ? lmdb::DecodeU64Key(*last) : 0) + 1;
    uint64_t seq = first;
    for (std::string_view bytes : messages) {
      if (auto s = txn.Put(entries_, lmdb::EncodeU64Key(seq++), bytes); !s) return s;
    }
    return txn.Put(meta_, kLastSeqKey, lmdb::EncodeU64Key(seq - 1));
  });
  if (!s) return s.error();
  return first;
}

Result<std::vector<OutboxEntry>> Outbox::Pending(uint64_t from_seq, size_t max_count,
                                                 size_t max_bytes) const {
  auto txn = env_.BeginRead();
  if (!txn) return txn.error();
  std::vector<OutboxEntry> out;
  size_t bytes = 0;
  txn->Scan(entries_, lmdb::EncodeU64Key(from_seq), [&](std::string_view k, std::string_view v) {
    if (out.size() >= max_count) return false;
    if (!out.empty() && bytes + v.size() > max_bytes) return false;
    out.push_back(OutboxEntry{lmdb::DecodeU64Key(k), std::string(v)});
    bytes += v.size();
    return true;
  });
  return out;
}

Status Outbox::Ack(uint64_t up_to_seq) {
  // Deleting needs free pages too (copy-on-write): a full map is grown here as well.
  return env_.Update([&](lmdb::Txn& txn) -> Status {
    auto last_value = txn.Get(meta_, kLastSeqKey);
    uint64_t last = last_value ? lmdb::DecodeU64Key(*last_value) : 0;
    if (up_to_seq > last) {
      return Error::of("outbox", "ack of seq " + std::to_string(up_to_seq) +
                                     " beyond the last issued " + std::to_string(last));
    }
    std::vector<std::string> keys;
    txn.Scan(entries_, "", [&](std::string_view k, std::string_view) {
      if (lmdb::DecodeU64Key(k) > up_to_seq) return false;
      keys.emplace_back(k);
      return true;
    });
    for (const auto& k : keys) {
      if (auto r = txn.Del(entries_, k); !r) return r.error();
    }
    return Status::Ok();
  });
}

Result<uint64_t> Outbox::LastSeq() const {
  auto txn = env_.BeginRead();
  if (!txn) return txn.error();
  auto last = txn->Get(meta_, kLastSeqKey);
  return last ? lmdb::DecodeU64Key(*last) : uint64_t{0};
}

Result<uint64_t> Outbox::PendingCount() const {
  auto txn = env_.BeginRead();
  if (!txn) return txn.error();
  uint64_t n = 0;
  txn->Scan(entries_, "", [&](std::string_view, std::string_view) { return ++n, true; });
  return n;
}

// ---- TaskJournal ----------------------------------------------------------------------------

Result<std::unique_ptr<TaskJournal>> TaskJournal::Open(lmdb::Env& env) {
  auto db = env.OpenDb("task_journal");
  if (!db) return db.error();
  return std::unique_ptr<TaskJournal>(new TaskJournal(env, *db));
}

Status TaskJournal::MarkStarted(TaskId id, std::string_view meta, int64_t now_unix_ms) {
  return env_.Update([&](lmdb::Txn& txn) -> Status {
    std::string key = lmdb::EncodeU64Key(id.v);
    if (auto existing = txn.Get(db_, key)) {
      auto e = DecodeJournal(key, *existing);
      bool finished = e && e->state == TaskState::kFinished;
      return Error::of(TaskWhere(id), finished ? "already ran (finished)" : "already started");
    }
    JournalEntry e{id, TaskState::kStarted, now_unix_ms, 0, std::string(meta)};
    return txn.Put(db_, key, EncodeJournal(e));
  });
}

Status TaskJournal::MarkFinished(TaskId id, int64_t now_unix_ms) {
  return env_.Update([&](lmdb::Txn& txn) { return MarkFinishedIn(txn, id, now_unix_ms); });
}

Status TaskJournal::MarkFinishedIn(lmdb::Txn& txn, TaskId id, int64_t now_unix_ms) {
  std::string key = lmdb::EncodeU64Key(id.v);
  auto value = txn.Get(db_, key);
  if (!value) return Error::of(TaskWhere(id), "finished but never marked started");
  auto e = DecodeJournal(key, *value);
  if (!e) return Error::of(TaskWhere(id), "corrupt journal entry");
  e->state = TaskState::kFinished;
  e->finished_unix_ms = now_unix_ms;
  return txn.Put(db_, key, EncodeJournal(*e));
}

Status TaskJournal::AddOutputIn(lmdb::Txn& txn, TaskId id, OutputStream stream, uint64_t bytes) {
  std::string key = lmdb::EncodeU64Key(id.v);
  auto value = txn.Get(db_, key);
  if (!value) return Error::of(TaskWhere(id), "output but never marked started");
  auto e = DecodeJournal(key, *value);
  if (!e) return Error::of(TaskWhere(id), "corrupt journal entry");
  (stream == OutputStream::kStdout ? e->stdout_bytes : e->stderr_bytes) += bytes;
  return txn.Put(db_, key, EncodeJournal(*e));
}

std::optional<JournalEntry> TaskJournal::Lookup(TaskId id) const {
  auto txn = env_.BeginRead();
  if (!txn) return std::nullopt;
  std::string key = lmdb::EncodeU64Key(id.v);
  auto value = txn->Get(db_, key);
  if (!value) return std::nullopt;
  return DecodeJournal(key, *value);
}

Result<std::vector<JournalEntry>> TaskJournal::Unfinished() const {
  auto txn = env_.BeginRead();
  if (!txn) return txn.error();
  std::vector<JournalEntry> out;
  txn->Scan(db_, "", [&](std::string_view k, std::string_view v) {
    auto e = DecodeJournal(k, v);
    if (e && e->state == TaskState::kStarted) out.push_back(std::move(*e));
    return true;
  });
  return out;
}

Result<size_t> TaskJournal::Prune(int64_t before_unix_ms) {
  size_t pruned = 0;
  Status s = env_.Update([&](lmdb::Txn& txn) -> Status {
    std::vector<std::string> keys;
    txn.Scan(db_, "", [&](std::string_view k, std::string_view v) {
      auto e = DecodeJournal(k, v);
      if (e && e->state == TaskState::kFinished && e->finished_unix_ms < before_unix_ms) {
        keys.emplace_back(k);
      }
      return true;
    });
    for (const auto& k : keys) {
      if (auto r = txn.Del(db_, k); !r) return r.error();
    }
    pruned = keys.size();
    return Status::Ok();
  });
  if (!s) return s.error();
  return pruned;
}

}  // namespace shoal::node
