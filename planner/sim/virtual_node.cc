#include "planner/sim/virtual_node.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "proto/control.capnp.h"

namespace shoal::sim {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

VirtualNode::VirtualNode(asio::io_context& io, SimShared& shared, std::string name, X509* cert,
                         std::string source_address)
    : io_(io),
      shared_(shared),
      name_(std::move(name)),
      cert_(cert),
      source_(std::move(source_address)) {}

VirtualNode::~VirtualNode() { X509_free(cert_); }

asio::awaitable<void> VirtualNode::Run(std::chrono::milliseconds initial_delay) {
  std::mt19937 rng(std::hash<std::string>{}(name_));
  asio::steady_timer timer(io_, initial_delay);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  auto backoff = shared_.backoff_min;
  for (;;) {
    bool was_welcomed = co_await Session();
    if (was_welcomed) backoff = shared_.backoff_min;
    shared_.failures++;
    // Full jitter: after a planner restart, reconnects spread evenly over the whole window.
    std::uniform_int_distribution<int64_t> jitter(0, backoff.count());
    timer.expires_after(std::chrono::milliseconds(jitter(rng)));
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min(backoff * 2, shared_.backoff_max);
  }
}

asio::awaitable<bool> VirtualNode::Session() {
  boost::system::error_code ec;
  tcp::socket socket(io_);
  socket.open(tcp::v4(), ec);
  if (!source_.empty()) socket.bind(tcp::endpoint(asio::ip::make_address(source_), 0), ec);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address(shared_.host), shared_.port),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return false;
  auto stream = std::make_unique<net::TlsStream>(std::move(socket), *shared_.tls,
                                                 net::TlsStream::Side::kClient);
  SSL_use_certificate(stream->ssl(), cert_);
  SSL_use_PrivateKey(stream->ssl(), shared_.key);
  if (shared_.resume) stream->ResumeFrom(&ticket_);
  if (!(co_await stream->Handshake()).ok()) co_return false;
  shared_.connects++;
  if (stream->resumed()) shared_.resumed++;
  auto session = std::make_shared<net::FramedSession>(std::move(stream), 1u << 20);
  session_ = session;
  {
    capnp::MallocMessageBuilder m;
    auto h = m.initRoot<proto::NodeMessage>().initHello();
    h.setName(name_);
    h.setAddress(source_);
    h.setDatacenter("sim");
    h.setVersion("sim");
    h.setUptimeSeconds(1000);
    auto groups = h.initGroups(1);
    groups.set(0, "sim");
    (void)session->Send(m);
  }
  bool welcomed = false;
  for (;;) {
    auto frame = co_await session->Receive();
    if (!frame) break;
    auto handled = ReadSafely([&] {
      auto m = (*frame)->Root<proto::PlannerMessage>();
      switch (m.which()) {
        case proto::PlannerMessage::WELCOME: {
          heartbeat_ms_ = std::max<uint32_t>(m.getWelcome().getHeartbeatIntervalMs(), 100);
          uint64_t acked = m.getWelcome().getAckedSeq();
          while (!unacked_.empty() && unacked_.front().first <= acked) unacked_.pop_front();
          if (!welcomed) shared_.welcomed++;
          welcomed = true;
          for (auto& [seq, payload] : unacked_) SendEnvelope(seq, payload);
          asio::co_spawn(io_, Heartbeats(session), asio::detached);
          return true;
        }
        case proto::PlannerMessage::TASK: {
          auto t = m.getTask();
          int64_t now = NowMs();
          capnp::MallocMessageBuilder out;
          auto o = out.initRoot<proto::OutboxMessage>().initOutput();
          o.setTaskId(t.getTaskId());
          o.setStream(1);
          o.setSeq(0);
          std::string text = name_ + "\n";
          o.setData(
              capnp::Data::Reader(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
          capnp::MallocMessageBuilder res;
          auto r = res.initRoot<proto::OutboxMessage>().initResult();
          r.setTaskId(t.getTaskId());
          r.setEnd(proto::TaskEnd::EXITED);
          r.setExitCode(0);
          r.setStartedMs(now);
          r.setEndedMs(now);
          r.setStdoutBytes(text.size());
          for (auto* msg : {&out, &res}) {
            uint64_t seq = next_seq_++;
            unacked_.emplace_back(seq, FlatMessageBytes(*msg));
            SendEnvelope(seq, unacked_.back().second);
          }
          shared_.tasks++;
          return true;
        }
        case proto::PlannerMessage::ACK: {
          while (!unacked_.empty() && unacked_.front().first <= m.getAck()) unacked_.pop_front();
          return true;
        }
        default:
          return m.which() != proto::PlannerMessage::FAILURE;
      }
    });
    if (!handled || !*handled) break;
  }
  session->Close();
  session_.reset();
  if (welcomed) shared_.welcomed--;
  co_return welcomed;
}

void VirtualNode::SendEnvelope(uint64_t seq, const std::string& payload) {
  if (!session_) return;
  capnp::MallocMessageBuilder m;
  auto e = m.initRoot<proto::NodeMessage>().initOutbox();
  e.setSeq(seq);
  e.setPayload(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(payload.data()), payload.size()));
  (void)session_->Send(m);
}

asio::awaitable<void> VirtualNode::Heartbeats(net::FramedSessionPtr session) {
  std::mt19937 rng(std::hash<std::string>{}(name_) ^ 0x5eed);
  asio::steady_timer timer(io_);
  // Spread the first beat over the interval so 10,000 nodes do not beat in unison.
  std::uniform_int_distribution<int> phase(0, static_cast<int>(heartbeat_ms_));
  timer.expires_after(std::chrono::milliseconds(phase(rng)));
  while (!session->closed()) {
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (session->closed()) break;
    capnp::MallocMessageBuilder m;
    m.initRoot<proto::NodeMessage>().initHeartbeat().setUptimeSeconds(1000);
    (void)session->Send(m);
    timer.expires_after(std::chrono::milliseconds(heartbeat_ms_));
  }
}

}  // namespace shoal::sim
