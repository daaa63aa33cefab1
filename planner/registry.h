// The fleet as the planner knows it: every host that ever registered, its identity (name,
// address, datacenter, rack, labels, static groups), whether it is online, its version, uptime
// and reboot count, its latest built-in stats and open problems, and the connection to it.
//
// Online means: connected and heard from within the heartbeat timeout. A reboot is detected
// when a host's boot id changes or its uptime goes down. Host records persist in LMDB; the
// live parts (connection, online) start offline after a planner restart.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/net/framed_session.h"
#include "planner/store.h"
#include "proto/control.capnp.h"

namespace shoal::planner {

struct Host {
  std::string name, address, datacenter, rack, version, boot_id;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> groups;
  int64_t first_seen_ms = 0, last_seen_ms = 0;
  uint64_t uptime_seconds = 0;
  uint32_t reboots = 0;
  // Outbox sequence: the highest the planner processed, and the highest durably stored.
  uint64_t received_seq = 0, acked_seq = 0;
  bool online = false;
  net::FramedSessionPtr session;  // set while connected
  std::vector<std::pair<std::string, double>> last_stats;
  std::map<std::string, std::string> problems;  // name -> "STATE text"
};

class Registry {
 public:
  explicit Registry(Store& store) : store_(store) {}
  // Loads every host record (all offline).
  Status Load();

  // Registers (or re-registers) the host named in `hello`, attached to `session`. A previous
  // connection of the same host is closed (the newest wins). Returns the host.
  Host& OnHello(proto::Hello::Reader hello, net::FramedSessionPtr session);
  void OnHeartbeat(Host& host, uint64_t uptime_seconds);
  // Marks the host offline if `session` is still its current connection.
  void OnDisconnect(Host& host, const net::FramedSession* session);
  // Marks hosts silent for longer than `timeout_ms` offline and closes their connections.
  void Sweep(int64_t timeout_ms);

  Host* Find(const std::string& name);
  // Resolves targets: "all" or "*", a host name, a static group, or a label "key=value".
  // Returns matching hosts (each once, in name order) or an error naming a target that
  // matched nothing.
  Result<std::vector<Host*>> Select(const std::vector<std::string>& targets);
  std::map<std::string, Host>& hosts() { return hosts_; }
  size_t online_count() const;

  // Persists the host's record (group-committed).
  void Persist(const Host& host);
  void FillInfo(const Host& host, proto::HostInfo::Builder info) const;

 private:
  Store& store_;
  std::map<std::string, Host> hosts_;
};

}  // namespace shoal::planner
