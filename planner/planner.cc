#include "planner/planner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.h"

namespace shoal::planner {
namespace asio = boost::asio;
using asio::ip::tcp;

Result<std::unique_ptr<Planner>> Planner::Open(asio::io_context& io, Options options) {
  const StateDir& dir = options.dir;
  auto ca_crt = net::ReadTextFile(dir.ca_crt());
  auto ca_key = net::ReadTextFile(dir.ca_key());
  auto crt = net::ReadTextFile(dir.planner_crt());
  auto key = net::ReadTextFile(dir.planner_key());
  for (auto* r : {&ca_crt, &ca_key, &crt, &key}) {
    if (!*r) return Error{r->error().message + " (run `shoal-planner init` first)"};
  }
  auto ca = net::CertAuthority::Load(*ca_crt, *ca_key);
  if (!ca) return ca.error();
  auto store = Store::Open(dir.db(), io);
  if (!store) return store.error();
  std::unique_ptr<Planner> p(
      new Planner(io, std::move(options), std::move(*store), JoinService(**store, std::move(*ca))));
  for (auto s : {p->join_.Load(), p->registry_.Load(), p->runs_.Load(),
                 p->job_runs_.Load(p->options_.restart_grace_ms)}) {
    if (!s) return s.error();
  }
  p->offline_wait_.Load();
  Planner* self = p.get();
  if (auto s = p->request_ids_.Load(
          NowMs(), [self](uint64_t id) { return self->runs_.FindRun(id) != nullptr || self->runs_.finished().contains(id); });
      !s) {
    return s.error();
  }
  p->runs_.OnFinished([self] { self->pruner_.Poke(); });
  // Session tickets sealed with keys kept beside the CA: after a restart, nodes resume.
  net::ServerOptions tls_options;
  tls_options.ticket_keys_file = p->options_.dir.root / "ticket.keys";  // `dir` was moved
  auto tls = net::TlsContext::Server(
      *ca_crt, *crt, *key, [self](const net::Identity& id) { return self->join_.IsRevoked(id); },
      tls_options);
  if (!tls) return tls.error();
  p->tls_ = std::move(*tls);
  SHOAL_LOG(Info) << "planner state: " << p->registry_.hosts().size() << " hosts, "
                  << p->runs_.runs().size() << " unfinished runs, "
                  << p->runs_.finished().size() << " finished";
  return p;
}

Planner::Planner(asio::io_context& io, Options options, std::unique_ptr<Store> store,
                 JoinService join)
    : io_(io),
      options_(std::move(options)),
      store_(std::move(store)),
      join_(std::move(join)),
      registry_(*store_),
      runs_(*store_),
      request_ids_(*store_),
      job_runs_(io, *store_, runs_, registry_,
                JobRuns::Hooks{
                    [this](const Run& run, const std::vector<uint64_t>& ids) { SendTasks(run, ids); },
                    [this](const std::string& host, uint64_t id) { SendCancel(host, id); }}),
      offline_wait_(io, runs_),
      lost_tasks_(runs_, registry_, job_runs_, options_.lost_after_ms, NowMs()),
      pruner_(io, *store_, runs_,
              RunPruner::Options{options_.keep_runs_ms, options_.keep_runs_bytes}),
      stats_(*store_),
      audit_(io, *store_, options_.keep_audit_ms),
      sweep_timer_(io) {}

Result<tcp::endpoint> Planner::Start() {
  auto hp = net::ParseHostPort(options_.listen);
  if (!hp) return hp.error();
  boost::system::error_code ec;
  auto address = asio::ip::make_address(hp->first, ec);
  if (ec) return Error::of(hp->first, "not an IP address");
  tcp::endpoint ep(address, hp->second);
  acceptor_.emplace(io_);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(4096, ec);
  if (ec) return Error::of(options_.listen, ec.message());
  net::HandshakePool::Options pool;
  pool.threads = options_.handshake_threads;
  pool.timeout_ms = options_.handshake_timeout_ms;
  handshakes_ = std::make_unique<net::HandshakePool>(
      *tls_, io_.get_executor(), pool, [this](std::unique_ptr<net::TlsStream> stream) {
        if (stopping_) return;
        asio::co_spawn(io_, Serve(std::move(stream)), asio::detached);
      });
  asio::co_spawn(io_, AcceptLoop(), asio::detached);
  ScheduleSweep();
  pruner_.Start();
  audit_.StartPruning();
  return acceptor_->local_endpoint();
}

void Planner::Stop() {
  stopping_ = true;
  boost::system::error_code ec;
  if (acceptor_) acceptor_->close(ec);
  if (handshakes_) handshakes_->Stop();
  sweep_timer_.cancel();
  pruner_.Stop();
  audit_.Stop();
  offline_wait_.Stop();
  for (auto& s : sessions_) s->Close();
  (void)store_->Flush();
}

void Planner::ScheduleSweep() {
  sweep_timer_.expires_after(std::chrono::milliseconds(options_.heartbeat_ms));
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    registry_.Sweep(options_.offline_after_ms);
    lost_tasks_.Sweep(NowMs());
    ScheduleSweep();
  });
}

asio::awaitable<void> Planner::AcceptLoop() {
  // Accepted connections waiting for a handshake slot hold a descriptor each; past this many,
  // leave the rest in the kernel's backlog.
  constexpr size_t kMaxWaitingHandshakes = 8192;
  while (!stopping_) {
    boost::system::error_code ec;
    if (handshakes_->pending() >= kMaxWaitingHandshakes) {
      asio::steady_timer t(io_, std::chrono::milliseconds(10));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    tcp::socket socket =
        co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) break;
      SHOAL_LOG(Warn) << "accept: " << ec.message();
      // Out of descriptors: back off briefly instead of spinning.
      asio::steady_timer t(io_, std::chrono::milliseconds(50));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    handshakes_->Submit(std::move(socket));
  }
}

std::shared_ptr<asio::steady_timer> Planner::Deadline(const net::FramedSessionPtr& session,
                                                      uint32_t ms) {
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(ms));
  timer->async_wait([weak =
                         std::weak_ptr<net::FramedSession>(session)](boost::system::error_code ec) {
    if (ec) return;
    if (auto s = weak.lock()) {
      SHOAL_LOG(Warn) << "dropping " << s->stream().RemoteAddress() << ": too slow to handshake";
      s->Close();
    }
  });
  return timer;
}

asio::awaitable<void> Planner::Serve(std::unique_ptr<net::TlsStream> stream) {
  auto session = std::make_shared<net::FramedSession>(std::move(stream), kMaxInboundFrame);
  std::string peer = session->stream().RemoteAddress();
  sessions_.insert(session);
  if (X509* cert = session->stream().PeerCertificate(); !cert) {
    co_await ServeJoin(session);
  } else {
    net::Identity id = net::IdentityOf(cert);
    if (id.ou == net::kRoleNode) {
      co_await ServeNode(session, id);
    } else if (id.ou == net::kRoleAdmin) {
      co_await ServeCli(session, id);
    } else {
      SHOAL_LOG(Warn) << "dropping " << peer << ": certificate role '" << id.ou << "' not served";
    }
  }
  session->Close();
  sessions_.erase(session);
}

}  // namespace shoal::planner
