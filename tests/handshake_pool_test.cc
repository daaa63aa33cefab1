// core/net/handshake_pool with the planner's revocation list (planner/join over a real LMDB
// store), real TLS and real sockets on 127.0.0.1: hundreds of clients connecting at once are
// handshaken on the pool's threads and every connection arrives on the owner's thread, where
// it carries data (the descriptor moved between reactors; the SSL state with it); the second
// round resumes; and a revoked certificate is refused through the pool's threads on both a
// resumed and a full handshake, while a certificate of another host still resumes.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "core/net/handshake_pool.h"
#include "core/net/tls_context.h"
#include "core/net/tls_stream.h"
#include "planner/join.h"
#include "tests/support/process.h"

namespace shoal::planner {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

struct Node {
  std::shared_ptr<net::TlsContext> tls;
  net::Identity id;
};

struct Outcome {
  int ok = 0, resumed = 0;
};

class HandshakePoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_pem_ = net::CertToPem(ca_.cert());
    auto store = Store::Open(dir_.path() / "db", store_io_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    join_ = std::make_unique<JoinService>(
        *store_, net::CertAuthority::Load(ca_pem_, net::KeyToPem(ca_.key())).value());
    ASSERT_TRUE(join_->Load().ok());
    auto server_cert = ca_.Issue(ca_.key(), "shoal-planner", net::kRolePlanner);
    server_ = net::TlsContext::Server(ca_pem_, *server_cert + ca_pem_, net::KeyToPem(ca_.key()),
                                      [this](const net::Identity& id) {
                                        return join_->IsRevoked(id);  // on the pool's threads
                                      })
                  .value();
    acceptor_.emplace(owner_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    owner_thread_ = std::this_thread::get_id();
    net::HandshakePool::Options options;
    options.threads = 3;  // more than this machine's cores: the hand-offs interleave
    options.max_handshakes = 8;
    pool_ = std::make_unique<net::HandshakePool>(
        *server_, owner_.get_executor(), options, [this](std::unique_ptr<net::TlsStream> s) {
          if (std::this_thread::get_id() != owner_thread_) ++off_thread_;
          ++established_;
          if (s->resumed()) ++server_resumed_;
          asio::co_spawn(owner_, Echo(std::move(s)), asio::detached);
        });
    asio::co_spawn(owner_, AcceptLoop(), asio::detached);
  }

  void TearDown() override {
    pool_->Stop();
    acceptor_->close();
    owner_.poll();
  }

  asio::awaitable<void> AcceptLoop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s =
          co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      pool_->Submit(std::move(s));
    }
  }

  // On the owner's thread: the moved connection carries a byte each way.
  static asio::awaitable<void> Echo(std::unique_ptr<net::TlsStream> s) {
    if (!(co_await s->WriteAll("x")).ok()) co_return;
    char byte;
    (void)co_await s->ReadExact(&byte, 1);
    s->Close();
  }

  // A node certificate issued by a join (so revocation is by its serial).
  Node Join(const std::string& name) {
    std::string token;
    join_->CreateToken(600, 1, [&](Result<std::string> t) { token = t.value(); });
    RunStore();
    auto key = net::GenerateKey();
    auto cert = join_->Redeem(token, name, *net::MakeCsr(key->get(), name));
    EXPECT_TRUE(cert.ok()) << cert.error().message;
    return {net::TlsContext::Client(ca_pem_, *cert, net::KeyToPem(key->get())).value(),
            net::IdentityOf(net::CertFromPem(*cert)->get())};
  }

  void RunStore() {
    store_io_.restart();
    store_io_.run();
  }

  // `slots.size()` clients of `node` connect at once (client i offers slots[i]'s ticket), each
  // reading the server's byte (its new ticket comes with it) and answering one. The clients
  // run on their own thread; the owner's io_context runs here until all have finished.
  Outcome Connect(const Node& node, std::vector<std::unique_ptr<net::SessionSlot>>& slots) {
    asio::io_context clients;
    std::atomic<int> finished = 0, ok = 0, resumed = 0;
    uint16_t port = acceptor_->local_endpoint().port();
    for (auto& slot : slots) {
      asio::co_spawn(
          clients,
          [&, slot = slot.get()]() -> asio::awaitable<void> {
            auto s = co_await net::ConnectTls(clients.get_executor(), "127.0.0.1", port,
                                              *node.tls, slot);
            char byte;
            if (s.ok() && (co_await (*s)->ReadExact(&byte, 1)).ok() &&
                (co_await (*s)->WriteAll("y")).ok()) {
              ++ok;
              if ((*s)->resumed()) ++resumed;
            }
            ++finished;
          },
          asio::detached);
    }
    std::thread t([&] { clients.run(); });
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (finished < static_cast<int>(slots.size()) && std::chrono::steady_clock::now() < until) {
      owner_.run_for(std::chrono::milliseconds(10));
    }
    t.join();
    owner_.poll();
    return {ok.load(), resumed.load()};
  }

  static std::vector<std::unique_ptr<net::SessionSlot>> Slots(size_t n) {
    std::vector<std::unique_ptr<net::SessionSlot>> v;
    for (size_t i = 0; i < n; ++i) v.push_back(std::make_unique<net::SessionSlot>());
    return v;
  }

  testing::TempDir dir_;
  asio::io_context store_io_;
  std::unique_ptr<Store> store_;
  net::CertAuthority ca_ = net::CertAuthority::Create("test CA").value();
  std::string ca_pem_;
  std::unique_ptr<JoinService> join_;
  std::shared_ptr<net::TlsContext> server_;
  asio::io_context owner_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_{owner_.get_executor()};
  std::optional<tcp::acceptor> acceptor_;
  std::thread::id owner_thread_;
  std::unique_ptr<net::HandshakePool> pool_;
  int established_ = 0, server_resumed_ = 0, off_thread_ = 0;
};

