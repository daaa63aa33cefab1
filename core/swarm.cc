#include "core/swarm.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/operations.hpp>
#include <libtorrent/peer_info.hpp>
#include <libtorrent/posix_disk_io.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>
#include <set>
#include <sstream>

#include "core/disk_io.h"
#include "core/log.h"
#include "core/network_loop.h"
#include "core/piece_cache.h"
#include "core/swarm_columns.h"
#include "core/swarm_dispatch.h"
#include "core/swarm_origin_bytes.h"
#include "core/swarm_picking.h"
#include "core/swarm_settings.h"

namespace shoal {
namespace lt = libtorrent;
using namespace std::chrono_literals;

namespace {
std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}
}  // namespace

std::string AnnounceUrlWithTopology(const std::string& url, const std::string& dc,
                                    const std::string& rack) {
  std::string params;
  if (!dc.empty()) params += "dc=" + UrlEncode(dc);
  if (!rack.empty()) params += std::string(params.empty() ? "" : "&") + "rack=" + UrlEncode(rack);
  if (params.empty()) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + params;
}

Swarm::Swarm(boost::asio::io_context& io, SwarmOptions options, SwarmEvents& events)
    : io_(io),
      options_(std::move(options)),
      events_(events),
      resume_timer_(io),
      picking_timer_(io),
      stall_timer_(io) {
  if (options_.origin || options_.column_name.empty()) options_.origin_columns = 0;
  if (!options_.stripe_name.empty() && !options_.origin && options_.stripe_bytes > 0 &&
      options_.origin_columns == 0)
    stripe_start_ppm_ = static_cast<int>(StripeOffsetOf(options_.stripe_name) * 1e6);
  // Callers check ValidateSwarmOptions() first; a bad override here only loses the overrides.
  auto settings = MakeSwarmSettings(options_);
  if (!settings) {
    SHOAL_LOG(Error) << settings.error().message << "; using Shoal's defaults";
    SwarmOptions plain = options_;
    plain.settings.clear();
    settings = MakeSwarmSettings(plain);
  }
  lt::session_params params(std::move(*settings));
  if (options_.disk_io == "posix") params.disk_io_constructor = lt::posix_disk_io_constructor;
  if (options_.disk_io == "shoal") {
    if (options_.piece_cache_bytes > 0)
      piece_cache_ = std::make_shared<PieceCache>(static_cast<size_t>(options_.piece_cache_bytes));
    params.disk_io_constructor = ShoalDiskIoConstructor(piece_cache_);
  }
  if (options_.network_batch_us > 0) {
    network_ = std::make_unique<NetworkLoop>(std::chrono::microseconds(options_.network_batch_us));
    session_ = std::make_unique<lt::session>(std::move(params), network_->context());
    network_->Start();
  } else {
    session_ = std::make_unique<lt::session>(std::move(params));
  }
  if (options_.upload_limit > 0 || options_.download_limit > 0) {
    // Peers on loopback and LANs sit in libtorrent's unthrottled local class; a rate limit that
    // stands in for a link must apply to them too.
    // Every address goes in the global class (which carries the session's limits) and none in
    // the local one. An empty filter would put peers in no class at all: no limit whatsoever.
    lt::ip_filter classes;
    const std::uint32_t global = 1u
                                 << static_cast<std::uint32_t>(lt::session::global_peer_class_id);
    classes.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"), global);
    classes.add_rule(lt::make_address("::"),
                     lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), global);
    session_->set_peer_class_filter(classes);
  }
  std::weak_ptr<bool> alive = alive_;
  session_->set_alert_notify([this, alive] {
    boost::asio::post(io_, [this, alive] {
      if (alive.lock()) PumpAlerts();
    });
  });
  UpdateUnchokeSlots();
  ScheduleResumeSaves();
  // The origin only seeds: nothing of its can stall, and its timer would only wake it.
  if (options_.stall_report_s > 0 && !options_.origin) ScheduleStallChecks();
}

