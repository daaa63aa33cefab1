#include "core/net/control_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdlib>
#include <optional>

#include "core/ready_file.h"

namespace shoal::net {
namespace asio = boost::asio;

namespace {
// Runs `work` on `io` until it completes or `timeout` passes (a blocking call for a
// command-line tool). On a timeout the work is left suspended in `io`: its owner discards it.
template <typename T>
Result<T> RunToCompletion(asio::io_context& io, asio::awaitable<Result<T>> work,
                          std::chrono::milliseconds timeout, const char* what) {
  auto out = std::make_shared<std::optional<Result<T>>>();
  asio::co_spawn(
      io,
      [out, work = std::move(work)]() mutable -> asio::awaitable<void> {
        out->emplace(co_await std::move(work));
      },
      asio::detached);
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!*out && !io.stopped() && std::chrono::steady_clock::now() < deadline) {
    io.run_until(deadline);
  }
  if (*out) return std::move(**out);
  if (io.stopped() && std::chrono::steady_clock::now() < deadline) return Error{"interrupted"};
  io.stop();
  const auto ms = timeout.count();
  return Error{"no answer from the planner within " +
               (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
               " (" + what + ")"};
}
}  // namespace

Result<ClientConfig> ResolveClientConfig(std::string planner_dir, std::string address) {
  if (planner_dir.empty()) {
    if (const char* env = std::getenv("SHOAL_PLANNER_DIR")) planner_dir = env;
  }
  if (address.empty()) {
    if (const char* env = std::getenv("SHOAL_PLANNER")) address = env;
  }
  if (planner_dir.empty()) {
    return Error{"no planner directory: pass --planner-dir or set SHOAL_PLANNER_DIR"};
  }
  std::filesystem::path dir(planner_dir);
  ClientConfig config;
  auto ca = ReadTextFile(dir / "ca.crt");
  auto crt = ReadTextFile(dir / "admin.crt");
  auto key = ReadTextFile(dir / "admin.key");
  for (auto* r : {&ca, &crt, &key}) {
    if (!*r) return r->error();
  }
  config.ca_pem = *ca;
  config.cert_pem = *crt;
  config.key_pem = *key;
  if (address.empty()) {
    auto ready = ReadReadyFile(dir / "planner.ready");
    if (!ready || !ready->contains("address")) {
      return Error{"planner address unknown: is it running? (or pass --planner HOST:PORT)"};
    }
    address = ready->at("address");
  }
  config.address = address;
  return config;
}

Result<std::unique_ptr<ControlClient>> ControlClient::Open(const std::string& planner_dir,
                                                           const std::string& address,
                                                           std::chrono::milliseconds timeout) {
  auto config = ResolveClientConfig(planner_dir, address);
  if (!config) return config.error();
  return Connect(*config, timeout);
}

Result<std::unique_ptr<ControlClient>> ControlClient::Connect(const ClientConfig& config,
                                                              std::chrono::milliseconds timeout) {
  auto hp = ParseHostPort(config.address);
  if (!hp) return hp.error();
  std::unique_ptr<ControlClient> c(new ControlClient());
  c->timeout_ = timeout;
  auto tls = TlsContext::Client(config.ca_pem, config.cert_pem, config.key_pem);
  if (!tls) return tls.error();
  c->tls_ = std::move(*tls);
  auto stream =
      RunToCompletion(c->io_, ConnectTls(c->io_.get_executor(), hp->first, hp->second, *c->tls_),
                      timeout, "connecting");
  if (!stream) return stream.error();
  if (auto s = RequirePeerRole(**stream, kRolePlanner); !s) return s.error();
  c->session_ = std::make_shared<FramedSession>(std::move(*stream), 1u << 30);
  return c;
}

Result<std::unique_ptr<Frame>> ControlClient::Call(capnp::MessageBuilder& request) {
  if (auto s = session_->Send(request); !s) return s.error();
  return RunToCompletion(io_, session_->Receive(), timeout_, "waiting for its reply");
}

}  // namespace shoal::net
