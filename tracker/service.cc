#include "tracker/service.h"

#include <variant>

#include "core/log.h"

namespace shoal::tracker {

TrackerService::TrackerService(AnnounceTiming timing, SwarmLimits limits, uint64_t seed)
    : timing_(timing), swarms_(limits, seed) {}

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
    files.emplace_back(h, swarms_.Scrape(h).value_or(ScrapeStats{}));
  }
  return {200, EncodeScrape(files)};
}

}  // namespace shoal::tracker
