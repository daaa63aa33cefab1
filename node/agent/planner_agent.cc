#include "node/agent/planner_agent.h"

#include <capnp/serialize.h>
#include <pwd.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <random>

#include "core/framing.h"
#include "core/log.h"
#include "core/ready_file.h"
#include "node/agent/agent_identity.h"
#include "node/agent/agent_messages.h"

namespace shoal::node {
namespace asio = boost::asio;

namespace {
constexpr size_t kSendWindow = 1u << 20;  // outbox bytes in flight on the socket queue
constexpr uint32_t kMaxInboundFrame = 4u << 20;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string OwnAccount() {
  passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : std::to_string(geteuid());
}
}  // namespace

PlannerAgent::PlannerAgent(asio::io_context& io, AgentConfig config)
    : io_(io), config_(std::move(config)) {
  // Absolute: task scripts live under the state dir and run from other working directories.
  config_.state_dir = std::filesystem::absolute(config_.state_dir).lexically_normal();
  dir_ = config_.state_dir / "agent";
}

PlannerAgent::~PlannerAgent() { Stop(); }

void PlannerAgent::Fatal(const Error& error) {
  // The outbox is the promise that nothing is lost: if it cannot be written, stop taking work.
  SHOAL_LOG(Error) << "agent state failure: " << error.message << "; disconnecting";
  if (session_) session_->Close();
}

Status PlannerAgent::Start() {
  if (config_.name.empty()) return Error{"node name is required"};
  auto conf = LoadNodeConf(config_);
  if (!conf) return conf.error();
  if (config_.config_file.empty()) {
    // No node.conf: the daemon's own account with the standard interpreters, no paths.
    PolicyConfig pc;
    pc.allow_interpreters = {"sh", "bash", "python3"};
    pc.allow_accounts = {OwnAccount()};
    auto p = Policy::FromConfig(pc);
    if (!p) return p.error();
    policy_.emplace(std::move(*p));
  } else {
    auto p = Policy::Parse(conf->policy_text, config_.config_file.string());
    if (!p) return p.error();
    policy_.emplace(std::move(*p));
  }
  auto env = lmdb::Env::Open(dir_ / "db", 8, size_t{8} << 30);
  if (!env) return env.error();
  env_ = std::move(*env);
  auto outbox = Outbox::Open(*env_);
  if (!outbox) return outbox.error();
  outbox_ = std::move(*outbox);
  auto journal = TaskJournal::Open(*env_);
  if (!journal) return journal.error();
  journal_ = std::move(*journal);

  // Tasks that were running when the agent stopped will never report: say so now.
  auto unfinished = journal_->Unfinished();
  if (!unfinished) return unfinished.error();
  for (const auto& entry : *unfinished) {
    capnp::MallocMessageBuilder message;
    auto r = message.initRoot<proto::OutboxMessage>().initResult();
    r.setTaskId(entry.id.v);
    r.setEnd(proto::TaskEnd::INTERRUPTED);
    r.setStartedMs(entry.started_unix_ms);
    r.setEndedMs(NowMs());
    r.setStdoutBytes(entry.stdout_bytes);
    r.setStderrBytes(entry.stderr_bytes);
    r.setError("the node agent stopped while the task ran");
    SHOAL_LOG(Warn) << "task " << entry.id.v << " was interrupted by a restart";
    AppendResult(message, entry.id);
  }
  (void)journal_->Prune(NowMs() - int64_t{7} * 24 * 3600 * 1000);

  auto cgroups = OpenTaskCgroups(policy_->config().cgroup_root, policy_->config().limits);
  if (!cgroups) return cgroups.error();
  cgroups_ = std::move(*cgroups);
  TaskRunner::Options ro;
  ro.policy = &*policy_;
  ro.cgroups = cgroups_.get();
  ro.limits = policy_->config().limits;
  std::filesystem::create_directories(dir_ / "scratch");
  ro.scratch_dir = dir_ / "scratch";
  runner_ = std::make_unique<TaskRunner>(io_, ro);
  if (conf->stats.builtin_interval.count() > 0 || !conf->stats.plugins.empty()) {
    // Plugins come from this node's own config, not from the planner: the exec policy (which
    // governs what the planner may ask for) does not apply to them.
    TaskRunner::Options plugin_options = ro;
    plugin_options.policy = nullptr;
    plugin_options.cgroups = nullptr;  // plugin ids are not task ids; policy limits are for tasks
    plugin_options.limits = {};
    stats_ = std::make_unique<StatsScheduler>(
        io_, conf->stats, [this](const StatsSample& s) { OnSample(s); }, plugin_options);
    if (auto s = stats_->Start(); !s) return s.error();
  }
  auto last = outbox_->LastSeq();
  SHOAL_LOG(Info) << "agent " << config_.name << ": outbox at seq " << (last ? *last : 0) << ", "
                  << unfinished->size() << " interrupted task(s)";
  asio::co_spawn(io_, ConnectLoop(), asio::detached);
  return Status::Ok();
}

void PlannerAgent::Stop() {
  if (stopping_) return;
  stopping_ = true;
  if (retry_timer_) retry_timer_->cancel();
  if (session_) session_->Close();
  if (stats_) stats_->Stop();
}

asio::awaitable<void> PlannerAgent::ConnectLoop() {
  auto backoff = config_.reconnect_min;
  std::mt19937 rng(std::random_device{}());
  auto hp = net::ParseHostPort(config_.planner);
  if (!hp) {
    SHOAL_LOG(Error) << "planner address: " << hp.error().message;
    co_return;
  }
  // One client context for as long as the certificate is the same: it keeps the planner's
  // session ticket, so a reconnect resumes instead of redoing the full mutual handshake.
  std::shared_ptr<net::TlsContext> tls;
  std::string tls_cert;
  while (!stopping_) {
    auto creds = LoadCredentials(dir_);
    if (!creds && !config_.join_token.empty()) {
      JoinFailure failure = JoinFailure::kRetry;
      creds = co_await JoinPlanner(io_.get_executor(), hp->first, hp->second, config_.join_token,
                                   config_.name, dir_, &failure);
      if (creds) SHOAL_LOG(Info) << "joined the fleet as " << config_.name;
      if (!creds && failure == JoinFailure::kRefused) {
        // Retrying a refused token cannot succeed: give up loudly (the daemon exits non-zero).
        SHOAL_LOG(Error) << "join: " << creds.error().message << "; giving up";
        if (on_give_up_) on_give_up_(creds.error());
        co_return;
      }
    }
    Status status = Status::Ok();
    if (creds && tls_cert != creds->cert_pem) {
      auto made = net::TlsContext::Client(creds->ca_pem, creds->cert_pem, creds->key_pem);
      if (made) {
        tls = std::move(*made);
        tls_cert = creds->cert_pem;
      } else {
        status = made.error();
      }
    }
    if (!creds) {
      status = creds.error();
    } else if (status) {
      bool was_welcomed = false;
      status = co_await RunSession(*tls);
      was_welcomed = welcomed_;
      welcomed_ = false;
      session_.reset();
      if (was_welcomed) backoff = config_.reconnect_min;
    }
    if (stopping_) break;
    if (!status) SHOAL_LOG(Warn) << "planner connection: " << status.error().message;
    // Exponential backoff with full jitter: 10,000 nodes must not reconnect in lockstep.
    std::uniform_int_distribution<int64_t> jitter(0, backoff.count());
    retry_timer_.emplace(io_, std::chrono::milliseconds(jitter(rng)));
    boost::system::error_code ec;
    co_await retry_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(backoff * 2, config_.reconnect_max);
  }
}

asio::awaitable<Status> PlannerAgent::RunSession(const net::TlsContext& tls) {
  auto hp = net::ParseHostPort(config_.planner);
  auto stream = co_await net::ConnectTls(io_.get_executor(), hp->first, hp->second, tls);
  if (!stream) co_return stream.error();
  if (auto s = net::RequirePeerRole(**stream, net::kRolePlanner); !s) co_return s;
  boost::system::error_code ec;
  auto local = (*stream)->socket().local_endpoint(ec);
  local_address_ = ec ? "" : local.address().to_string();
  auto session = std::make_shared<net::FramedSession>(std::move(*stream), kMaxInboundFrame);
  session_ = session;
  session->OnDrained([this] { Pump(); });
  SendHello();
  Status result = Status::Ok();
  while (!stopping_) {
    auto frame = co_await session->Receive();
    if (!frame) {
      result = frame.error();
      break;
    }
    auto handled = ReadSafely([&]() -> std::string {
      auto m = (*frame)->Root<proto::PlannerMessage>();
      switch (m.which()) {
        case proto::PlannerMessage::WELCOME: {
          auto w = m.getWelcome();
          heartbeat_ms_ = std::max<uint32_t>(w.getHeartbeatIntervalMs(), 100);
          stats_in_outbox_ = w.getStatsInOutbox();
          auto last = outbox_->LastSeq();
          uint64_t acked = w.getAckedSeq();
          if (last && acked > *last) {
            SHOAL_LOG(Warn) << "planner holds seq " << acked << " but our outbox ends at " << *last
                            << ": node state was reset";
            acked = *last;
          }
          if (acked > 0) OnAck(acked);
          next_send_ = acked + 1;
          welcomed_ = true;
          asio::co_spawn(io_, HeartbeatLoop(session), asio::detached);
          Pump();
          if (!ready_written_ && !config_.ready_file.empty()) {
            ready_written_ = true;
            (void)WriteReadyFile(config_.ready_file,
                                 {{"name", config_.name}, {"planner", config_.planner}});
          }
          return "";
        }
        case proto::PlannerMessage::TASK:
          OnTask(m.getTask());
          return "";
        case proto::PlannerMessage::ACK:
          OnAck(m.getAck());
          return "";
        case proto::PlannerMessage::CANCEL:
          if (runner_) runner_->Cancel(TaskId{m.getCancel()});
          return "";
        case proto::PlannerMessage::FAILURE:
          return "planner: " + std::string(m.getFailure().getMessage());
        default:
          return "unexpected message from planner";
      }
    });
    if (!handled || !handled->empty()) {
      result = Error{handled ? *handled : handled.error().message};
      break;
    }
  }
  session->Close();
  co_return result;
}

asio::awaitable<void> PlannerAgent::HeartbeatLoop(net::FramedSessionPtr session) {
  asio::steady_timer timer(io_);
  while (!session->closed()) {
    timer.expires_after(std::chrono::milliseconds(heartbeat_ms_));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (session->closed()) break;
    capnp::MallocMessageBuilder message;
    auto hb = message.initRoot<proto::NodeMessage>().initHeartbeat();
    double uptime = std::atof(ReadFirstLine("/proc/uptime").c_str());
    hb.setUptimeSeconds(static_cast<uint64_t>(uptime));
    hb.setRunningTasks(runner_ ? runner_->running_count() : 0);
    auto pending = outbox_->PendingCount();
    hb.setOutboxPending(pending ? *pending : 0);
    (void)session->Send(message);
  }
}

void PlannerAgent::SendHello() {
  capnp::MallocMessageBuilder message;
  auto h = message.initRoot<proto::NodeMessage>().initHello();
  h.setName(config_.name);
  h.setAddress(config_.address.empty() ? local_address_ : config_.address);
  h.setDatacenter(config_.datacenter);
  h.setRack(config_.rack);
  auto labels = h.initLabels(config_.labels.size());
  for (size_t i = 0; i < config_.labels.size(); ++i) {
    labels[i].setKey(config_.labels[i].first);
    labels[i].setValue(config_.labels[i].second);
  }
  auto groups = h.initGroups(config_.groups.size());
  for (size_t i = 0; i < config_.groups.size(); ++i) groups.set(i, config_.groups[i]);
  h.setVersion(config_.version);
  h.setUptimeSeconds(static_cast<uint64_t>(std::atof(ReadFirstLine("/proc/uptime").c_str())));
  h.setBootId(ReadFirstLine("/proc/sys/kernel/random/boot_id"));
  (void)session_->Send(message);
}

void PlannerAgent::OnTask(proto::TaskSpec::Reader t) {
  TaskId id{t.getTaskId()};
  if (journal_->Lookup(id)) return;  // a resend of a task we already ran or are running
  if (auto s = journal_->MarkStarted(id, std::to_string(t.getRunId()), NowMs()); !s) {
    Fatal(s.error());
    return;
  }
  if (t.hasFetch()) {
    OnFileTask(id, t.getFetch());
    return;
  }
  TaskSpec spec;
  spec.id = id;
  Status status = Status::Ok();
  if (t.getStoredScript().size() > 0) {
    spec.script_path = std::string(t.getStoredScript());
  } else {
    spec.script_body = std::string(t.getBody());
  }
  auto interp = ParseInterpreter(std::string(t.getInterpreter()));
  if (!interp) {
    status = interp.error();
  } else {
    spec.interpreter = *interp;
    for (auto a : t.getArgs()) spec.args.emplace_back(a);
    spec.run_as = t.getRunAs();
    spec.working_dir = std::string(t.getWorkingDir());
    for (auto kv : t.getEnv()) spec.env[kv.getKey()] = kv.getValue();
    // Who and what, for scripts that need it (as Rundeck's node context): not overridable.
    spec.env["SHOAL_NODE"] = config_.name;
    spec.env["SHOAL_RUN"] = std::to_string(t.getRunId());
    spec.env["SHOAL_TASK"] = std::to_string(id.v);
    spec.timeout = std::chrono::milliseconds(t.getTimeoutMs());
    status = runner_->Start(
        std::move(spec),
        [this](TaskId i, OutputStream s, uint64_t seq, std::string_view b) {
          OnOutput(i, s, seq, b);
        },
        [this](const TaskOutcome& o) { OnDone(o); });
  }
  if (!status) {
    capnp::MallocMessageBuilder message;
    auto r = message.initRoot<proto::OutboxMessage>().initResult();
    r.setTaskId(id.v);
    r.setEnd(proto::TaskEnd::REJECTED);
    r.setStartedMs(NowMs());
    r.setEndedMs(NowMs());
    r.setError(status.error().message);
    AppendResult(message, id);
    Pump();
  }
}

void PlannerAgent::OnFileTask(TaskId id, proto::FetchTask::Reader fetch) {
  if (!file_tasks_) {
    FileTaskReport report;
    report.started_ms = report.ended_ms = NowMs();
    report.error = "this node takes no file tasks (an agent without a swarm fetcher)";
    OnFileDone(id, report);
    return;
  }
  FileTaskRequest request{id, fetch.getArtifact(), fetch.getDest(), fetch.getMode(),
                          fetch.getOwner()};
  if (request.mode == 0) request.mode = 0644;
  auto progress = [this, id](uint64_t done, uint64_t total, uint64_t rate) {
    // Best effort, not through the outbox: the next report supersedes a lost one.
    if (!connected()) return;
    capnp::MallocMessageBuilder message;
    auto p = message.initRoot<proto::NodeMessage>().initProgress();
    p.setTaskId(id.v);
    p.setDone(done);
    p.setTotal(total);
    p.setRate(rate);
    (void)session_->Send(message);
  };
  file_tasks_->Start(request, progress,
                     [this, id](const FileTaskReport& report) { OnFileDone(id, report); });
}

void PlannerAgent::OnFileDone(TaskId id, const FileTaskReport& report) {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<proto::OutboxMessage>().initResult();
  r.setTaskId(id.v);
  if (report.ok) {
    r.setEnd(proto::TaskEnd::EXITED);
    r.setExitCode(0);
  } else {
    r.setEnd(proto::TaskEnd::REJECTED);
    r.setError(report.error);
  }
  r.setStartedMs(report.started_ms);
  r.setEndedMs(report.ended_ms);
  auto f = r.initFetch();
  f.setBytesFromPeers(report.bytes_from_peers);
  f.setBytesFromOrigin(report.bytes_from_origin);
  f.setSeconds(report.seconds);
  f.setSha256(report.sha256);
  f.setMd5(report.md5);
  f.setSize(report.size);
  f.setFromCache(report.from_cache);
  if (report.ok) {
    SHOAL_LOG(Info) << "task " << id.v << ": " << report.sha256 << " in "
                    << (report.from_cache ? "cache" : "swarm") << ", " << report.seconds << " s";
  } else {
    SHOAL_LOG(Warn) << "task " << id.v << ": " << report.error;
  }
  AppendResult(message, id);
  Pump();
}

void PlannerAgent::OnOutput(TaskId id, OutputStream stream, uint64_t seq, std::string_view bytes) {
  capnp::MallocMessageBuilder message;
  FillTaskOutput(message.initRoot<proto::OutboxMessage>().initOutput(), id, stream, seq, bytes);
  // The chunk and the task's byte counts in one transaction: an interrupted task reports them.
  auto appended = outbox_->AppendWith(FlatMessageBytes(message), [&](lmdb::Txn& txn) {
    return journal_->AddOutputIn(txn, id, stream, bytes.size());
  });
  if (auto& r = appended; !r) {
    Fatal(r.error());
    return;
  }
  Pump();
}

void PlannerAgent::OnDone(const TaskOutcome& outcome) {
  capnp::MallocMessageBuilder message;
  FillTaskResult(message.initRoot<proto::OutboxMessage>().initResult(), outcome);
  AppendResult(message, outcome.id);
  Pump();
}

void PlannerAgent::AppendResult(capnp::MallocMessageBuilder& message, TaskId id) {
  auto appended = outbox_->AppendWith(FlatMessageBytes(message), [&](lmdb::Txn& txn) {
    return journal_->MarkFinishedIn(txn, id, NowMs());
  });
  if (!appended) Fatal(appended.error());
}

void PlannerAgent::OnAck(uint64_t seq) {
  if (auto s = outbox_->Ack(seq); !s) {
    SHOAL_LOG(Warn) << "ack " << seq << ": " << s.error().message;
  }
}

void PlannerAgent::Pump() {
  if (!session_ || !welcomed_ || session_->closed()) return;
  while (session_->queued_bytes() < kSendWindow) {
    auto pending = outbox_->Pending(next_send_, 256, kSendWindow);
    if (!pending) {
      Fatal(pending.error());
      return;
    }
    if (pending->empty()) return;
    for (const auto& e : *pending) {
      capnp::MallocMessageBuilder message;
      auto env = message.initRoot<proto::NodeMessage>().initOutbox();
      env.setSeq(e.seq);
      env.setPayload(
          capnp::Data::Reader(reinterpret_cast<const kj::byte*>(e.bytes.data()), e.bytes.size()));
      if (auto s = session_->Send(message); !s) {
        SHOAL_LOG(Error) << "outbox entry " << e.seq << ": " << s.error().message;
      }
      next_send_ = e.seq + 1;
    }
  }
}

void PlannerAgent::OnSample(const StatsSample& sample) {
  capnp::MallocMessageBuilder message;
  if (connected() && !stats_in_outbox_) {
    // A planner that does not take stats in the outbox: direct, best effort.
    FillStatsReport(message.initRoot<proto::NodeMessage>().initStats(), sample);
    (void)session_->Send(message);
    return;
  }
  // Durable like results: committed first, resent until acknowledged, kept across restarts and
  // disconnections (samples and alerts taken while the planner is away arrive when it is back).
  FillStatsReport(message.initRoot<proto::OutboxMessage>().initStats(), sample);
  if (auto r = outbox_->Append(FlatMessageBytes(message)); !r) {
    Fatal(r.error());
    return;
  }
  Pump();
}

}  // namespace shoal::node
