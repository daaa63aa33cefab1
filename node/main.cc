// shoal-node: the daemon on every server. Fetches artifacts through the swarm into its cache,
// verifies and installs them, seeds them on to later nodes, and (when given a planner) runs the
// planner's tasks.
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>

#include "core/frame_server.h"
#include "core/log.h"
#include "core/ready_file.h"
#include "core/startup_checks.h"
#include "core/swarm.h"
#include "core/swarm_cli.h"
#include "node/agent/planner_agent.h"
#include "node/cache_manager.h"
#include "node/fetch_tasks.h"
#include "node/fetcher.h"
#include "node/node_service.h"
#include "node/origin_client.h"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace shoal;

int main(int argc, char** argv) {
  CLI::App app{"shoal-node: fetch, verify, install and seed artifacts; run the planner's tasks"};
  std::string state_dir, name, origin, ready_file, bt_listen = "127.0.0.1:0";
  std::vector<std::string> roots;
  SwarmOptions swarm_options;
  bool verbose = false;
  std::string planner, join_token, node_conf;
  std::vector<std::string> labels, groups;
  app.add_option("--state-dir", state_dir, "cache, index and admin socket directory")->required();
  app.add_option("--name", name, "this host's name")->required();
  app.add_option("--origin", origin, "the seeder's origin API address (host:port)")->required();
  app.add_option("--tracker", swarm_options.tracker_url, "tracker announce URL")->required();
  app.add_option("--bt-listen", bt_listen, "BitTorrent listen address (host:port)");
  app.add_option("--allow-root", roots, "directory under which artifacts may be installed");
  AddSwarmOptions(app, swarm_options);
  app.add_option("--ready-file", ready_file, "written with addresses once serving");
  std::string cache_max = "0";
  app.add_option(
      "--cache-max-bytes", cache_max,
      "cache quota (e.g. 20G); least recently used unpinned objects are evicted; 0: none");
  app.add_option("--planner", planner, "planner HOST:PORT (enables commands and stats)");
  app.add_option("--join-token", join_token, "one-time token from `shoal join-token`");
  app.add_option("--config", node_conf, "node.conf (exec policy, stats plugins, thresholds)");
  app.add_option("--label", labels, "key=value label for the planner (repeatable)");
  app.add_option("--group", groups, "static group for the planner (repeatable)");
  app.add_flag("-v,--verbose", verbose);
  // Issue 12's picking and checking, with switches to measure each against its absence.
  bool stream_check = true, origin_stripe = true, install_reflink = true, install_link = true;
  double cache_check_s = 10;
  app.add_option("--stream-check", stream_check,
                 "digest downloads while they download (false: one read after the last piece)")
      ->capture_default_str();
  app.add_option("--install-reflink", install_reflink,
                 "installs share the cached file's blocks where the filesystem can (XFS, Btrfs): "
                 "no bytes copied, no second copy's space (false: every install a copy)")
      ->capture_default_str();
  app.add_option("--install-link", install_link,
                 "installs on the cache's mount that cannot share its blocks are the cached file "
                 "itself under a second name (a hard link): nothing written, no space; the "
                 "install and the cache are then one file (false: every such install a copy)")
      ->capture_default_str();
  app.add_option("--cache-check-interval", cache_check_s,
                 "seconds between checks that cached objects are unchanged since verified (a "
                 "linked install written in place): changed ones are no longer seeded")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.add_option("--digest-window", swarm_options.digest_window_bytes,
                 "bytes past the verified prefix whose pieces are preferred (0: rarest first)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--digest-window-priority", swarm_options.digest_window_priority,
                 "libtorrent priority of the digest window's pieces under origin dispatch")
      ->check(CLI::Range(1, 7))
      ->capture_default_str();
  app.add_option("--origin-stripe", origin_stripe,
                 "ask the origin first for a stripe of the file that starts at an offset derived "
                 "from --name")
      ->capture_default_str();
  swarm_options.origin_columns = -1;  // issue 12 round 4 (bench/results/tuning.md)
  app.add_option("--origin-columns", swarm_options.origin_columns,
                 "column picking instead of the stripe: ask the origin only for the pieces of "
                 "this node's column (piece mod columns), in file order; -1: as many columns as "
                 "downloading nodes, 0: off (the origin stripe, --origin-stripe)")
      ->check(CLI::Range(-1, 1 << 20))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (origin_stripe) swarm_options.stripe_name = name;
  swarm_options.column_name = name;
  log::SetComponent("node " + name);
  if (verbose) log::SetLevel(log::Level::kDebug);
  // Bad flags are refused here, with one line, before anything starts.
  for (Status s :
       {ValidateSwarmOptions(swarm_options),
        CheckTrackerUrl("--tracker", swarm_options.tracker_url),
        CheckConnectAddress("--origin", origin), CheckListenAddress("--bt-listen", bt_listen),
        planner.empty() ? Status::Ok() : CheckConnectAddress("--planner", planner)}) {
    if (!s) {
      SHOAL_LOG(Error) << s.error().message;
      return 2;
    }
  }
  auto cache_max_bytes = node::ParseByteSize(cache_max);
  if (!cache_max_bytes) {
    SHOAL_LOG(Error) << "--cache-max-bytes " << cache_max_bytes.error().message;
    return 2;
  }
  // Absolute, because task scripts and working directories are resolved from other cwds.
  if (auto errors = PrepareStateDirAndReadyFile(state_dir, ready_file); !errors.empty()) {
    SHOAL_LOG(Error) << errors.front().message;
    return 2;
  }
  for (auto& root : roots) {
    // A root made later is fine (fetches into it fail until then), but say so.
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
      SHOAL_LOG(Warn) << "--allow-root '" << root << "': not an existing directory (yet)";
    }
    root = fs::absolute(root).lexically_normal().string();
  }
  asio::io_context io;
  auto index = ArtifactIndex::Open(state_dir);
  if (!index) {
    SHOAL_LOG(Error) << index.error().message;
    return 1;
  }
  fs::path admin_path = fs::path(state_dir) / "admin.sock";
  auto admin = ListenUnix(io, admin_path);
  if (!admin) {
    SHOAL_LOG(Error) << admin.error().message;
    return 1;
  }
  std::vector<fs::path> allowed_roots(roots.begin(), roots.end());
  node::OriginClient origin_client(origin);
  node::Fetcher fetcher(io, **index, origin_client, allowed_roots);
  fetcher.stream_check = stream_check;
  fetcher.share_blocks = install_reflink;
  fetcher.link_installs = install_link;
  swarm_options.listen = bt_listen;
  Swarm swarm(io, swarm_options, fetcher);
  fetcher.AttachSwarm(swarm);
  fetcher.Restore();
  fetcher.WatchCache(std::chrono::milliseconds(static_cast<int64_t>(cache_check_s * 1000)));
  fetcher.on_listening = [&](int port) {
    std::string bt_host = bt_listen.substr(0, bt_listen.rfind(':'));
    SHOAL_LOG(Info) << "serving: BitTorrent " << bt_host << ":" << port << ", admin "
                    << admin_path.string();
    if (!ready_file.empty()) {
      auto s = WriteReadyFile(ready_file, {{"bt", bt_host + ":" + std::to_string(port)},
                                           {"admin", admin_path.string()}});
      if (!s) SHOAL_LOG(Error) << s.error().message;
    }
  };

  node::CacheManager cache(**index, swarm, *cache_max_bytes);
  cache.on_evicted = [&fetcher](const ArtifactId& id) { fetcher.OnEvicted(id); };
  fetcher.make_room = [&cache](uint64_t bytes) { return cache.MakeRoom(bytes); };
  cache.Enforce();  // a quota lowered since the last run
  node::NodeService service(name, fetcher, **index, swarm, cache);
  asio::co_spawn(
      io,
      AcceptLoop<asio::local::stream_protocol>(
          *admin, [&](asio::local::stream_protocol::socket& s) { return service.Serve(s); }),
      asio::detached);
  // The control plane: this node takes tasks from a planner when given one.
  std::unique_ptr<node::PlannerAgent> agent;
  node::FetchTasks fetch_tasks(io, fetcher, &cache);
  int exit_code = 0;
  if (!planner.empty()) {
    node::AgentConfig config;
    config.planner = planner;
    config.state_dir = state_dir;
    config.name = name;
    config.datacenter = swarm_options.dc;
    config.rack = swarm_options.rack;
    config.join_token = join_token;
    config.config_file = node_conf;
    config.groups = groups;
    for (const auto& label : labels) {
      auto eq = label.find('=');
      if (eq == std::string::npos) {
        SHOAL_LOG(Error) << "--label '" << label << "': want key=value";
        return 2;
      }
      config.labels.emplace_back(label.substr(0, eq), label.substr(eq + 1));
    }
    agent = std::make_unique<node::PlannerAgent>(io, config);
    agent->SetFileTasks(&fetch_tasks);
    agent->OnGiveUp([&](const Error& e) {
      SHOAL_LOG(Error) << "planner agent: " << e.message << "; exiting";
      exit_code = 1;
      swarm.SaveResumeData();
      io.stop();
    });
    if (auto s = agent->Start(); !s) {
      SHOAL_LOG(Error) << s.error().message;
      return 1;
    }
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    if (agent) agent->Stop();
    swarm.SaveResumeData();
    io.stop();
  });
  io.run();
  SHOAL_LOG(Info) << "stopping";
  return exit_code;
}