Swarm::~Swarm() {
  alive_.reset();
  session_->set_alert_notify([] {});
  if (network_) {
    // libtorrent's order for a session on an external io_context: abort, destroy the session,
    // let the loop run out of work, and only then the proxy (session_impl) goes.
    lt::session_proxy proxy = session_->abort();
    session_.reset();
    network_->Finish();
  }
}

Status Swarm::Add(const ArtifactMeta& meta, const std::filesystem::path& save_dir, AddMode mode,
                  const std::optional<std::vector<char>>& resume) {
  if (Has(meta.id)) return Status::Ok();
  lt::error_code ec;
  lt::add_torrent_params p;
  if (mode == AddMode::kDownload && resume) {
    p = lt::read_resume_data(lt::span<const char>(resume->data(), resume->size()), ec);
    if (ec) {
      SHOAL_LOG(Warn) << meta.id.str() << ": ignoring unreadable resume data: " << ec.message();
      p = lt::add_torrent_params();
      ec.clear();
    }
  }
  auto info = std::make_shared<lt::torrent_info>(
      lt::span<const char>(meta.torrent.data(), meta.torrent.size()), ec, lt::from_span);
  if (ec) return Error::of("torrent of " + meta.id.str(), ec.message());
  // One real file named by its SHA-256 (libtorrent may add a tail pad file after it).
  const lt::file_storage& files = info->files();
  bool shape_ok = files.num_files() >= 1 && files.file_name(lt::file_index_t{0}) == meta.id.hex() &&
                  static_cast<uint64_t>(files.file_size(lt::file_index_t{0})) == meta.size;
  for (lt::file_index_t i{1}; shape_ok && i < files.end_file(); ++i)
    shape_ok = files.pad_file_at(i);
  if (!shape_ok) {
    return Error::of("torrent of " + meta.id.str(),
                     "must hold one file named by the artifact's SHA-256 and of its size");
  }
  p.ti = std::move(info);
  p.save_path = save_dir.string();
  p.trackers = {AnnounceUrlWithTopology(options_.tracker_url, options_.dc, options_.rack)};
  p.flags &= ~(lt::torrent_flags::auto_managed | lt::torrent_flags::paused);
  if (mode == AddMode::kSeedTrusted) p.flags |= lt::torrent_flags::seed_mode;
  if (options_.super_seed) p.flags |= lt::torrent_flags::super_seeding;
  auto from_origin = std::make_shared<std::atomic<uint64_t>>(0);
  if (!options_.origin) p.extensions.push_back(CountOriginBytes(from_origin));
  const int piece_length = p.ti->piece_length(), pieces = p.ti->num_pieces();
  auto dispatched = std::make_shared<std::atomic<bool>>(false);
  if (options_.dispatch && !options_.super_seed) {
    if (options_.origin) {
      p.extensions.push_back(DispatchFromOrigin(pieces, piece_length));
    } else if (mode == AddMode::kDownload) {
      // Picking changes once the origin dispatches: recompute it on the io_context's thread.
      std::weak_ptr<bool> alive = alive_;
      p.extensions.push_back(AcceptDispatch(dispatched, [this, alive, id = meta.id] {
        boost::asio::post(io_, [this, alive, id] {
          if (!alive.lock()) return;
          if (auto it = torrents_.find(id); it != torrents_.end()) MarkPickingDirty(it->second);
        });
      }));
    }
  }
  lt::torrent_handle h = session_->add_torrent(std::move(p), ec);
  if (ec) return Error::of(meta.id.str(), "cannot add to swarm: " + ec.message());
  Torrent& t = torrents_[meta.id];
  t.handle = h;
  t.from_origin = std::move(from_origin);
  t.dispatched = std::move(dispatched);
  t.piece_length = piece_length;
  t.pieces = pieces;
  t.size = meta.size;
  if (mode == AddMode::kDownload) {
    t.downloading = true;
    t.have.assign(static_cast<size_t>(pieces), false);
    if (options_.stall_report_s > 0)
      t.stall.emplace(StallWatch::Clock::now(), std::chrono::seconds(options_.stall_report_s));
    UpdatePicking(t);  // before the first request goes out
    UpdateUnchokeSlots();
  }
  return Status::Ok();
}

