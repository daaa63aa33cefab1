// shoal-planner's core: accepts TLS connections and routes each by the client certificate's
// role — none: join only; OU=node: a node's session; OU=admin: an operator's CLI requests —
// and wires the registry, runs, stats, audit and joins together.
//
// Threads: the planner's state (registry, runs, stats, audit, joins, LMDB writes, every
// session after its handshake) lives on one io_context thread, the planner's, and needs no
// lock. TLS handshakes alone run on `handshake_threads` more threads (core/net/
// handshake_pool.h): the planner accepts, the socket moves to a handshake thread, and the
// established connection moves back to the planner's thread before a byte of it is read. What
// a handshake touches on those threads is thread-safe by construction: the SSL_CTX, the ticket
// keys (locked), the revocation check (JoinService::IsRevoked reads an immutable snapshot the
// planner's thread swaps atomically), logging (locked). A reconnect storm is almost all
// handshake CPU, so this is what lets it use more than one core.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange

#include "core/net/framed_session.h"
#include "core/net/handshake_pool.h"
#include "core/net/tls_context.h"
#include "planner/audit.h"
#include "planner/credentials.h"
#include "planner/job_runs.h"
#include "planner/join.h"
#include "planner/lost_tasks.h"
#include "planner/offline_wait.h"
#include "planner/registry.h"
#include "planner/request_ids.h"
#include "planner/run_pruner.h"
#include "planner/run_store.h"
#include "planner/stats_store.h"
#include "planner/store.h"

namespace shoal::planner {

// Frames a peer may send us. Output chunks are <= 64 KiB; scripts up to a few MiB.
inline constexpr uint32_t kMaxInboundFrame = 4u << 20;

class Planner {
 public:
  struct Options {
    StateDir dir;
    std::string listen = "127.0.0.1:0";
    uint32_t heartbeat_ms = 5000;
    uint32_t offline_after_ms = 16000;  // about three missed heartbeats
    uint32_t handshake_timeout_ms = 10000;
    // Threads running TLS handshakes (0: on the planner's own thread). --handshake-threads.
    size_t handshake_threads = 1;
    // After a restart, job runs start no new host for this long (nodes reconnect first).
    uint32_t restart_grace_ms = 5000;
    // Retention of finished runs (planner/run_pruner.h): --keep-runs, --keep-runs-bytes.
    int64_t keep_runs_ms = int64_t{30} * 24 * 3600 * 1000;
    uint64_t keep_runs_bytes = uint64_t{1} << 30;
    // Audit entries older than this are deleted (planner/audit.h): --keep-audit.
    int64_t keep_audit_ms = int64_t{365} * 24 * 3600 * 1000;
    // A host offline this long with tasks in flight: they end as `lost` (planner/lost_tasks.h).
    int64_t lost_after_ms = int64_t{10} * 60 * 1000;
  };

  static Result<std::unique_ptr<Planner>> Open(boost::asio::io_context& io, Options options);
  // Binds and starts accepting. Returns the bound endpoint.
  Result<boost::asio::ip::tcp::endpoint> Start();
  // Stops accepting, closes every connection, commits pending state.
  void Stop();

  Registry& registry() { return registry_; }

 private:
  Planner(boost::asio::io_context& io, Options options, std::unique_ptr<Store> store,
          JoinService join);

  // planner.cc: connections
  boost::asio::awaitable<void> AcceptLoop();
  // An established connection (on the planner's thread): routed by its certificate's role.
  boost::asio::awaitable<void> Serve(std::unique_ptr<net::TlsStream> stream);
  void ScheduleSweep();
  // Closes `session` unless Disarm()ed within `ms`: bounds handshakes and first frames.
  std::shared_ptr<boost::asio::steady_timer> Deadline(const net::FramedSessionPtr& session,
                                                      uint32_t ms);

  // node_session.cc
  boost::asio::awaitable<void> ServeJoin(net::FramedSessionPtr session);
  boost::asio::awaitable<void> ServeNode(net::FramedSessionPtr session, net::Identity id);

  // dispatcher.cc
  void HandleOutbox(Host& host, proto::OutboxEnvelope::Reader envelope);
  Result<uint64_t> StartRun(const std::string& who, proto::RunRequest::Reader request,
                            std::function<void()> on_durable);
  void SendTasks(const Run& run, const std::vector<uint64_t>& task_ids);
  void SendCancel(const std::string& host, uint64_t task_id);
  void ResendUnfinished(Host& host);
  void SendAck(Host& host);

  // cli_session.cc
  boost::asio::awaitable<void> ServeCli(net::FramedSessionPtr session, net::Identity id);
  // A run's status, from memory while it runs, from LMDB once finished. Error: no such run.
  Status FillRunStatus(uint64_t run_id, bool with_results, proto::RunStatus::Builder out);

  boost::asio::io_context& io_;
  Options options_;
  std::unique_ptr<Store> store_;
  JoinService join_;
  Registry registry_;
  RunStore runs_;
  RequestIds request_ids_;
  JobRuns job_runs_;
  OfflineWait offline_wait_;
  LostTasks lost_tasks_;
  RunPruner pruner_;
  StatsStore stats_;
  Audit audit_;
  std::shared_ptr<net::TlsContext> tls_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<net::HandshakePool> handshakes_;  // after tls_: stops before it goes
  boost::asio::steady_timer sweep_timer_;
  std::set<net::FramedSessionPtr> sessions_;
  bool stopping_ = false;
};

}  // namespace shoal::planner
