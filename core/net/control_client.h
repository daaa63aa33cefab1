// The operator's side of the control plane: a blocking request/reply client for the `shoal`
// CLI and `shoal-planner revoke`, authenticated with an admin certificate.
//
// Where credentials come from: a planner directory (flag, or env SHOAL_PLANNER_DIR) holding
// ca.crt, admin.crt, admin.key and planner.ready (address=HOST:PORT, written by the planner).
// An explicit address (flag, or env SHOAL_PLANNER) overrides the ready file.
#pragma once

#include <capnp/message.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "core/framing.h"
#include "core/net/framed_session.h"
#include "core/net/tls_context.h"

namespace shoal::net {

struct ClientConfig {
  std::string address;  // HOST:PORT
  std::string ca_pem, cert_pem, key_pem;
};

Result<ClientConfig> ResolveClientConfig(std::string planner_dir, std::string address);

// How long connecting (TCP + TLS) and each call's reply may take. The planner answers every
// request at once (clients poll), so silence this long means a planner that vanished without
// closing the connection (host gone, network cut, process hung): the caller gets an error
// instead of blocking forever, and can re-attach.
inline constexpr std::chrono::milliseconds kDefaultCallTimeout{30'000};

class ControlClient {
 public:
  // ResolveClientConfig + Connect.
  static Result<std::unique_ptr<ControlClient>> Open(
      const std::string& planner_dir, const std::string& address,
      std::chrono::milliseconds timeout = kDefaultCallTimeout);
  static Result<std::unique_ptr<ControlClient>> Connect(
      const ClientConfig& config, std::chrono::milliseconds timeout = kDefaultCallTimeout);
  // Sends `request` (a CliRequest) and waits for one reply frame (a CliReply). After a timeout
  // the client is unusable (the connection's state is unknown): make a new one.
  Result<std::unique_ptr<Frame>> Call(capnp::MessageBuilder& request);

 private:
  ControlClient() = default;
  std::chrono::milliseconds timeout_ = kDefaultCallTimeout;
  std::shared_ptr<TlsContext> tls_;
  FramedSessionPtr session_;
  // Declared last, so destroyed first: a call abandoned at its timeout leaves its coroutine in
  // here, and that frame (holding the stream) must go while the TLS context still exists.
  boost::asio::io_context io_;
};

}  // namespace shoal::net
