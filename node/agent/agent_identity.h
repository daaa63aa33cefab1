// A node's identity on the control plane: its key, its certificate (CN = node name, OU = node)
// and the fleet CA, kept in the agent's state directory as node.key, node.crt and ca.crt.
// A node without them joins once with a token (see planner/join.h): it pins the planner's CA by
// the token's fingerprint before sending anything, then stores what the planner signed.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <filesystem>
#include <string>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange

#include "core/result.h"

namespace shoal::node {

struct NodeCredentials {
  std::string ca_pem, cert_pem, key_pem;
};

// Loads the stored credentials; an error if any file is missing or unreadable.
Result<NodeCredentials> LoadCredentials(const std::filesystem::path& dir);

// Whether a failed join may succeed if tried again with the same token.
enum class JoinFailure {
  kRetry,    // network, TLS, a planner restarting: try again later
  kRefused,  // the planner said no (unknown, used-up, expired or invalid token, revoked name),
             // the token is malformed, or the planner's CA is not the one the token pins
};

// Joins the planner at host:port with `token` as `name`, stores the credentials in `dir`
// (key and certificate mode 0600) and returns them. Errors name the failing step; a refusal
// carries the planner's reason. On error, `*failure` (if given) says whether to retry.
boost::asio::awaitable<Result<NodeCredentials>> JoinPlanner(boost::asio::any_io_executor executor,
                                                            std::string host, uint16_t port,
                                                            std::string token, std::string name,
                                                            std::filesystem::path dir,
                                                            JoinFailure* failure = nullptr);

}  // namespace shoal::node