void Swarm::Remove(const ArtifactId& id, bool delete_file) {
  auto it = torrents_.find(id);
  if (it == torrents_.end()) return;
  session_->remove_torrent(it->second.handle,
                           delete_file ? lt::session::delete_files : lt::remove_flags_t{});
  torrents_.erase(it);
  UpdateUnchokeSlots();
}

void Swarm::UpdateUnchokeSlots() {
  if (options_.origin || options_.download_unchoke_slots <= 0) return;
  const bool downloading = std::any_of(torrents_.begin(), torrents_.end(),
                                       [](const auto& entry) { return entry.second.downloading; });
  const int slots = downloading ? options_.download_unchoke_slots : -1;
  if (slots == unchoke_slots_) return;
  unchoke_slots_ = slots;
  // Back to -1, libtorrent unchokes every interested peer at once (update_unchoke_limit).
  lt::settings_pack s;
  s.set_int(lt::settings_pack::unchoke_slots_limit, slots);
  session_->apply_settings(std::move(s));
  if (slots < 0) {
    SHOAL_LOG(Info) << "unchoking every interested peer (no download in progress)";
  } else {
    SHOAL_LOG(Info) << "unchoking at most " << slots << " peers while downloading";
  }
}

std::pair<int, int> Swarm::PieceLayout(const ArtifactId& id) const {
  auto it = torrents_.find(id);
  if (it == torrents_.end()) return {0, 0};
  return {it->second.piece_length, it->second.pieces};
}

void Swarm::PieceVerified(const ArtifactId& id, Torrent& t, int piece) {
  if (!t.downloading || piece < 0 || piece >= t.pieces) return;
  t.have[static_cast<size_t>(piece)] = true;
  if (t.stall) {
    if (auto stalled = t.stall->Progress(StallWatch::Clock::now()))
      SHOAL_LOG(Info) << id.str() << ": piece " << piece << " verified; the stall lasted "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(*stalled).count()
                      << " ms";
  }
  const int cursor = t.cursor;
  while (t.cursor < t.pieces && t.have[static_cast<size_t>(t.cursor)]) ++t.cursor;
  if (t.cursor != cursor) {
    t.cursor_since = StallWatch::Clock::now();
    t.cursor_wait_logged = false;
  }
  events_.OnPieceVerified(id, piece);
  MarkPickingDirty(t);
}

void Swarm::MarkPickingDirty(Torrent& t) {
  t.picking_dirty = true;
  if (picking_armed_) return;
  picking_armed_ = true;
  picking_timer_.expires_after(200ms);
  std::weak_ptr<bool> alive = alive_;
  picking_timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || !alive.lock()) return;
    picking_armed_ = false;
    for (auto& [id, t] : torrents_)
      if (t.picking_dirty) UpdatePicking(t);
  });
}

void Swarm::UpdatePicking(Torrent& t) {
  t.picking_dirty = false;
  if (!t.downloading || t.pieces == 0) return;
  int window = 0;
  if (options_.digest_window_bytes > 0)
    window = std::max(2, options_.digest_window_bytes / std::max(1, t.piece_length));
  if (t.dispatched->load()) {
    // The origin hands out the first copies; what is left to prefer is the digest window, among
    // every piece someone (the origin included) will let this node have.
    SetPriorities(t, PickPriorities(t.pieces, {}, t.cursor, window, {},
                                    static_cast<uint8_t>(options_.digest_window_priority)));
    return;
  }
  std::vector<int> stripe, availability;
  if (stripe_start_ppm_ >= 0 || window > 0 || options_.origin_columns != 0)
    t.handle.piece_availability(availability);  // a round trip to libtorrent's thread
  if (stripe_start_ppm_ >= 0) {
    const int start =
        static_cast<int>(static_cast<int64_t>(stripe_start_ppm_) * t.pieces / 1000000);
    const int length = std::max(1, options_.stripe_bytes / std::max(1, t.piece_length));
    stripe = StripePieces(start, t.have, availability, length);
  }
  SetPriorities(t, options_.origin_columns != 0
                       ? ColumnPicking(t, availability, window)
                       : PickPriorities(t.pieces, stripe, t.cursor, window, availability));
}

