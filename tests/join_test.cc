// planner/join over a real LMDB store: revocation is by serial, survives a restart, and a
// re-joined host's new certificate is accepted while its old one stays rejected, both by
// IsRevoked and in a real TLS handshake on 127.0.0.1.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/net/tls_context.h"
#include "core/net/tls_stream.h"
#include "planner/join.h"
#include "tests/support/process.h"

namespace shoal::planner {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

struct Joined {
  std::string cert, key;
  net::Identity id;
};

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_pem_ = net::CertToPem(ca_.cert());
    ca_key_pem_ = net::KeyToPem(ca_.key());
    Reopen();
  }

  // A planner restart: a fresh store and JoinService over the same directory.
  void Reopen() {
    io_.restart();
    io_.run();  // the store's posted commits run before it goes
    join_.reset();
    store_.reset();
    auto store = Store::Open(dir_.path() / "db", io_);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    auto ca = net::CertAuthority::Load(ca_pem_, ca_key_pem_);
    ASSERT_TRUE(ca.ok());
    join_ = std::make_unique<JoinService>(*store_, std::move(*ca));
    ASSERT_TRUE(join_->Load().ok());
  }

  std::string Token() {
    std::string token;
    join_->CreateToken(600, 1, [&](Result<std::string> t) { token = t.value(); });
    io_.restart();
    io_.run();
    return token;
  }

  Joined Join(const std::string& name) {
    auto key = net::GenerateKey();
    auto csr = net::MakeCsr(key->get(), name);
    auto cert = join_->Redeem(Token(), name, *csr);
    EXPECT_TRUE(cert.ok()) << cert.error().message;
    auto x509 = net::CertFromPem(*cert);
    return {*cert, net::KeyToPem(key->get()), net::IdentityOf(x509->get())};
  }

  void Revoke(const std::string& name) {
    bool done = false;
    join_->Revoke(name, [&] { done = true; });
    io_.restart();
    io_.run();
    ASSERT_TRUE(done);
  }

  // One mutual-TLS handshake against a server whose revocation check is join_'s.
  bool Handshake(const Joined& node) {
    auto server_cert = ca_.Issue(ca_.key(), "shoal-planner", net::kRolePlanner);
    auto server = net::TlsContext::Server(
        ca_pem_, *server_cert + ca_pem_, ca_key_pem_,
        [this](const net::Identity& id) { return join_->IsRevoked(id); });
    auto client = net::TlsContext::Client(ca_pem_, node.cert, node.key);
    EXPECT_TRUE(server.ok() && client.ok());
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    bool server_ok = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
          net::TlsStream stream(std::move(s), **server, net::TlsStream::Side::kServer);
          server_ok = (co_await stream.Handshake()).ok();
          char byte;
          if (server_ok) (void)co_await stream.ReadExact(&byte, 1);
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto stream = co_await net::ConnectTls(io.get_executor(), "127.0.0.1",
                                                 acceptor.local_endpoint().port(), **client);
          if (stream.ok()) (void)co_await (*stream)->WriteAll("x");
        },
        asio::detached);
    io.run_for(std::chrono::seconds(30));
    return server_ok;
  }

  testing::TempDir dir_;
  asio::io_context io_;
  net::CertAuthority ca_ = net::CertAuthority::Create("test CA").value();
  std::string ca_pem_, ca_key_pem_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<JoinService> join_;
};

TEST_F(JoinTest, RevokingAHostRevokesItsSerialsAndARejoinGetsAWorkingCertificate) {
  Joined first = Join("web-1");
  Joined other = Join("web-2");
  EXPECT_FALSE(join_->IsRevoked(first.id));
  EXPECT_TRUE(Handshake(first));

  Revoke("web-1");
  EXPECT_TRUE(join_->IsRevoked(first.id));
  EXPECT_FALSE(join_->IsRevoked(other.id));
  EXPECT_FALSE(Handshake(first));
  EXPECT_TRUE(Handshake(other));

  Joined second = Join("web-1");  // a new token: the name may join again
  EXPECT_NE(second.id.serial, first.id.serial);
  EXPECT_FALSE(join_->IsRevoked(second.id));
  EXPECT_TRUE(Handshake(second));
  EXPECT_FALSE(Handshake(first));

  Reopen();  // everything above is durable
  EXPECT_TRUE(join_->IsRevoked(first.id));
  EXPECT_FALSE(join_->IsRevoked(second.id));
  EXPECT_FALSE(join_->IsRevoked(other.id));

  Revoke("web-1");  // again: now the second certificate too
  EXPECT_TRUE(join_->IsRevoked(second.id));
  EXPECT_FALSE(Handshake(second));
}

TEST_F(JoinTest, CertificatesNoJoinIssuedAreFencedByName) {
  // Minted with the CA key directly (as shoal-sim does): the planner never saw the serial.
  auto key = net::GenerateKey();
  auto pem = ca_.Issue(key->get(), "sim-1", net::kRoleNode);
  net::Identity minted = net::IdentityOf(net::CertFromPem(*pem)->get());
  EXPECT_FALSE(join_->IsRevoked(minted));
  Revoke("sim-1");
  EXPECT_TRUE(join_->IsRevoked(minted));
  Joined rejoined = Join("sim-1");
  EXPECT_FALSE(join_->IsRevoked(rejoined.id));
  Reopen();
  EXPECT_TRUE(join_->IsRevoked(minted));
  EXPECT_FALSE(join_->IsRevoked(rejoined.id));
  // Another role with the same name is not fenced, and one serial can be revoked alone.
  net::Identity admin{"sim-1", net::kRoleAdmin, "ABCDEF"};
  EXPECT_FALSE(join_->IsRevoked(admin));
  bool done = false;
  join_->RevokeSerial("ABCDEF", [&] { done = true; });
  io_.restart();
  io_.run();
  EXPECT_TRUE(done);
  EXPECT_TRUE(join_->IsRevoked(admin));
}

}  // namespace
}  // namespace shoal::planner
