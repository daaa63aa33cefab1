// The audit log: who (a certificate's CN) did what, when, to which hosts. Append-only, keyed
// by time then a counter so entries keep their order.
//
// Retention: entries older than `keep_ms` (--keep-audit, default 365d: longer than runs, since
// "who did this" is asked long after the run's output stopped mattering) are deleted in the
// background, oldest first, at most kBatchKeys per group commit, then again every hour.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "planner/store.h"

namespace shoal::planner {

class Audit {
 public:
  static constexpr size_t kBatchKeys = 2000;
  Audit(boost::asio::io_context& io, Store& store, int64_t keep_ms)
      : store_(store), keep_ms_(keep_ms), timer_(io) {}
  void Record(const std::string& who, const std::string& action, const std::string& detail);
  // The newest `limit` entries at or after `since_ms` by `who` (empty: anyone), oldest first,
  // as encoded AuditRecords.
  Result<std::vector<std::string>> Read(int64_t since_ms, const std::string& who,
                                        size_t limit) const;

  // Starts the background pruning (the first pass at once).
  void StartPruning() { PruneBatch(); }
  void Stop();
  uint64_t pruned() const { return pruned_; }

 private:
  // Deletes up to kBatchKeys entries older than keep_ms; the next batch follows its commit.
  void PruneBatch();

  Store& store_;
  const int64_t keep_ms_;
  boost::asio::steady_timer timer_;
  uint64_t counter_ = 0;
  uint64_t pruned_ = 0;
  bool stopped_ = false;
};

}  // namespace shoal::planner