void Swarm::WantEveryMissingPiece(const ArtifactId& id, Torrent& t) {
  // Asked of libtorrent, not of Shoal's record: a node was once seen waiting forever with
  // two pieces it lacked still at priority 0 in libtorrent while the record said otherwise, so
  // SetPriorities' difference sent nothing (swarm_test, NodesFetchFromAnOriginThatDoesNotDispatch).
  const std::vector<lt::download_priority_t> priorities = t.handle.get_piece_priorities();
  const lt::torrent_status st = t.handle.status(lt::torrent_handle::query_pieces);
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> changes;
  for (lt::piece_index_t i : st.pieces.range()) {
    const auto at = static_cast<size_t>(static_cast<int>(i));
    if (st.pieces[i] || at >= priorities.size() || priorities[at] != lt::dont_download) continue;
    changes.emplace_back(i, lt::default_priority);
    if (at < t.priorities.size()) t.priorities[at] = 4;
  }
  if (changes.empty()) return;
  SHOAL_LOG(Warn) << id.str() << ": " << changes.size()
                  << " missing pieces were still unwanted in libtorrent; wanting them now";
  t.handle.prioritize_pieces(changes);
}

void Swarm::SetPriorities(Torrent& t, std::vector<uint8_t> wanted) {
  std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> changes;
  const bool first = t.priorities.size() != wanted.size();
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (t.have[i] || (!first && t.priorities[i] == wanted[i])) continue;
    changes.emplace_back(lt::piece_index_t(static_cast<int>(i)),
                         lt::download_priority_t(wanted[i]));
  }
  t.priorities = std::move(wanted);
  if (!changes.empty()) t.handle.prioritize_pieces(changes);
}

std::vector<uint8_t> Swarm::ColumnPicking(Torrent& t, const std::vector<int>& availability,
                                          int window) {
  int columns = options_.origin_columns;
  if (columns < 0) {
    // The downloading nodes: the tracker's count of the swarm less the origin, or the peers
    // this node is connected to (the origin among them), whichever is larger, held steady
    // (ColumnCount). Early on a node's first announce shows only the nodes that announced
    // before it.
    // Peers by peer id, once connected: two nodes that connect to each other at once are two
    // connections for a moment, and a connection still being set up may lead nowhere.
    std::vector<lt::peer_info> peers;
    t.handle.get_peer_info(peers);
    std::set<lt::peer_id> ids;
    for (const lt::peer_info& p : peers)
      if (!(p.flags & (lt::peer_info::connecting | lt::peer_info::handshake)) &&
          !p.pid.is_all_zeros())
        ids.insert(p.pid);
    lt::torrent_status st = t.handle.status({});
    int seen = static_cast<int>(ids.size());
    if (st.num_complete >= 0 && st.num_incomplete >= 0)
      seen = std::max(seen, st.num_complete + st.num_incomplete - 1);
    const auto now = ColumnCount::Clock::now();
    if (!t.column_count) t.column_count.emplace(now);
    columns = t.column_count->Update(seen, now);
    if (columns != t.columns)
      SHOAL_LOG(Info) << "columns " << t.columns << " -> " << columns << " (peers " << ids.size()
                      << " of " << st.num_peers << ", seeds " << st.num_seeds << ", tracker "
                      << st.num_complete << "+" << st.num_incomplete << ", have " << st.num_pieces
                      << ")";
  }
  t.columns = columns;
  std::vector<uint8_t> wanted =
      ColumnPriorities(t.have, availability, ColumnOf(options_.column_name, columns), columns,
                       t.cursor, window, t.column_count && t.column_count->early());
  if (t.rescue) std::replace(wanted.begin(), wanted.end(), uint8_t{0}, uint8_t{4});
  return wanted;
}

