// Durable node state for "nothing lost": the outbox of messages to the planner, and the task
// journal. Both live in the node's LMDB environment (core/lmdb.h), in their own databases.
//
// Outbox: every outgoing message (an encoded Cap'n Proto frame, opaque here) is committed with
// the next sequence number BEFORE it is sent. The sender sends Pending() in order, resends from
// the first unacknowledged one after a reconnect, and the planner's cumulative Ack(seq) deletes
// what it holds. Sequence numbers start at 1, only increase, and continue after a restart (the
// last one issued is stored, so they continue even when everything was acknowledged).
//
// TaskJournal: task id -> started/finished. A task is marked started before it is forked and
// finished in the same transaction that appends its result to the outbox (Outbox::AppendWith),
// so after a crash a task is either finished with its result queued, or unfinished; Unfinished()
// lists the latter so the agent can report them as interrupted. Finished entries are kept (until
// Prune) so a task the planner resends is recognised rather than run twice.
//
// Thread-safety: LMDB serialises writers; the objects hold no mutable state of their own, so
// they may be used from several threads. Each write is one durable (fsynced) commit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lmdb.h"
#include "core/result.h"
#include "node/agent/task_runner.h"

namespace shoal::node {

struct OutboxEntry {
  uint64_t seq = 0;
  std::string bytes;
};

class Outbox {
 public:
  // Opens (creating) the databases "outbox" and "outbox_meta" in `env`, which must outlive the
  // Outbox. The env needs room for these named databases (max_dbs).
  static Result<std::unique_ptr<Outbox>> Open(lmdb::Env& env);

  // Stores `bytes` durably and returns its sequence number.
  Result<uint64_t> Append(std::string_view bytes);
  // Same, and in the same transaction runs `also` (e.g. TaskJournal::MarkFinishedIn): both
  // persist or neither does. An error from `also` aborts the append.
  Result<uint64_t> AppendWith(std::string_view bytes,
                              const std::function<Status(lmdb::Txn&)>& also);

  // Stores several messages in one durable commit (one fsync instead of one per message: a
  // sender should batch what arrives together, e.g. the output chunks of one io_context turn).
  // Returns the first one's seq; the others follow consecutively. An empty batch returns 0.
  Result<uint64_t> AppendBatch(const std::vector<std::string_view>& messages);

  // Returns up to `max_count` stored entries with seq >= from_seq, in order, stopping early once
  // their bytes add up to `max_bytes` (but always at least one entry if any is stored).
  Result<std::vector<OutboxEntry>> Pending(uint64_t from_seq, size_t max_count,
                                           size_t max_bytes = SIZE_MAX) const;

  // Cumulative acknowledgement: deletes every entry with seq <= up_to_seq. Acking past the last
  // issued seq is an error (the peer is confused); acking again is harmless.
  Status Ack(uint64_t up_to_seq);

  // The last sequence number issued (0 if none ever), and the number of entries stored.
  Result<uint64_t> LastSeq() const;
  Result<uint64_t> PendingCount() const;

 private:
  Outbox(lmdb::Env& env, MDB_dbi entries, MDB_dbi meta)
      : env_(env), entries_(entries), meta_(meta) {}
  lmdb::Env& env_;
  MDB_dbi entries_, meta_;
};

enum class TaskState { kStarted = 1, kFinished = 2 };

struct JournalEntry {
  TaskId id;
  TaskState state = TaskState::kStarted;
  int64_t started_unix_ms = 0;
  int64_t finished_unix_ms = 0;  // 0 while started
  std::string meta;              // opaque to the journal (what the agent needs to report)
  // Output bytes stored in the outbox so far (AddOutputIn): what an interrupted task reports.
  uint64_t stdout_bytes = 0, stderr_bytes = 0;
};

class TaskJournal {
 public:
  // Opens (creating) the database "task_journal" in `env`, which must outlive the journal.
  static Result<std::unique_ptr<TaskJournal>> Open(lmdb::Env& env);

  // Records that `id` is starting, with caller-defined `meta`. Marking a known id again is an
  // error (a task runs at most once); use Lookup first when a resend is possible.
  Status MarkStarted(TaskId id, std::string_view meta, int64_t now_unix_ms);
  // Records that `id` finished. An id never started is an error.
  Status MarkFinished(TaskId id, int64_t now_unix_ms);
  // Same, inside a caller's write transaction (see Outbox::AppendWith).
  Status MarkFinishedIn(lmdb::Txn& txn, TaskId id, int64_t now_unix_ms);
  // Adds `bytes` to the task's count of `stream` output, inside the caller's write transaction:
  // the agent calls it in the transaction that appends the chunk to the outbox, so the counts
  // always match the chunks stored. An id never started is an error.
  Status AddOutputIn(lmdb::Txn& txn, TaskId id, OutputStream stream, uint64_t bytes);

  std::optional<JournalEntry> Lookup(TaskId id) const;
  // Tasks started and never finished, in id order: after a restart, the interrupted ones.
  Result<std::vector<JournalEntry>> Unfinished() const;
  // Deletes finished entries that finished before `before_unix_ms`; returns how many.
  Result<size_t> Prune(int64_t before_unix_ms);

 private:
  TaskJournal(lmdb::Env& env, MDB_dbi db) : env_(env), db_(db) {}
  lmdb::Env& env_;
  MDB_dbi db_;
};

}  // namespace shoal::node
