// The operator's side of the control plane: a blocking request/reply client for the `shoal`
// CLI and `shoal-planner revoke`, authenticated with an admin certificate.
//
// Where credentials come from: a planner directory (flag, or env SHOAL_PLANNER_DIR) holding
// ca.crt, admin.crt, admin.key and planner.ready (address=HOST:PORT, written by the planner).
// An explicit address (flag, or env SHOAL_PLANNER) overrides the ready file.
#pragma once

#include <capnp/message.h>

#include <boost/asio/io_context.hpp>
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

class ControlClient {
 public:
  // ResolveClientConfig + Connect.
  static Result<std::unique_ptr<ControlClient>> Open(const std::string& planner_dir,
                                                     const std::string& address);
  static Result<std::unique_ptr<ControlClient>> Connect(const ClientConfig& config);
  // Sends `request` (a CliRequest) and waits for one reply frame (a CliReply).
  Result<std::unique_ptr<Frame>> Call(capnp::MessageBuilder& request);

 private:
  ControlClient() = default;
  boost::asio::io_context io_;
  std::shared_ptr<TlsContext> tls_;
  FramedSessionPtr session_;
};

}  // namespace shoal::net
