#include "tracker/response.h"

#include <iterator>
#include <libtorrent/bencode.hpp>
#include <libtorrent/entry.hpp>

namespace shoal::tracker {
namespace {

std::string Bencode(const lt::entry& e) {
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  return out;
}

void AppendPort(std::string& out, uint16_t port) {
  out.push_back(static_cast<char>(port >> 8));
  out.push_back(static_cast<char>(port & 0xff));
}

}  // namespace

std::string EncodeFailure(std::string_view reason) {
  lt::entry e(lt::entry::dictionary_t);
  e["failure reason"] = std::string(reason);
  return Bencode(e);
}

std::string EncodeAnnounce(const AnnounceReply& reply, const AnnounceTiming& timing, bool compact,
                           bool no_peer_id) {
  lt::entry e(lt::entry::dictionary_t);
  e["interval"] = timing.interval_s;
  e["min interval"] = timing.min_interval_s;
  e["complete"] = reply.complete;
  e["incomplete"] = reply.incomplete;
  if (!reply.stored) e["warning message"] = "tracker full: this peer is not being tracked";
  if (compact) {
    std::string v4, v6;
    for (const auto& p : reply.peers) {
      if (p.ip.is_v4()) {
        auto b = p.ip.to_v4().to_bytes();
        v4.append(reinterpret_cast<const char*>(b.data()), b.size());
        AppendPort(v4, p.port);
      } else {
        auto b = p.ip.to_v6().to_bytes();
        v6.append(reinterpret_cast<const char*>(b.data()), b.size());
        AppendPort(v6, p.port);
      }
    }
    e["peers"] = std::move(v4);
    if (!v6.empty()) e["peers6"] = std::move(v6);
  } else {
    lt::entry::list_type list;
    for (const auto& p : reply.peers) {
      lt::entry peer(lt::entry::dictionary_t);
      peer["ip"] = p.ip.to_string();
      peer["port"] = p.port;
      if (!no_peer_id) peer["peer id"] = std::string(p.peer_id.view());
      list.push_back(std::move(peer));
    }
    e["peers"] = std::move(list);
  }
  return Bencode(e);
}

std::string EncodeScrape(const std::vector<std::pair<InfoHash, ScrapeStats>>& files) {
  lt::entry e(lt::entry::dictionary_t);
  lt::entry& dict = e["files"];
  dict = lt::entry(lt::entry::dictionary_t);
  for (const auto& [hash, stats] : files) {
    lt::entry& f = dict[std::string(hash.view())];
    f["complete"] = stats.complete;
    f["incomplete"] = stats.incomplete;
    f["downloaded"] = stats.downloaded;
  }
  return Bencode(e);
}

}  // namespace shoal::tracker