std::optional<TransferStatus> Swarm::GetStatus(const ArtifactId& id) const {
  auto it = torrents_.find(id);
  if (it == torrents_.end()) return std::nullopt;
  lt::torrent_status st = it->second.handle.status();
  TransferStatus out;
  out.done = static_cast<uint64_t>(st.total_wanted_done);
  out.total = static_cast<uint64_t>(st.total_wanted);
  if (it->second.downloading && options_.origin_columns != 0) {
    // Pieces at priority 0 (column picking) are out of libtorrent's "wanted" bytes, but are
    // still to come.
    out.done = std::min(static_cast<uint64_t>(st.total_done), it->second.size);
    out.total = it->second.size;
  }
  out.payload_downloaded = static_cast<uint64_t>(st.total_payload_download);
  out.payload_uploaded = static_cast<uint64_t>(st.total_payload_upload);
  out.payload_from_origin = it->second.from_origin->load(std::memory_order_relaxed);
  out.peers = st.num_peers;
  out.download_rate = st.download_payload_rate;
  out.seeding = st.is_seeding;
  return out;
}

std::pair<uint64_t, uint64_t> Swarm::Totals() const {
  uint64_t up = 0, down = 0;
  for (const auto& [id, t] : torrents_) {
    lt::torrent_status st = t.handle.status();
    up += static_cast<uint64_t>(st.total_payload_upload);
    down += static_cast<uint64_t>(st.total_payload_download);
  }
  return {up, down};
}

void Swarm::SaveResumeData() {
  for (const auto& [id, t] : torrents_) {
    if (!t.handle.status().is_seeding) {
      t.handle.save_resume_data(lt::torrent_handle::only_if_modified);
    }
  }
}

void Swarm::ScheduleResumeSaves() {
  resume_timer_.expires_after(std::chrono::seconds(std::max(1, options_.resume_interval_s)));
  std::weak_ptr<bool> alive = alive_;
  resume_timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || !alive.lock()) return;
    SaveResumeData();
    ScheduleResumeSaves();
  });
}

void Swarm::ScheduleStallChecks() {
  stall_timer_.expires_after(1s);
  std::weak_ptr<bool> alive = alive_;
  stall_timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || !alive.lock()) return;
    const auto now = StallWatch::Clock::now();
    for (auto& [id, t] : torrents_) {
      if (!t.downloading || !t.stall) continue;
      LogPrefixWait(id, t, now);
      const auto stalled = t.stall->Due(now);
      if (!stalled) continue;
      // One log line per line of the report: the log's contract is a line per message.
      std::istringstream report(DescribeStall(t.handle));
      std::string line;
      std::getline(report, line);
      SHOAL_LOG(Warn) << id.str() << ": no piece verified for "
                      << std::chrono::duration_cast<std::chrono::seconds>(*stalled).count()
                      << " s; " << line;
      while (std::getline(report, line))
        SHOAL_LOG(Warn) << id.str() << ": stall: " << line.substr(line.find_first_not_of(' '));
    }
    ScheduleStallChecks();
  });
}

void Swarm::LogPrefixWait(const ArtifactId& id, Torrent& t, StallWatch::Clock::time_point now) {
  if (t.cursor_wait_logged || t.cursor >= t.pieces) return;
  const auto waited = now - t.cursor_since;
  const auto past = std::count(t.have.begin() + t.cursor, t.have.end(), true);
  if (!PrefixWaitWorthLogging(waited, std::chrono::seconds(options_.stall_report_s), past)) return;
  t.cursor_wait_logged = true;
  SHOAL_LOG(Info) << id.str() << ": the verified prefix has waited "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
                  << " ms for its next piece while " << past << " pieces past it came in; "
                  << DescribePiece(t.handle, t.cursor);
}

