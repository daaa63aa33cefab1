// shoal::net in one process over real sockets on 127.0.0.1: mutual TLS accepts the fleet's
// certificates and rejects others (no certificate: no identity; another CA: no handshake;
// revoked: no handshake), join pins the CA by fingerprint, and framed sessions reject
// oversize and malformed frames without crashing.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "core/net/certs.h"
#include "core/net/framed_session.h"
#include "core/net/tls_context.h"
#include "core/net/tls_stream.h"
#include "proto/control.capnp.h"

namespace shoal::net {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

struct Issued {
  std::string cert, key;
};

Issued Issue(CertAuthority& ca, const std::string& cn, const std::string& role, bool chain) {
  auto key = GenerateKey();
  auto cert = ca.Issue(key->get(), cn, role);
  EXPECT_TRUE(cert.ok());
  return {*cert + (chain ? CertToPem(ca.cert()) : ""), KeyToPem(key->get())};
}

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_.emplace(CertAuthority::Create("test CA").value());
    other_ca_.emplace(CertAuthority::Create("other CA").value());
    server_ = Issue(*ca_, "shoal-planner", kRolePlanner, true);
    auto ctx = TlsContext::Server(CertToPem(ca_->cert()), server_.cert, server_.key,
                                  [this](const Identity& id) { return revoked_ == id.cn; });
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    server_ctx_ = *ctx;
  }

  struct Outcome {
    bool server_ok = false, client_ok = false;
    std::string server_peer_cn, client_error;
    std::string server_receive_error;
  };

  // Accepts one connection and connects to it with `client`; then the client sends `payload`
  // raw (if any) and the server tries to receive one frame.
  Outcome Connect(const TlsContext& client, std::string payload = "") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    uint16_t port = acceptor.local_endpoint().port();
    Outcome out;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
          auto stream =
              std::make_unique<TlsStream>(std::move(s), *server_ctx_, TlsStream::Side::kServer);
          auto hs = co_await stream->Handshake();
          out.server_ok = hs.ok();
          if (!hs.ok()) co_return;
          out.server_peer_cn = IdentityOf(stream->PeerCertificate()).cn;
          auto session = std::make_shared<FramedSession>(std::move(stream), 1u << 20);
          auto frame = co_await session->Receive();
          if (frame.ok()) {
            auto read = ReadSafely([&] {
              return std::string((*frame)->Root<proto::NodeMessage>().getHello().getName());
            });
            out.server_receive_error = read.ok() ? "" : read.error().message;
          } else {
            out.server_receive_error = frame.error().message;
          }
          session->Close();
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto stream = co_await ConnectTls(io.get_executor(), "127.0.0.1", port, client);
          out.client_ok = stream.ok();
          if (!stream.ok()) {
            out.client_error = stream.error().message;
            co_return;
          }
          if (!payload.empty()) (void)co_await (*stream)->WriteAll(payload);
          // Read until the server closes (it does after one frame).
          char byte;
          (void)co_await (*stream)->ReadExact(&byte, 1);
        },
        asio::detached);
    io.run_for(std::chrono::seconds(30));
    return out;
  }

  std::string HelloFrame(const std::string& name) {
    capnp::MallocMessageBuilder m;
    m.initRoot<proto::NodeMessage>().initHello().setName(name);
    return *EncodeFrame(m);
  }

  std::optional<CertAuthority> ca_, other_ca_;
  Issued server_;
  std::shared_ptr<TlsContext> server_ctx_;
  std::string revoked_;
};

TEST_F(NetTest, MutualTlsCarriesTheNodesIdentityAndAFrame) {
  Issued node = Issue(*ca_, "node-7", kRoleNode, false);
  auto client = TlsContext::Client(CertToPem(ca_->cert()), node.cert, node.key);
  ASSERT_TRUE(client.ok());
  auto out = Connect(**client, HelloFrame("node-7"));
  EXPECT_TRUE(out.server_ok);
  EXPECT_TRUE(out.client_ok) << out.client_error;
  EXPECT_EQ(out.server_peer_cn, "node-7");
  EXPECT_EQ(out.server_receive_error, "");
}

