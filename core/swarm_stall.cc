#include "core/swarm_stall.h"

#include <algorithm>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_status.hpp>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/swarm_origin_bytes.h"

namespace shoal {
namespace lt = libtorrent;

std::optional<StallWatch::Clock::duration> StallWatch::Progress(Clock::time_point now) {
  std::optional<Clock::duration> reported;
  if (next_ != first_) reported = now - since_;
  since_ = now;
  next_ = first_;
  return reported;
}

std::optional<StallWatch::Clock::duration> StallWatch::Due(Clock::time_point now) {
  const Clock::duration stalled = now - since_;
  if (stalled < next_) return std::nullopt;
  while (next_ <= stalled) next_ *= 2;
  return stalled;
}

namespace {
constexpr int kMaxPeerLines = 32;

std::string Endpoint(const lt::tcp::endpoint& e) {
  std::ostringstream out;
  out << e;
  return out.str();
}

// libtorrent's state of the torrent, as a word an operator can read.
const char* StateName(lt::torrent_status::state_t state) {
  switch (state) {
    case lt::torrent_status::checking_files:
      return "checking its files";
    case lt::torrent_status::downloading_metadata:
      return "waiting for metadata";
    case lt::torrent_status::downloading:
      return "downloading";
    case lt::torrent_status::finished:
      return "finished";
    case lt::torrent_status::seeding:
      return "seeding";
    case lt::torrent_status::checking_resume_data:
      return "checking its resume data";
    default:
      return "in an unknown state";
  }
}

// "1 peer", "3 peers".
std::string Count(long n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

long Millis(lt::time_duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

// "3 from 198.18.0.5:6881, 1 from 198.18.0.9:6881": who holds the piece's blocks on request.
std::string RequestedFrom(const lt::partial_piece_info& piece) {
  std::map<std::string, int> from;
  for (int b = 0; b < piece.blocks_in_piece; ++b)
    if (piece.blocks[b].state == lt::block_info::requested)
      ++from[Endpoint(piece.blocks[b].peer())];
  std::string out;
  for (const auto& [peer, blocks] : from)
    out += (out.empty() ? "" : ", ") + std::to_string(blocks) + " from " + peer;
  return out;
}

// What both reports read of a torrent, one round trip to libtorrent's network thread each.
struct Snapshot {
  explicit Snapshot(const lt::torrent_handle& handle)
      : queue(handle.get_download_queue()), priorities(handle.get_piece_priorities()) {
    handle.get_peer_info(peers);
    handle.piece_availability(availability);
  }
  std::vector<lt::partial_piece_info> queue;
  std::vector<lt::peer_info> peers;
  std::vector<int> availability;
  std::vector<lt::download_priority_t> priorities;
};

// "7 peers with it, priority 6".
std::string Holders(const Snapshot& s, int piece) {
  const auto at = static_cast<size_t>(piece);
  std::ostringstream out;
  out << Count(at < s.availability.size() ? s.availability[at] : 0, "peer") << " with it, priority "
      << (at < s.priorities.size() ? static_cast<int>(static_cast<uint8_t>(s.priorities[at])) : -1);
  return out.str();
}

// "3 of 8 blocks in, 0 being written, 5 requested (5 from 198.18.0.5:6881)".
std::string BlocksOf(const lt::partial_piece_info& piece) {
  std::ostringstream out;
  out << piece.finished << " of " << piece.blocks_in_piece << " blocks in, " << piece.writing
      << " being written, " << piece.requested << " requested";
  if (const std::string from = RequestedFrom(piece); !from.empty()) out << " (" << from << ")";
  return out.str();
}
}  // namespace

bool PrefixWaitWorthLogging(StallWatch::Clock::duration waited,
                            StallWatch::Clock::duration threshold, long pieces_past) {
  return waited >= threshold && pieces_past >= 8;
}

std::string DescribePiece(const lt::torrent_handle& handle, int piece) {
  const Snapshot snap(handle);
  const auto at = static_cast<size_t>(piece);
  std::ostringstream out;
  out << "piece " << piece << ": ";
  auto begun = std::find_if(
      snap.queue.begin(), snap.queue.end(),
      [&](const lt::partial_piece_info& q) { return static_cast<int>(q.piece_index) == piece; });
  out << (begun == snap.queue.end() ? "not requested" : BlocksOf(*begun)) << "; "
      << Holders(snap, piece);
  // Begun pieces with blocks no peer has been asked for yet. Past 1.5 of them per peer,
  // libtorrent's picker fills these before it starts any new piece, whatever its priority.
  const auto open = std::count_if(snap.queue.begin(), snap.queue.end(), [](const auto& q) {
    return q.finished + q.writing + q.requested < q.blocks_in_piece;
  });
  out << "; " << snap.queue.size() << " pieces begun, " << open << " with blocks unrequested";
  int holders = 0;
  for (const lt::peer_info& p : snap.peers) {
    if (at >= static_cast<size_t>(p.pieces.size()) || !p.pieces[lt::piece_index_t(piece)]) continue;
    out << (holders++ ? "; " : "; held by ") << p.ip << (IsOriginPeerId(p.pid) ? " (origin)" : "")
        << (p.flags & lt::peer_info::remote_choked ? " choking us" : "") << ", "
        << p.download_queue_length << " requests out";
  }
  return out.str();
}

std::string DescribeStall(const lt::torrent_handle& handle, int max_pieces) {
  const lt::torrent_status st = handle.status(lt::torrent_handle::query_pieces);
  const Snapshot snap(handle);
  const std::vector<lt::partial_piece_info>& queue = snap.queue;
  const std::vector<lt::peer_info>& peers = snap.peers;

  const int pieces = st.pieces.size();
  const int missing = pieces - st.pieces.count();
  std::ostringstream out;
  out << missing << " of " << pieces << " pieces missing, " << queue.size() << " of them begun; "
      << Count(static_cast<long>(peers.size()), "peer") << " connected ("
      << Count(st.num_seeds, "seed") << "); " << StateName(st.state);
  if (st.flags & lt::torrent_flags::paused) out << ", paused";
  if (st.errc) out << ", error: " << st.errc.message();
  int listed = 0;
  std::set<int> begun;
  for (const lt::partial_piece_info& piece : queue) {
    const int index = static_cast<int>(piece.piece_index);
    begun.insert(index);
    if (listed++ >= max_pieces) continue;
    out << "\n  piece " << index << ": " << BlocksOf(piece) << "; " << Holders(snap, index);
  }
  for (lt::piece_index_t i : st.pieces.range()) {
    const int index = static_cast<int>(i);
    if (st.pieces[i] || begun.count(index)) continue;
    if (listed++ >= max_pieces) continue;
    out << "\n  piece " << index << ": not requested; " << Holders(snap, index);
  }
  if (listed > max_pieces) out << "\n  ... and " << listed - max_pieces << " more missing pieces";

  int peer_lines = 0;
  for (const lt::peer_info& p : peers) {
    if (peer_lines++ >= kMaxPeerLines) continue;
    out << "\n  peer " << p.ip << (IsOriginPeerId(p.pid) ? " (origin)" : "") << ": ";
    if (p.flags & (lt::peer_info::connecting | lt::peer_info::handshake)) {
      out << "connecting";
      continue;
    }
    out << (p.flags & lt::peer_info::remote_choked ? "chokes us" : "unchoked us") << ", "
        << (p.flags & lt::peer_info::interesting ? "has pieces we want" : "has nothing we want")
        << ", holds " << p.num_pieces << " pieces; " << p.download_queue_length << " requests out ("
        << p.timed_out_requests << " timed out, " << p.busy_requests << " end-game), "
        << p.payload_down_speed << " B/s in, last request " << Millis(p.last_request)
        << " ms ago, last data " << Millis(p.last_active) << " ms ago, rtt " << p.rtt << " ms";
    if (p.flags & lt::peer_info::snubbed) out << ", snubbed";
    if (p.flags & lt::peer_info::endgame_mode) out << ", end-game";
  }
  if (peer_lines > kMaxPeerLines)
    out << "\n  ... and " << peer_lines - kMaxPeerLines << " more peers";
  return out.str();
}

}  // namespace shoal