std::optional<ArtifactId> Swarm::IdOf(const lt::torrent_handle& h) const {
  for (const auto& [id, t] : torrents_) {
    if (t.handle == h) return id;
  }
  return std::nullopt;
}

void Swarm::PumpAlerts() {
  std::vector<lt::alert*> alerts;
  session_->pop_alerts(&alerts);
  for (lt::alert* a : alerts) {
    if (auto* l = lt::alert_cast<lt::listen_succeeded_alert>(a)) {
      if (l->socket_type == lt::socket_type_t::tcp) {
        listen_port_ = l->port;
        events_.OnListening(l->port);
      }
    } else if (auto* l = lt::alert_cast<lt::listen_failed_alert>(a)) {
      SHOAL_LOG(Error) << "BitTorrent listen failed: " << l->message();
    } else if (auto* pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
      if (auto id = IdOf(pf->handle))
        PieceVerified(*id, torrents_[*id], static_cast<int>(pf->piece_index));
    } else if (auto* c = lt::alert_cast<lt::torrent_checked_alert>(a)) {
      // Pieces held on being added (resume data, or a check of files already on disk) count as
      // verified pieces of a download too.
      auto id = IdOf(c->handle);
      if (!id || !torrents_[*id].downloading) continue;
      lt::torrent_status st = c->handle.status(lt::torrent_handle::query_pieces);
      for (lt::piece_index_t i : st.pieces.range())
        if (st.pieces[i]) PieceVerified(*id, torrents_[*id], static_cast<int>(i));
    } else if (auto* f = lt::alert_cast<lt::torrent_finished_alert>(a)) {
      if (auto id = IdOf(f->handle)) {
        Torrent& t = torrents_[*id];
        // libtorrent calls a torrent finished once it holds every piece of non-zero priority;
        // under column picking pieces may still be missing, left at 0 for their column's owner.
        const int held = t.downloading ? f->handle.status({}).num_pieces : t.pieces;
        if (held < t.pieces) {
          SHOAL_LOG(Info) << id->str() << ": every wanted piece is in but " << t.pieces - held
                          << " of " << t.pieces << " are missing; wanting them all now";
          t.rescue = true;
          UpdatePicking(t);
          WantEveryMissingPiece(*id, t);
          continue;
        }
        t.downloading = false;
        UpdateUnchokeSlots();
        events_.OnFinished(*id);
      }
    } else if (auto* r = lt::alert_cast<lt::save_resume_data_alert>(a)) {
      if (auto id = IdOf(r->handle))
        events_.OnResumeData(*id, lt::write_resume_data_buf(r->params));
    } else if (auto* hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
      if (auto id = IdOf(hf->handle)) {
        SHOAL_LOG(Warn) << id->str() << ": piece " << static_cast<int>(hf->piece_index)
                        << " failed its hash check; discarded";
        events_.OnCorruptPiece(*id, static_cast<int>(hf->piece_index));
      }
    } else if (auto* e = lt::alert_cast<lt::torrent_error_alert>(a)) {
      if (auto id = IdOf(e->handle))
        events_.OnFailed(*id, Error::of(e->filename(), e->error.message()));
    } else if (auto* fe = lt::alert_cast<lt::file_error_alert>(a)) {
      // e.g. "file_write /var/lib/shoal/objects/9f2c...: No space left on device"
      if (auto id = IdOf(fe->handle)) {
        events_.OnFailed(*id,
                         Error::of(std::string(lt::operation_name(fe->op)) + " " + fe->filename(),
                                   fe->error.message()));
      }
    } else if (auto* d = lt::alert_cast<lt::alerts_dropped_alert>(a)) {
      // A dropped piece_finished_alert stalls a streamed check's prefix until the last piece.
      SHOAL_LOG(Warn) << "libtorrent dropped alerts: " << d->message();
    } else if (auto* t = lt::alert_cast<lt::tracker_error_alert>(a)) {
      SHOAL_LOG(Debug) << t->message();
    }
  }
}

}  // namespace shoal
