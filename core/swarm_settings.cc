#include "core/swarm_settings.h"

#include <charconv>
#include <libtorrent/alert.hpp>

#include "core/swarm_origin_bytes.h"

namespace shoal {
namespace lt = libtorrent;

namespace {
Status ApplyOverride(lt::settings_pack& s, const std::string& entry) {
  const std::string where = "libtorrent setting '" + entry + "'";
  auto eq = entry.find('=');
  if (eq == std::string::npos || eq == 0) return Error::of(where, "expected name=value");
  std::string name = entry.substr(0, eq), value = entry.substr(eq + 1);
  int key = lt::setting_by_name(name);
  if (key < 0) return Error::of(where, "libtorrent has no setting named '" + name + "'");
  switch (key & lt::settings_pack::type_mask) {
    case lt::settings_pack::string_type_base:
      s.set_str(key, value);
      return Status::Ok();
    case lt::settings_pack::int_type_base: {
      int v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc{} || end != value.data() + value.size() || value.empty())
        return Error::of(where, "'" + value + "' is not an integer");
      s.set_int(key, v);
      return Status::Ok();
    }
    case lt::settings_pack::bool_type_base:
      if (value != "true" && value != "false" && value != "1" && value != "0")
        return Error::of(where, "'" + value + "' is not true/false");
      s.set_bool(key, value == "true" || value == "1");
      return Status::Ok();
  }
  return Error::of(where, "unsupported setting type");
}
}  // namespace

Result<lt::settings_pack> MakeSwarmSettings(const SwarmOptions& options) {
  lt::settings_pack s;
  s.set_str(lt::settings_pack::listen_interfaces, options.listen);
  s.set_str(lt::settings_pack::user_agent, "shoal/0.1");
  // Nodes count the bytes they take from the origin by its peer-id prefix (swarm_origin_bytes.h).
  s.set_str(lt::settings_pack::peer_fingerprint,
            std::string(options.origin ? kOriginPeerIdPrefix : kNodePeerIdPrefix));
  s.set_int(lt::settings_pack::alert_mask, lt::alert_category::status | lt::alert_category::error |
                                               lt::alert_category::storage |
                                               lt::alert_category::tracker |
                                               lt::alert_category::piece_progress);
  // A closed datacenter network: no DHT, local discovery or NAT traversal.
  s.set_bool(lt::settings_pack::enable_dht, false);
  s.set_bool(lt::settings_pack::enable_lsd, false);
  s.set_bool(lt::settings_pack::enable_upnp, false);
  s.set_bool(lt::settings_pack::enable_natpmp, false);
  // TCP only: uTP sends one datagram per packet and costs far more CPU (NOTES-bench.md).
  s.set_bool(lt::settings_pack::enable_outgoing_utp, false);
  s.set_bool(lt::settings_pack::enable_incoming_utp, false);
  // Hosts behind one NAT or several daemons per host (tests, demo) share an IP.
  s.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
  // The fleet is cooperative: no tit-for-tat. Unchoke every interested peer so that every
  // uplink is busy from the first piece on.
  s.set_int(lt::settings_pack::choking_algorithm, lt::settings_pack::fixed_slots_choker);
  s.set_int(lt::settings_pack::unchoke_slots_limit, -1);
  s.set_int(lt::settings_pack::connections_limit, 400);
  s.set_int(lt::settings_pack::upload_rate_limit, options.upload_limit);
  s.set_int(lt::settings_pack::download_rate_limit, options.download_limit);
  // Fleet peers come and go in seconds; find them quickly.
  s.set_int(lt::settings_pack::min_announce_interval, 2);
  s.set_int(lt::settings_pack::peer_connect_timeout, 3);
  s.set_int(lt::settings_pack::connection_speed, 200);
  // A request unanswered for 10 s on a datacenter network will not be answered: ask elsewhere
  // (the default, 60 s, stalls a download on a misbehaving peer for a minute).
  s.set_int(lt::settings_pack::request_timeout, 10);
  // Reconnect to a dropped peer after 2 s, not 60: fleet peers are few and all needed.
  s.set_int(lt::settings_pack::min_reconnect_time, 2);
  s.set_bool(lt::settings_pack::announce_to_all_trackers, true);
  // Ban a peer after its data fails a hash check; smart-ban identifies which peer sent it.
  s.set_bool(lt::settings_pack::use_parole_mode, true);
  // Keep 1 s of requests queued per peer, not 3: at 100 Mbit/s 3 s is ~36 MB of requests, and
  // nodes queueing that deep at the origin for the same rare pieces made it send 2.3 copies of
  // the file to 16 nodes instead of 1.8 (bench/netns N=16: 33.3 -> 26.1 s, 29.7 -> 24.0 CPU
  // s/GiB; N=4: 20.6 -> 17.2 s). 1 s is still far above any datacenter round trip.
  s.set_int(lt::settings_pack::request_queue_time, 1);
  // (Only the mmap back end has disk threads; Shoal's own runs every disk job inline.)
  // Two disk threads, not libtorrent's ten: a node moves one or two files at a time, and here
  // every idle thread's wake-ups cost more than they save (futex time per node fell ~7%, CPU per
  // delivered GiB ~8%, in bench/netns at N=16).
  s.set_int(lt::settings_pack::aio_threads, 2);
  s.set_int(lt::settings_pack::hashing_threads, 1);
  // Under column picking a download can be "finished" (every piece of non-zero priority in) with
  // pieces still to come (core/swarm.cc): keep the connection to the origin (a seed) then.
  if (!options.origin && options.origin_columns != 0 && !options.column_name.empty())
    s.set_bool(lt::settings_pack::close_redundant_connections, false);
  for (const auto& entry : options.settings) {
    if (auto applied = ApplyOverride(s, entry); !applied) return applied.error();
  }
  return s;
}

Status ValidateSwarmOptions(const SwarmOptions& options) {
  if (options.disk_io != "mmap" && options.disk_io != "posix" && options.disk_io != "shoal")
    return Error::of("--disk-io " + options.disk_io, "expected shoal, posix or mmap");
  auto settings = MakeSwarmSettings(options);
  if (!settings) return settings.error();
  return Status::Ok();
}

}  // namespace shoal
