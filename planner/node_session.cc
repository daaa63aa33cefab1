// A node's connections: the one-shot join exchange (no client certificate), and the long-lived
// session of a node with its certificate (Hello, then heartbeats, outbox messages and stats).
// Any protocol violation drops the connection with a logged reason.
#include <capnp/message.h>

#include "core/log.h"
#include "planner/planner.h"

namespace shoal::planner {
namespace asio = boost::asio;

namespace {
void SendFailure(net::FramedSession& session, const std::string& why) {
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::PlannerMessage>().initFailure().setMessage(why);
  (void)session.Send(message);
}
}  // namespace

asio::awaitable<void> Planner::ServeJoin(net::FramedSessionPtr session) {
  std::string peer = session->stream().RemoteAddress();
  auto deadline = Deadline(session, options_.handshake_timeout_ms);
  auto frame = co_await session->Receive();
  deadline->cancel();
  if (!frame) {
    SHOAL_LOG(Warn) << "dropping unauthenticated " << peer << ": " << frame.error().message;
    co_return;
  }
  struct JoinFields {
    bool is_join = false;
    std::string token, name, csr;
  };
  auto fields = ReadSafely([&] {
    auto m = (*frame)->Root<proto::NodeMessage>();
    JoinFields f;
    if (m.isJoin()) {
      f.is_join = true;
      f.token = m.getJoin().getToken();
      f.name = m.getJoin().getName();
      f.csr = m.getJoin().getCsrPem();
    }
    return f;
  });
  if (!fields || !fields->is_join) {
    SHOAL_LOG(Warn) << "dropping unauthenticated " << peer << ": "
                    << (fields ? "sent a message other than join" : fields.error().message);
    SendFailure(*session, "authenticate with a certificate, or join with a token");
    co_return;
  }
  auto cert = join_.Redeem(fields->token, fields->name, fields->csr);
  if (!cert) {
    SHOAL_LOG(Warn) << "join of '" << fields->name << "' from " << peer
                    << " refused: " << cert.error().message;
    SendFailure(*session, cert.error().message);
  } else {
    audit_.Record(fields->name, "join", "from " + peer);
    capnp::MallocMessageBuilder message;
    auto joined = message.initRoot<proto::PlannerMessage>().initJoined();
    joined.setCertPem(*cert);
    joined.setCaPem(join_.ca_pem());
    (void)session->Send(message);
  }
  // Let the reply drain; the node closes the connection when it has read it.
  auto bye = Deadline(session, 5000);
  (void)co_await session->Receive();
  bye->cancel();
}

asio::awaitable<void> Planner::ServeNode(net::FramedSessionPtr session, net::Identity id) {
  std::string peer = session->stream().RemoteAddress();
  auto deadline = Deadline(session, options_.handshake_timeout_ms);
  auto frame = co_await session->Receive();
  deadline->cancel();
  if (!frame) {
    SHOAL_LOG(Warn) << "dropping node " << id.cn << " (" << peer << "): " << frame.error().message;
    co_return;
  }
  Host* host = nullptr;
  auto hello = ReadSafely([&]() -> std::string {
    auto m = (*frame)->Root<proto::NodeMessage>();
    if (!m.isHello()) return "first message is not hello";
    if (std::string(m.getHello().getName()) != id.cn) return "hello names another host";
    host = &registry_.OnHello(m.getHello(), session);
    return "";
  });
  if (!hello || !hello->empty()) {
    std::string why = hello ? *hello : hello.error().message;
    SHOAL_LOG(Warn) << "dropping node " << id.cn << " (" << peer << "): " << why;
    SendFailure(*session, why);
    co_return;
  }
  {
    capnp::MallocMessageBuilder message;
    auto w = message.initRoot<proto::PlannerMessage>().initWelcome();
    w.setHeartbeatIntervalMs(options_.heartbeat_ms);
    w.setAckedSeq(host->acked_seq);
    w.setStatsInOutbox(true);  // this planner takes stats from the outbox (durable, acked)
    (void)session->Send(message);
  }
  SHOAL_LOG(Debug) << "node " << id.cn << " online from " << peer;
  ResendUnfinished(*host);
  job_runs_.OnOnline(host->name);
  for (;;) {
    auto next = co_await session->Receive();
    if (!next) {
      if (next.error().message != "connection closed" && !session->closed()) {
        SHOAL_LOG(Warn) << "dropping node " << id.cn << ": " << next.error().message;
      }
      break;
    }
    auto handled = ReadSafely([&]() -> std::string {
      auto m = (*next)->Root<proto::NodeMessage>();
      switch (m.which()) {
        case proto::NodeMessage::HEARTBEAT:
          registry_.OnHeartbeat(*host, m.getHeartbeat().getUptimeSeconds());
          return "";
        case proto::NodeMessage::OUTBOX:
          host->last_seen_ms = NowMs();
          HandleOutbox(*host, m.getOutbox());
          return "";
        case proto::NodeMessage::STATS:
          stats_.Record(*host, m.getStats());
          return "";
        case proto::NodeMessage::PROGRESS:
          job_runs_.OnProgress(m.getProgress().getTaskId(), m.getProgress().getDone(),
                               m.getProgress().getRate());
          return "";
        default:
          return "unexpected message";
      }
    });
    if (!handled || !handled->empty()) {
      SHOAL_LOG(Warn) << "dropping node " << id.cn << ": "
                      << (handled ? *handled : handled.error().message);
      break;
    }
  }
  session->Close();
  registry_.OnDisconnect(*host, session.get());
}

}  // namespace shoal::planner