TEST_F(HandshakePoolTest, ManyConcurrentConnectionsArriveOnTheOwnersThreadAndResume) {
  constexpr int kClients = 300;
  Node node = Join("web-1");
  auto slots = Slots(kClients);
  Outcome first = Connect(node, slots);
  EXPECT_EQ(first.ok, kClients);
  EXPECT_EQ(first.resumed, 0);
  Outcome second = Connect(node, slots);  // every client offers the ticket it just got
  EXPECT_EQ(second.ok, kClients);
  EXPECT_EQ(second.resumed, kClients);
  EXPECT_EQ(established_, 2 * kClients);
  EXPECT_EQ(server_resumed_, kClients);
  EXPECT_EQ(off_thread_, 0) << "an established connection reached the owner off its thread";
  EXPECT_EQ(pool_->pending(), 0u);
}

TEST_F(HandshakePoolTest, RevokedCertificateIsRefusedOnResumedAndFullHandshakes) {
  Node revoked = Join("web-1"), other = Join("web-2");
  auto revoked_slots = Slots(4), other_slots = Slots(4);
  ASSERT_EQ(Connect(revoked, revoked_slots).ok, 4);  // full handshakes; tickets kept
  ASSERT_EQ(Connect(other, other_slots).ok, 4);
  Outcome resumed = Connect(revoked, revoked_slots);
  ASSERT_EQ(resumed.resumed, 4);  // the tickets work before the revocation

  bool durable = false;
  join_->Revoke("web-1", [&] { durable = true; });
  RunStore();
  ASSERT_TRUE(durable);
  int before = established_;
  for (auto& slot : revoked_slots) ASSERT_NE(slot->get(), nullptr);  // tickets still offered
  Outcome with_ticket = Connect(revoked, revoked_slots);
  EXPECT_EQ(with_ticket.ok, 0);
  EXPECT_EQ(with_ticket.resumed, 0);
  auto fresh = Slots(4);
  Outcome full = Connect(revoked, fresh);  // no ticket: a full handshake
  EXPECT_EQ(full.ok, 0);
  EXPECT_EQ(established_, before) << "a revoked certificate reached the planner's thread";

  Outcome still = Connect(other, other_slots);
  EXPECT_EQ(still.ok, 4);
  EXPECT_EQ(still.resumed, 4);
}

}  // namespace
}  // namespace shoal::planner
