#include "planner/stats_store.h"

#include <capnp/message.h>

#include <algorithm>

namespace shoal::planner {

void StatsStore::Record(Host& host, proto::StatsReport::Reader report) {
  std::string source = report.getSource();
  std::string state = report.getState();
  if (source == "builtin") {
    host.last_stats.clear();
    for (auto m : report.getMetrics()) host.last_stats.emplace_back(m.getName(), m.getValue());
  }
  if (state != "OK" && !state.empty()) {
    host.problems[source] = state + " " + std::string(report.getText());
  } else {
    host.problems.erase(source);
  }
  for (auto a : report.getAlerts()) {
    std::string name = a.getName();
    if (name == source) continue;
    if (std::string(a.getTo()) == "OK") {
      host.problems.erase(name);
    } else {
      host.problems[name] = std::string(a.getTo()) + " " + std::string(a.getText());
    }
  }
  capnp::MallocMessageBuilder message;
  message.setRoot(report);
  std::string ring = host.name + '\0' + source + '\0';
  uint32_t slot = next_slot_[ring]++ % kSlots;
  store_.Write([this, key = ring + lmdb::EncodeU64Key(slot), bytes = FlatMessageBytes(message)](
                   lmdb::Txn& txn) { return txn.Put(store_.dbs().stats, key, bytes); });
}

Result<std::vector<std::string>> StatsStore::Recent(const std::string& host) const {
  auto txn = store_.env().BeginRead();
  if (!txn) return txn.error();
  std::vector<std::pair<int64_t, std::string>> found;
  std::string prefix = host + '\0';
  txn->Scan(store_.dbs().stats, prefix, [&](std::string_view key, std::string_view value) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    auto frame = FromBytes(value);
    if (frame) {
      auto ms = ReadSafely([&] { return (*frame)->Root<proto::StatsReport>().getUnixMs(); });
      if (ms) found.emplace_back(*ms, std::string(value));
    }
    return true;
  });
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

}  // namespace shoal::planner
