// TLS 1.3 session resumption and the handshake gate (core/net), over real sockets on
// 127.0.0.1: a client's second connection resumes with the ticket of its first; tickets
// survive a server restart when the ticket keys are kept in a file (and only then); a revoked
// certificate's ticket is not resumed and the fallback handshake rejects it; a gate of K
// slots never runs more than K handshakes at once and every waiting connection completes.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <thread>

#include "core/net/certs.h"
#include "core/net/handshake_gate.h"
#include "core/net/tls_context.h"
#include "core/net/tls_stream.h"
#include "tests/support/process.h"

namespace shoal::net {
namespace {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_.emplace(CertAuthority::Create("test CA").value());
    ca_pem_ = CertToPem(ca_->cert());
    auto key = GenerateKey();
    server_cert_ = *ca_->Issue(key->get(), "shoal-planner", kRolePlanner) + ca_pem_;
    server_key_ = KeyToPem(key->get());
    auto node_key = GenerateKey();
    node_cert_ = *ca_->Issue(node_key->get(), "node-1", kRoleNode);
    node_key_ = KeyToPem(node_key->get());
    node_serial_ = IdentityOf(CertFromPem(node_cert_)->get()).serial;
  }

  std::shared_ptr<TlsContext> Server(ServerOptions options) {
    auto ctx = TlsContext::Server(
        ca_pem_, server_cert_, server_key_,
        [this](const Identity& id) { return id.serial == revoked_serial_; }, options);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    return *ctx;
  }

  struct Outcome {
    bool server_ok = false, client_ok = false, server_resumed = false, client_resumed = false;
    std::string server_peer_cn;
  };

  // One connection from `client` (with its default session slot) to `server`. The client reads
  // one byte the server writes after the handshake: that read is when its ticket arrives.
  Outcome Connect(const TlsContext& server, const TlsContext& client) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Outcome out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
          TlsStream stream(std::move(s), server, TlsStream::Side::kServer);
          out.server_ok = (co_await stream.Handshake()).ok();
          if (!out.server_ok) co_return;
          out.server_resumed = stream.resumed();
          if (X509* peer = stream.PeerCertificate()) out.server_peer_cn = IdentityOf(peer).cn;
          (void)co_await stream.WriteAll("x");
          char byte;
          (void)co_await stream.ReadExact(&byte, 1);  // until the client closes
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto stream = co_await ConnectTls(io.get_executor(), "127.0.0.1",
                                            acceptor.local_endpoint().port(), client);
          out.client_ok = stream.ok();
          if (!stream.ok()) co_return;
          out.client_resumed = (*stream)->resumed();
          char byte;
          (void)co_await (*stream)->ReadExact(&byte, 1);
          (*stream)->Close();
        },
        asio::detached);
    io.run_for(std::chrono::seconds(30));
    return out;
  }

  std::shared_ptr<TlsContext> Client() {
    auto ctx = TlsContext::Client(ca_pem_, node_cert_, node_key_);
    EXPECT_TRUE(ctx.ok());
    return *ctx;
  }

  testing::TempDir dir_;
  std::optional<CertAuthority> ca_;
  std::string ca_pem_, server_cert_, server_key_, node_cert_, node_key_, node_serial_;
  std::string revoked_serial_;
};

TEST_F(ResumeTest, SecondConnectionResumesWithTheFirstOnesTicket) {
  auto server = Server({});
  auto client = Client();
  auto first = Connect(*server, *client);
  EXPECT_TRUE(first.server_ok && first.client_ok);
  EXPECT_FALSE(first.server_resumed);
  ASSERT_NE(client->default_session().get(), nullptr) << "no ticket kept";
  auto second = Connect(*server, *client);
  EXPECT_TRUE(second.server_ok && second.client_ok);
  EXPECT_TRUE(second.server_resumed);
  EXPECT_TRUE(second.client_resumed);
  EXPECT_EQ(second.server_peer_cn, "node-1");  // the identity comes with the session
  auto third = Connect(*server, *client);      // with the ticket the second one brought
  EXPECT_TRUE(third.server_resumed);
}

TEST_F(ResumeTest, AResumptionRenewsTheTicketOnlyPastHalfItsLifetime) {
  ServerOptions options;
  options.ticket_lifetime = std::chrono::seconds(4);
  auto server = Server(options);
  auto client = Client();
  ASSERT_TRUE(Connect(*server, *client).client_ok);
  SSL_SESSION* first_ticket = client->default_session().get();
  ASSERT_NE(first_ticket, nullptr);
  // Young ticket: resumed, and no new ticket comes (the slot still holds the first).
  auto young = Connect(*server, *client);
  EXPECT_TRUE(young.server_resumed);
  EXPECT_EQ(client->default_session().get(), first_ticket);
  // Past half its lifetime (2 s; session times count whole seconds): resumed with a new ticket.
  std::this_thread::sleep_for(std::chrono::milliseconds(2600));
  auto old = Connect(*server, *client);
  EXPECT_TRUE(old.server_resumed);
  SSL_SESSION* renewed = client->default_session().get();
  ASSERT_NE(renewed, nullptr);
  EXPECT_NE(renewed, first_ticket);
  // The new ticket is young again: the next resumption keeps it.
  auto next = Connect(*server, *client);
  EXPECT_TRUE(next.server_resumed);
  EXPECT_EQ(client->default_session().get(), renewed);
}

