// `shoal run --wait-offline D`: the tasks of an ad-hoc run whose hosts are offline wait for
// them instead of failing at once. The dispatcher holds them exactly as it holds a job run's
// tasks (the run's record already makes them durable, and ResendUnfinished sends them when the
// host registers, after a planner restart too); this class ends the wait: at the deadline,
// every task of the run that never reached its host fails as offline. A task is durably marked
// as sent before it is sent (planner/dispatcher.cc), so a task that ran is never reported
// offline, also across a planner crash.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>

#include "planner/run_store.h"

namespace shoal::planner {

// The longest wait a run may ask for (a typo of "10d" for "10m" should not hold a run a year).
inline constexpr int64_t kMaxWaitOfflineMs = int64_t{7} * 24 * 3600 * 1000;

class OfflineWait {
 public:
  OfflineWait(boost::asio::io_context& io, RunStore& runs) : runs_(runs), timer_(io) {}

  // Arms the deadlines of every unfinished run that waits (after RunStore::Load).
  void Load();
  // `run_id` waits for its offline hosts until `until_ms` (wall clock, as stored).
  void Watch(uint64_t run_id, int64_t until_ms);
  void Stop() { timer_.cancel(); }

 private:
  void Rearm();
  // Fails the run's tasks that never reached their host, as offline.
  void Expire(uint64_t run_id);

  RunStore& runs_;
  std::multimap<int64_t, uint64_t> deadlines_;  // until_ms -> run
  boost::asio::steady_timer timer_;
};

}  // namespace shoal::planner
