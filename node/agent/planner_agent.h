// PlannerAgent: the node daemon's control side. It keeps one authenticated connection to the
// planner (joining first with a token if the node has no certificate), registers, heartbeats,
// runs the tasks it is sent (TaskRunner, under the node's Policy) and delivers everything they
// produce through the LMDB outbox, so that nothing is lost:
//
//  - every output chunk and result is committed to the outbox before it is sent, and deleted
//    only when the planner acknowledges it (cumulative acks, after the planner's own commit);
//  - after a reconnect or a restart, unacknowledged entries are sent again from the first one;
//  - a task is journalled as started before it is forked; one still "started" when the agent
//    starts again was interrupted, and its result says so;
//  - a task the planner sends again (it had no result when the node reconnected) is recognised
//    in the journal and not run twice.
//
// Stats and alerts (built-ins and plugins from node.conf) go through the outbox like results
// when the planner says it takes them there (Welcome.statsInOutbox) and whenever the agent is
// disconnected; to a planner that does not, they are sent directly, best effort.
//
// Everything runs on the given io_context's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange

#include "core/lmdb.h"
#include "core/net/framed_session.h"
#include "core/net/tls_context.h"
#include "node/agent/agent_config.h"
#include "node/agent/file_tasks.h"
#include "node/agent/outbox.h"
#include "node/agent/policy.h"
#include "node/agent/stats_scheduler.h"
#include "node/agent/task_runner.h"
#include "proto/control.capnp.h"

namespace shoal::node {

class PlannerAgent {
 public:
  PlannerAgent(boost::asio::io_context& io, AgentConfig config);
  ~PlannerAgent();

  // Loads node.conf and the policy, opens <state_dir>/agent/db, reports interrupted tasks, and
  // starts connecting (and stats). Errors: bad config, unusable state directory.
  Status Start();
  // Closes the connection and stops timers; running tasks are killed by the runner's
  // destruction (and will be reported as interrupted at the next start).
  void Stop();

  bool connected() const { return session_ != nullptr && welcomed_; }
  // Where file tasks go (shoal-node: its swarm fetcher). Without it they are rejected.
  void SetFileTasks(FileTasks* file_tasks) { file_tasks_ = file_tasks; }

  // Called (once, on the io thread) when the agent stops for good: the planner refused its join
  // token (unknown, used up, expired, revoked name). Network errors never call it: they are
  // retried with backoff. The daemon should exit non-zero with this error.
  void OnGiveUp(std::function<void(const Error&)> f) { on_give_up_ = std::move(f); }

 private:
  boost::asio::awaitable<void> ConnectLoop();
  boost::asio::awaitable<Status> RunSession(const net::TlsContext& tls);
  boost::asio::awaitable<void> HeartbeatLoop(net::FramedSessionPtr session);
  void OnTask(proto::TaskSpec::Reader task);
  void OnFileTask(TaskId id, proto::FetchTask::Reader fetch);
  void OnFileDone(TaskId id, const FileTaskReport& report);
  void OnOutput(TaskId id, OutputStream stream, uint64_t seq, std::string_view bytes);
  void OnDone(const TaskOutcome& outcome);
  // Appends a result (and marks the journal entry finished in the same transaction).
  void AppendResult(capnp::MallocMessageBuilder& result, TaskId id);
  void OnAck(uint64_t seq);
  // Sends outbox entries from next_send_ while the connection's queue is short.
  void Pump();
  void OnSample(const StatsSample& sample);
  void SendHello();
  void Fatal(const Error& error);

  boost::asio::io_context& io_;
  AgentConfig config_;
  std::filesystem::path dir_;
  std::unique_ptr<lmdb::Env> env_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<TaskJournal> journal_;
  std::optional<Policy> policy_;
  std::unique_ptr<CgroupRoot> cgroups_;  // before runner_: outlives the tasks' cgroups
  std::unique_ptr<TaskRunner> runner_;
  std::unique_ptr<StatsScheduler> stats_;
  FileTasks* file_tasks_ = nullptr;
  net::FramedSessionPtr session_;
  std::optional<boost::asio::steady_timer> retry_timer_;
  bool welcomed_ = false;
  bool stopping_ = false;
  bool ready_written_ = false;
  bool stats_in_outbox_ = false;  // the planner's Welcome says it takes stats as outbox entries
  uint32_t heartbeat_ms_ = 5000;
  uint64_t next_send_ = 1;
  std::string local_address_;
  std::function<void(const Error&)> on_give_up_;
};

}  // namespace shoal::node