TEST_F(NetTest, CertificateFromAnotherCaIsRejectedAtHandshake) {
  Issued evil = Issue(*other_ca_, "node-7", kRoleNode, false);
  auto client = TlsContext::Client(CertToPem(ca_->cert()), evil.cert, evil.key);
  ASSERT_TRUE(client.ok());
  auto out = Connect(**client, HelloFrame("node-7"));
  EXPECT_FALSE(out.server_ok);
  EXPECT_TRUE(out.server_peer_cn.empty());
}

TEST_F(NetTest, RevokedCertificateIsRejectedAtHandshake) {
  Issued node = Issue(*ca_, "node-9", kRoleNode, false);
  revoked_ = "node-9";
  auto client = TlsContext::Client(CertToPem(ca_->cert()), node.cert, node.key);
  auto out = Connect(**client, HelloFrame("node-9"));
  EXPECT_FALSE(out.server_ok);
}

TEST_F(NetTest, NoCertificateMeansNoIdentity) {
  auto join = TlsContext::Join();
  ASSERT_TRUE(join.ok());
  auto out = Connect(**join, HelloFrame("node-7"));
  EXPECT_TRUE(out.server_ok);         // the handshake is allowed: join needs it
  EXPECT_EQ(out.server_peer_cn, "");  // but there is no identity to act as
}

TEST_F(NetTest, ClientRefusesAServerFromAnotherCa) {
  Issued node = Issue(*ca_, "node-7", kRoleNode, false);
  auto client = TlsContext::Client(CertToPem(other_ca_->cert()), node.cert, node.key);
  auto out = Connect(**client);
  EXPECT_FALSE(out.client_ok);
}

TEST_F(NetTest, OversizeGarbageAndTruncatedFramesAreErrorsNotCrashes) {
  Issued node = Issue(*ca_, "node-7", kRoleNode, false);
  auto client = TlsContext::Client(CertToPem(ca_->cert()), node.cert, node.key);
  auto oversize = Connect(**client, std::string("\xff\xff\xff\x7f", 4) + std::string(64, 'x'));
  EXPECT_NE(oversize.server_receive_error.find("exceeds"), std::string::npos)
      << oversize.server_receive_error;
  std::string garbage(4 + 64, '\xff');
  garbage[0] = 64;
  garbage[1] = garbage[2] = garbage[3] = 0;
  auto bad = Connect(**client, garbage);
  EXPECT_FALSE(bad.server_receive_error.empty());
  auto odd = Connect(**client, std::string({'\x05', '\0', '\0', '\0'}) + "abcde");
  EXPECT_NE(odd.server_receive_error.find("whole number of words"), std::string::npos)
      << odd.server_receive_error;
}

TEST(CertsTest, PinnedJoinVerifiesTheCaFingerprint) {
  auto ca = CertAuthority::Create("ca");
  ASSERT_TRUE(ca.ok());
  auto key = GenerateKey();
  auto csr = MakeCsr(key->get(), "ignored-cn");
  ASSERT_TRUE(csr.ok());
  auto cert = ca->SignCsr(*csr, "node-1", kRoleNode);
  ASSERT_TRUE(cert.ok()) << cert.error().message;
  auto parsed = CertFromPem(*cert);
  Identity id = IdentityOf(parsed->get());
  EXPECT_EQ(id.cn, "node-1");  // the CA names the node, not the CSR
  EXPECT_EQ(id.ou, kRoleNode);
  EXPECT_EQ(Fingerprint(ca->cert()).size(), 64u);
  EXPECT_FALSE(ca->SignCsr("not a csr", "x", kRoleNode).ok());
}

}  // namespace
}  // namespace shoal::net
