#include "node/agent/agent_identity.h"

#include <capnp/message.h>

#include "core/net/certs.h"
#include "core/net/framed_session.h"
#include "core/net/tls_context.h"
#include "proto/control.capnp.h"

namespace shoal::node {
namespace asio = boost::asio;

Result<NodeCredentials> LoadCredentials(const std::filesystem::path& dir) {
  auto ca = net::ReadTextFile(dir / "ca.crt");
  auto crt = net::ReadTextFile(dir / "node.crt");
  auto key = net::ReadTextFile(dir / "node.key");
  for (auto* r : {&ca, &crt, &key}) {
    if (!*r) return r->error();
  }
  return NodeCredentials{*ca, *crt, *key};
}

asio::awaitable<Result<NodeCredentials>> JoinPlanner(asio::any_io_executor executor,
                                                     std::string host, uint16_t port,
                                                     std::string token, std::string name,
                                                     std::filesystem::path dir,
                                                     JoinFailure* failure) {
  JoinFailure ignored;
  JoinFailure& why = failure ? *failure : ignored;
  why = JoinFailure::kRefused;  // until a step that may pass on a retry fails
  auto last_dot = token.rfind('.');
  if (last_dot == std::string::npos || token.size() - last_dot - 1 != 64) {
    co_return Error{"malformed join token (want <id>.<secret>.<ca-sha256>)"};
  }
  std::string fingerprint = token.substr(last_dot + 1);
  auto key = net::GenerateKey();
  if (!key) co_return key.error();
  auto csr = net::MakeCsr(key->get(), name);
  if (!csr) co_return csr.error();
  auto ctx = net::TlsContext::Join();
  if (!ctx) co_return ctx.error();
  why = JoinFailure::kRetry;
  auto stream = co_await net::ConnectTls(executor, host, port, **ctx);
  if (!stream) co_return stream.error();
  auto ca = net::VerifyPinnedChain((*stream)->ssl(), fingerprint);
  if (!ca) {
    why = JoinFailure::kRefused;  // another CA answers at this address: the token cannot work
    co_return ca.error();
  }
  auto session = std::make_shared<net::FramedSession>(std::move(*stream), 1u << 20);
  capnp::MallocMessageBuilder request;
  auto join = request.initRoot<proto::NodeMessage>().initJoin();
  join.setToken(token);
  join.setName(name);
  join.setCsrPem(*csr);
  if (auto s = session->Send(request); !s) co_return s.error();
  auto reply = co_await session->Receive();
  session->Close();
  if (!reply) co_return Error{"join: " + reply.error().message};
  bool is_failure = false;
  auto creds = ReadSafely([&]() -> Result<NodeCredentials> {
    auto m = (*reply)->Root<proto::PlannerMessage>();
    is_failure = m.isFailure();
    if (m.isFailure()) return Error{"join refused: " + std::string(m.getFailure().getMessage())};
    if (!m.isJoined()) return Error{"join: unexpected reply"};
    return NodeCredentials{m.getJoined().getCaPem(), m.getJoined().getCertPem(), ""};
  });
  if (!creds) co_return creds.error();
  if (!*creds) {
    // The planner read the token and said no: the same token will never be accepted.
    if (is_failure) why = JoinFailure::kRefused;
    co_return creds->error();
  }
  NodeCredentials out = std::move(creds->value());
  // The CA we were given must be the one we pinned, and the certificate must be for our key.
  auto given_ca = net::CertFromPem(out.ca_pem);
  auto cert = net::CertFromPem(out.cert_pem);
  if (!given_ca || !cert || net::Fingerprint(given_ca->get()) != fingerprint ||
      X509_check_private_key(cert->get(), key->get()) != 1) {
    co_return Error{"join: the planner's reply does not match the pinned CA or our key"};
  }
  out.key_pem = net::KeyToPem(key->get());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) co_return Error::of(dir.string(), ec.message());
  for (auto [file, text] : {std::pair{"node.key", &out.key_pem},
                            {"node.crt", &out.cert_pem},
                            {"ca.crt", &out.ca_pem}}) {
    if (auto s = net::WriteSecretFile(dir / file, *text); !s) co_return s.error();
  }
  co_return out;
}

}  // namespace shoal::node
