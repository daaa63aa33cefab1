// Bencoded tracker responses (BEP 3, BEP 23 compact peers, BEP 7 peers6, BEP 48 scrape), built
// with libtorrent's own bencoder so that what we send is what libtorrent parses.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracker/request.h"
#include "tracker/swarm.h"

namespace shoal::tracker {

struct AnnounceTiming {
  int interval_s = 30;
  int min_interval_s = 30;
};

// `d14:failure reason<len>:<reason>e`: what a client shows its user for a refused request.
std::string EncodeFailure(std::string_view reason);

// The announce answer. With `compact`, IPv4 peers go in `peers` as 6-byte entries and IPv6
// peers in `peers6` as 18-byte entries (present only when there are any); otherwise `peers` is a
// list of dictionaries {ip, port[, peer id]}. A `warning message` is added when the tracker
// served the peer without remembering it (a cap was reached).
std::string EncodeAnnounce(const AnnounceReply& reply, const AnnounceTiming& timing, bool compact,
                           bool no_peer_id);

// The scrape answer: `files` maps each asked, tracked info-hash to complete/incomplete/downloaded.
// Untracked hashes are listed with zero counts, as opentracker does.
std::string EncodeScrape(const std::vector<std::pair<InfoHash, ScrapeStats>>& files);

}  // namespace shoal::tracker