TEST_F(ResumeTest, TicketsSurviveAServerRestartOnlyWithAKeyFile) {
  ServerOptions persistent;
  persistent.ticket_keys_file = dir_ / "ticket.keys";
  auto client = Client();
  EXPECT_TRUE(Connect(*Server(persistent), *client).server_ok);
  auto restarted = Connect(*Server(persistent), *client);  // a new process would read the file
  EXPECT_TRUE(restarted.server_ok);
  EXPECT_TRUE(restarted.server_resumed);
  EXPECT_EQ(fs::status(dir_ / "ticket.keys").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  auto in_memory = Connect(*Server({}), *client);  // other keys: a full handshake, not a failure
  EXPECT_TRUE(in_memory.server_ok && in_memory.client_ok);
  EXPECT_FALSE(in_memory.server_resumed);
}

TEST_F(ResumeTest, RevokedCertificatesTicketIsNotResumedAndItsHandshakeFails) {
  auto server = Server({});
  auto client = Client();
  ASSERT_TRUE(Connect(*server, *client).server_ok);
  ASSERT_NE(client->default_session().get(), nullptr);
  revoked_serial_ = node_serial_;
  auto after = Connect(*server, *client);
  EXPECT_FALSE(after.server_ok);
  EXPECT_FALSE(after.server_resumed);
}

TEST_F(ResumeTest, WithoutResumptionEveryHandshakeIsFull) {
  ServerOptions off;
  off.resumption = false;
  auto server = Server(off);
  auto client = Client();
  EXPECT_TRUE(Connect(*server, *client).server_ok);
  auto second = Connect(*server, *client);
  EXPECT_TRUE(second.server_ok);
  EXPECT_FALSE(second.server_resumed);
}

TEST_F(ResumeTest, GateRunsAtMostItsLimitOfHandshakesAndEveryWaiterCompletes) {
  ServerOptions options;
  options.max_handshakes = 3;
  auto server = Server(options);
  auto client = Client();
  constexpr int kClients = 40;
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HandshakeGate& gate = server->handshake_gate();
  size_t most_running = 0, most_waiting = 0;
  int served = 0, connected = 0;
  // The gate starts full, so the whole storm queues; then it opens.
  std::vector<HandshakeGate::Slot> held;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 3; ++i) held.push_back(co_await gate.Acquire());
        for (int i = 0; i < kClients; ++i) {
          tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
          asio::co_spawn(
              io,
              [&, s = std::move(s)]() mutable -> asio::awaitable<void> {
                auto slot = co_await gate.Acquire();
                most_running = std::max(most_running, gate.running());
                TlsStream stream(std::move(s), *server, TlsStream::Side::kServer);
                bool ok = (co_await stream.Handshake()).ok();
                slot.Reset();
                if (ok) ++served;
              },
              asio::detached);
        }
      },
      asio::detached);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer poll(io);
        while (gate.waiting() < static_cast<size_t>(kClients)) {
          poll.expires_after(std::chrono::milliseconds(5));
          co_await poll.async_wait(asio::use_awaitable);
        }
        most_waiting = gate.waiting();
        held.clear();
      },
      asio::detached);
  std::vector<std::unique_ptr<SessionSlot>> slots;  // one identity each: full handshakes
  for (int i = 0; i < kClients; ++i) {
    slots.push_back(std::make_unique<SessionSlot>());
    asio::co_spawn(
        io,
        [&, slot = slots.back().get()]() -> asio::awaitable<void> {
          auto stream = co_await ConnectTls(io.get_executor(), "127.0.0.1",
                                            acceptor.local_endpoint().port(), *client, slot);
          if (stream.ok()) ++connected;
        },
        asio::detached);
  }
  io.run_for(std::chrono::seconds(60));
  EXPECT_EQ(most_waiting, static_cast<size_t>(kClients));
  EXPECT_EQ(served, kClients);
  EXPECT_EQ(connected, kClients);
  EXPECT_LE(most_running, 3u);
  EXPECT_EQ(gate.running(), 0u);
  EXPECT_EQ(gate.waiting(), 0u);
}

}  // namespace
}  // namespace shoal::net
