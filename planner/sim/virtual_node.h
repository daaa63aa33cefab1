// One simulated node: it connects with its own certificate (CN = its name), registers, sends
// heartbeats, and answers every task at once with one stdout chunk and an exit-0 result, sent
// as outbox envelopes and kept until acknowledged (resent after a reconnect) like a real node.
// It runs no process: the simulator measures the planner's fan-out, not fork/exec.
//
// When the connection drops (the planner died or restarted) it reconnects like a real agent:
// exponential backoff from 100 ms to 5 s with full jitter (each wait uniform in [0, backoff]),
// offering the session ticket of its last connection so the planner can resume instead of
// running a full handshake (unless SimShared::resume is off: the full-handshake baseline).
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <memory>
#include <string>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange

#include "core/net/framed_session.h"
#include "core/net/tls_context.h"

namespace shoal::sim {

struct SimShared {
  std::shared_ptr<net::TlsContext> tls;  // CA + (unused) default cert
  EVP_PKEY* key = nullptr;               // every virtual node's key (certificates differ)
  std::string host;
  uint16_t port = 0;
  bool resume = true;
  std::chrono::milliseconds backoff_min{100}, backoff_max{5000};
  std::atomic<uint64_t> welcomed{0}, tasks{0}, connects{0}, resumed{0}, failures{0};
};

class VirtualNode : public std::enable_shared_from_this<VirtualNode> {
 public:
  VirtualNode(boost::asio::io_context& io, SimShared& shared, std::string name, X509* cert,
              std::string source_address);
  ~VirtualNode();
  // Connects (retrying with jittered backoff) and serves until the process ends.
  boost::asio::awaitable<void> Run(std::chrono::milliseconds initial_delay);

 private:
  boost::asio::awaitable<bool> Session();
  boost::asio::awaitable<void> Heartbeats(net::FramedSessionPtr session);
  void SendEnvelope(uint64_t seq, const std::string& payload);

  boost::asio::io_context& io_;
  SimShared& shared_;
  std::string name_;
  X509* cert_;
  std::string source_;
  net::SessionSlot ticket_;  // the planner's latest session ticket for this node
  net::FramedSessionPtr session_;
  uint32_t heartbeat_ms_ = 5000;
  uint64_t next_seq_ = 1;
  std::deque<std::pair<uint64_t, std::string>> unacked_;
};

}  // namespace shoal::sim
