#include "planner/registry.h"

#include <capnp/message.h>

#include <algorithm>
#include <set>

#include "core/log.h"

namespace shoal::planner {

Status Registry::Load() {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  txn->Scan(store_.dbs().hosts, "", [&](std::string_view key, std::string_view value) {
    auto frame = FromBytes(value);
    if (!frame) {
      SHOAL_LOG(Warn) << "skipping unreadable host record " << key;
      return true;
    }
    auto read = ReadSafely([&] {
      auto info = (*frame)->Root<proto::HostRecord>().getInfo();
      Host h;
      h.name = info.getName();
      h.address = info.getAddress();
      h.datacenter = info.getDatacenter();
      h.rack = info.getRack();
      h.version = info.getVersion();
      h.boot_id = info.getBootId();
      for (auto kv : info.getLabels()) h.labels.emplace_back(kv.getKey(), kv.getValue());
      for (auto g : info.getGroups()) h.groups.emplace_back(g);
      h.first_seen_ms = info.getFirstSeenMs();
      h.last_seen_ms = info.getLastSeenMs();
      h.uptime_seconds = info.getUptimeSeconds();
      h.reboots = info.getReboots();
      return h;
    });
    if (read) hosts_[read->name] = std::move(*read);
    return true;
  });
  txn->Scan(store_.dbs().acked, "", [&](std::string_view key, std::string_view value) {
    auto it = hosts_.find(std::string(key));
    if (it != hosts_.end() && value.size() == 8) {
      it->second.acked_seq = it->second.received_seq = lmdb::DecodeU64Key(value);
    }
    return true;
  });
  return Status::Ok();
}

Host& Registry::OnHello(proto::Hello::Reader hello, net::FramedSessionPtr session) {
  std::string name = hello.getName();
  auto [it, inserted] = hosts_.try_emplace(name);
  Host& h = it->second;
  int64_t now = NowMs();
  if (inserted) {
    h.name = name;
    h.first_seen_ms = now;
  }
  std::string boot_id = hello.getBootId();
  uint64_t uptime = hello.getUptimeSeconds();
  if (!inserted && ((!h.boot_id.empty() && boot_id != h.boot_id) || uptime < h.uptime_seconds)) {
    ++h.reboots;
    SHOAL_LOG(Info) << "host " << name << " rebooted (uptime " << h.uptime_seconds << "s -> "
                    << uptime << "s)";
  }
  h.boot_id = boot_id;
  h.uptime_seconds = uptime;
  h.address = hello.getAddress();
  h.datacenter = hello.getDatacenter();
  h.rack = hello.getRack();
  h.version = hello.getVersion();
  h.labels.clear();
  for (auto kv : hello.getLabels()) h.labels.emplace_back(kv.getKey(), kv.getValue());
  h.groups.clear();
  for (auto g : hello.getGroups()) h.groups.emplace_back(g);
  h.last_seen_ms = now;
  if (h.session && h.session != session) h.session->Close();
  h.session = std::move(session);
  h.online = true;
  Persist(h);
  return h;
}

void Registry::OnHeartbeat(Host& h, uint64_t uptime_seconds) {
  if (uptime_seconds + 1 < h.uptime_seconds) ++h.reboots;  // cannot happen on one connection
  h.uptime_seconds = uptime_seconds;
  h.last_seen_ms = NowMs();
  h.online = true;
}

void Registry::OnDisconnect(Host& h, const net::FramedSession* session) {
  if (h.session.get() != session) return;
  h.session.reset();
  h.online = false;
  Persist(h);
}

void Registry::Sweep(int64_t timeout_ms) {
  int64_t now = NowMs();
  for (auto& [name, h] : hosts_) {
    if (h.online && now - h.last_seen_ms > timeout_ms) {
      SHOAL_LOG(Info) << "host " << name << " missed its heartbeats: offline";
      h.online = false;
      if (h.session) h.session->Close();
    }
  }
}

Host* Registry::Find(const std::string& name) {
  auto it = hosts_.find(name);
  return it == hosts_.end() ? nullptr : &it->second;
}

size_t Registry::online_count() const {
  return std::count_if(hosts_.begin(), hosts_.end(), [](auto& p) { return p.second.online; });
}

Result<std::vector<Host*>> Registry::Select(const std::vector<std::string>& targets) {
  std::set<std::string> names;
  for (const auto& t : targets) {
    size_t before = names.size();
    bool matched = false;
    auto eq = t.find('=');
    for (auto& [name, h] : hosts_) {
      bool hit = false;
      if (t == "all" || t == "*") {
        hit = true;
      } else if (eq != std::string::npos) {
        std::string k = t.substr(0, eq), v = t.substr(eq + 1);
        hit = std::find(h.labels.begin(), h.labels.end(), std::pair{k, v}) != h.labels.end() ||
              (k == "dc" && h.datacenter == v) || (k == "rack" && h.rack == v);
      } else {
        hit = name == t || std::find(h.groups.begin(), h.groups.end(), t) != h.groups.end();
      }
      if (hit) {
        names.insert(name);
        matched = true;
      }
    }
    (void)before;
    if (!matched) return Error::of(t, "matches no host, group or label");
  }
  std::vector<Host*> out;
  for (const auto& n : names) out.push_back(&hosts_[n]);
  return out;
}

void Registry::FillInfo(const Host& h, proto::HostInfo::Builder info) const {
  info.setName(h.name);
  info.setAddress(h.address);
  info.setDatacenter(h.datacenter);
  info.setRack(h.rack);
  info.setVersion(h.version);
  info.setBootId(h.boot_id);
  auto labels = info.initLabels(h.labels.size());
  for (size_t i = 0; i < h.labels.size(); ++i) {
    labels[i].setKey(h.labels[i].first);
    labels[i].setValue(h.labels[i].second);
  }
  auto groups = info.initGroups(h.groups.size());
  for (size_t i = 0; i < h.groups.size(); ++i) groups.set(i, h.groups[i]);
  info.setOnline(h.online);
  info.setFirstSeenMs(h.first_seen_ms);
  info.setLastSeenMs(h.last_seen_ms);
  info.setUptimeSeconds(h.uptime_seconds);
  info.setReboots(h.reboots);
  info.setAckedSeq(h.acked_seq);
}

void Registry::Persist(const Host& h) {
  capnp::MallocMessageBuilder message;
  FillInfo(h, message.initRoot<proto::HostRecord>().initInfo());
  message.getRoot<proto::HostRecord>().getInfo().setOnline(false);
  std::string bytes = FlatMessageBytes(message);
  store_.Write([this, name = h.name, bytes = std::move(bytes)](lmdb::Txn& txn) {
    return txn.Put(store_.dbs().hosts, name, bytes);
  });
}

}  // namespace shoal::planner
