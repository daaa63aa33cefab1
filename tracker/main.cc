// shoal-tracker: the swarm's HTTP tracker. Wires options to a TrackerServer and runs it until
// SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <csignal>

#include "core/frame_server.h"
#include "core/log.h"
#include "core/ready_file.h"
#include "core/startup_checks.h"
#include "tracker/server.h"

int main(int argc, char** argv) {
  using namespace shoal;
  CLI::App app{"shoal-tracker: topology-aware BitTorrent HTTP tracker"};
  std::string listen = "127.0.0.1:6969";
  std::string ready_file;
  int interval = 30;
  int min_interval = -1;
  double peer_ttl = -1;
  bool verbose = false;
  tracker::TrackerOptions options;
  double idle_timeout = 15;
  app.add_option("--listen", listen, "address:port to listen on (port 0: any free port)");
  app.add_option("--ready-file", ready_file, "written (tracker=, announce=) once listening");
  app.add_option("--interval", interval, "announce interval told to peers, seconds")
      ->check(CLI::Range(1, 86400));
  app.add_option("--min-interval", min_interval, "min interval told to peers (default: interval)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--peer-ttl", peer_ttl,
                 "forget a peer unheard this long, seconds (default: 2 x interval + 10)")
      ->check(CLI::Range(0.05, 864000.0));
  app.add_option("--max-torrents", options.limits.max_torrents, "cap on tracked torrents");
  app.add_option("--max-peers-per-torrent", options.limits.max_peers_per_torrent,
                 "cap on tracked peers of one torrent");
  app.add_option("--max-peers", options.limits.max_peers_total, "cap on tracked peers in all");
  app.add_option("--max-connections", options.max_connections, "cap on open connections");
  app.add_option("--idle-timeout", idle_timeout, "close a connection idle this long, seconds")
      ->check(CLI::Range(0.1, 3600.0));
  std::string register_key_file;
  bool open = false;
  app.add_option("--register-key-file", register_key_file,
                 "track only the torrents a seeder registers with the key in this file");
  app.add_flag("--open", open, "track any torrent (an open tracker: tests and benchmarks)");
  app.add_flag("-v,--verbose", verbose, "log every announce");
  CLI11_PARSE(app, argc, argv);

  log::SetComponent("tracker");
  if (verbose) log::SetLevel(log::Level::kDebug);
  options.timing.interval_s = interval;
  options.timing.min_interval_s = min_interval > 0 ? min_interval : interval;
  options.limits.peer_ttl = std::chrono::milliseconds(
      std::lround(1000 * (peer_ttl > 0 ? peer_ttl : 2.0 * interval + 10)));
  options.idle_timeout = std::chrono::milliseconds(std::lround(1000 * idle_timeout));

  auto endpoint = ParseTcpEndpoint(listen);
  if (!endpoint.ok()) {
    SHOAL_LOG(Error) << "--listen: " << endpoint.error().message;
    return 2;
  }
  auto ready_path = ResolveReadyFile("--ready-file", ready_file);
  if (!ready_path) {
    SHOAL_LOG(Error) << ready_path.error().message;
    return 2;
  }
  ready_file = ready_path->string();
  if (open == !register_key_file.empty()) {
    SHOAL_LOG(Error) << (open ? "--open and --register-key-file exclude each other"
                              : "give --register-key-file (track only the seeder's torrents) "
                                "or --open (track any)");
    return 2;
  }
  if (!open) {
    auto key = ReadKeyFile("--register-key-file", register_key_file);
    if (!key) {
      SHOAL_LOG(Error) << key.error().message;
      return 2;
    }
    options.register_key = std::move(*key);
  }
  boost::asio::io_context io(1);
  auto server = tracker::TrackerServer::Start(io, *endpoint, options);
  if (!server.ok()) {
    SHOAL_LOG(Error) << server.error().message;
    return 1;
  }
  auto bound = (*server)->local_endpoint();
  std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                             : bound.address().to_string();
  std::string hostport = host + ":" + std::to_string(bound.port());
  SHOAL_LOG(Info) << "listening on " << hostport << " (interval " << interval << " s, peer ttl "
                  << std::chrono::duration<double>(options.limits.peer_ttl).count() << " s, "
                  << (open ? "open: any torrent" : "closed: registered torrents only") << ")";

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    SHOAL_LOG(Info) << "signal " << signo << ": stopping";
    (*server)->Stop();
  });
  if (!ready_file.empty()) {
    Status s = WriteReadyFile(
        ready_file, {{"tracker", hostport}, {"announce", "http://" + hostport + "/announce"}});
    if (!s.ok()) {
      SHOAL_LOG(Error) << "ready file: " << s.error().message;
      return 1;
    }
  }
  io.run();
  SHOAL_LOG(Info) << "stopped";
  return 0;
}
