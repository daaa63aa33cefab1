// The planner's durable state: one LMDB environment with a database per kind of record, and
// group commit. Handlers queue writes with Write(); all writes queued during one turn of the
// event loop are committed in ONE transaction (one fsync) and only then are their `after`
// callbacks run, which is where acknowledgements to nodes are sent. So 10,000 results arriving
// together cost a handful of fsyncs, and nothing is acknowledged before it is durable.
#pragma once

#include <capnp/message.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/framing.h"
#include "core/lmdb.h"
#include "core/result.h"

namespace shoal::planner {

struct Dbs {
  MDB_dbi hosts, acked, runs, tasks, output, audit, stats, tokens, revoked, meta;
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::filesystem::path& dir,
                                             boost::asio::io_context& io);

  lmdb::Env& env() { return *env_; }
  const Dbs& dbs() const { return dbs_; }

  using WriteFn = std::function<Status(lmdb::Txn&)>;
  // Queues `write` for the next group commit; `after` runs once the commit is durable. If the
  // commit fails the process cannot keep its promises: it logs and exits (nothing was acked).
  void Write(WriteFn write, std::function<void()> after = {});
  // Commits whatever is queued, now.
  Status Flush();

  uint64_t commits() const { return commits_; }

 private:
  Store(boost::asio::io_context& io) : io_(io) {}
  boost::asio::io_context& io_;
  std::unique_ptr<lmdb::Env> env_;
  Dbs dbs_{};
  std::vector<WriteFn> writes_;
  std::vector<std::function<void()>> afters_;
  bool scheduled_ = false;
  uint64_t commits_ = 0;
};

// Records are Cap'n Proto messages stored flat (no frame header: core's FlatMessageBytes).
Result<std::unique_ptr<Frame>> FromBytes(std::string_view bytes);

int64_t NowMs();

}  // namespace shoal::planner
