#include "tracker/service.h"

#include <variant>

#include "core/log.h"

namespace shoal::tracker {

TrackerService::TrackerService(AnnounceTiming timing, SwarmLimits limits, uint64_t seed,
                               Registry registry)
    : timing_(timing), swarms_(limits, seed), registry_(std::move(registry)) {}

HttpAnswer TrackerService::HandleRegister(std::string_view authorization, std::string_view body,
                                          const boost::asio::ip::address& source) {
  if (registry_.open()) return {404, EncodeFailure("this tracker is open: nothing to register")};
  auto added = registry_.Register(authorization, body);
  if (!added) {
    SHOAL_LOG(Warn) << "registration from " << source << " refused: " << added.error().message;
    bool auth = added.error().message.find("key") != std::string::npos;
    return {auth ? 403 : 400, EncodeFailure(added.error().message)};
  }
  if (*added > 0) {
    SHOAL_LOG(Info) << "registered " << *added << " torrent(s) from " << source << " ("
                    << registry_.size() << " in all)";
  }
  return {200, "d10:registeredi" + std::to_string(*added) + "e5:totali" +
                   std::to_string(registry_.size()) + "ee"};
}

HttpAnswer TrackerService::Handle(bool method_is_get, std::string_view target,
                                  const boost::asio::ip::address& source, Clock::time_point now) {
  if (!method_is_get) return {405, EncodeFailure("only GET is supported")};
  auto parsed = ParseTarget(target);
  if (!parsed.ok()) {
    SHOAL_LOG(Debug) << "refused request from " << source << ": " << parsed.error().message;
    return {200, EncodeFailure(parsed.error().message)};
  }
  if (std::holds_alternative<UnknownPath>(*parsed)) {
    return {404, EncodeFailure("unknown path (use /announce or /scrape)")};
  }
  if (auto* announce = std::get_if<AnnounceRequest>(&*parsed)) {
    if (!registry_.Tracks(announce->info_hash)) {
      SHOAL_LOG(Debug) << "announce from " << source << " for an unregistered torrent";
      return {200, EncodeFailure("unregistered torrent: this tracker tracks only the torrents "
                                 "its seeder registered")};
    }
    auto reply = swarms_.Announce(*announce, source, now);
    if (!reply.ok()) {
      SHOAL_LOG(Warn) << "announce from " << source << " refused: " << reply.error().message;
      return {200, EncodeFailure(reply.error().message)};
    }
    SHOAL_LOG(Debug) << "announce from " << source << ":" << announce->port
                     << " left=" << announce->left << " dc=" << announce->dc
                     << " rack=" << announce->rack << " -> " << reply->peers.size() << " peers";
    return {200, EncodeAnnounce(*reply, timing_, announce->compact, announce->no_peer_id)};
  }
  const auto& scrape = std::get<ScrapeRequest>(*parsed);
  if (scrape.info_hashes.empty()) {
    return {200, EncodeFailure("scrape needs at least one info_hash (full scrape is disabled)")};
  }
  std::vector<std::pair<InfoHash, ScrapeStats>> files;
  files.reserve(scrape.info_hashes.size());
  for (const auto& h : scrape.info_hashes) {
    // Unregistered torrents have no swarm here: they scrape as empty.
    files.emplace_back(
        h, registry_.Tracks(h) ? swarms_.Scrape(h).value_or(ScrapeStats{}) : ScrapeStats{});
  }
  return {200, EncodeScrape(files)};
}

}  // namespace shoal::tracker
