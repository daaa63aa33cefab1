// shoal-seeder: the origin. Holds artifacts by content address, seeds them to the swarm, and
// answers lookups (origin API, TCP) and puts (admin API, owner-only Unix socket).
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
#include "seeder/origin_store.h"
#include "seeder/seeder_service.h"
#include "seeder/tracker_registrar.h"

namespace asio = boost::asio;
using namespace shoal;

namespace {
// Writes the ready file once the BitTorrent port is known.
class SeederEvents : public SwarmEvents {
 public:
  std::function<void(int)> on_listening;
  void OnListening(int port) override {
    if (on_listening) on_listening(port);
  }
  void OnFinished(const ArtifactId&) override {}
  void OnFailed(const ArtifactId& id, const Error& e) override {
    SHOAL_LOG(Error) << id.str() << ": " << e.message;
  }
  void OnResumeData(const ArtifactId&, std::vector<char>) override {}
};
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"shoal-seeder: the origin that stores and seeds artifacts"};
  std::string state_dir, listen = "127.0.0.1:0", bt_listen = "127.0.0.1:0", tracker, ready_file;
  SwarmOptions swarm_options;
  bool verbose = false;
  app.add_option("--state-dir", state_dir, "store and index directory")->required();
  app.add_option("--listen", listen, "origin API address (host:port)");
  app.add_option("--bt-listen", bt_listen, "BitTorrent listen address (host:port)");
  app.add_option("--tracker", tracker, "tracker announce URL")->required();
  // Off by default. With 16 nodes fetching at once over 25-50 Mbit/s links it made the origin
  // send ~1.05 copies of the file instead of 1.6-1.8 and the swarm finish 3-13% sooner
  // (bench/netns); but libtorrent hands each peer only one or two pieces at a time, so a lone
  // node (or a fast link) fetching from the origin slows to a crawl (32 MiB: 11 s -> 67 s).
  swarm_options.origin = true;  // nodes tell its bytes from each other's by its peer id
  app.add_flag("--super-seed", swarm_options.super_seed,
               "send each piece once before any twice: for many nodes fetching at once");
  AddSwarmOptions(app, swarm_options);
  app.add_option("--ready-file", ready_file, "written with addresses once serving");
  std::string tracker_key_file;
  double register_interval = 5;
  app.add_option("--tracker-key-file", tracker_key_file,
                 "register every torrent with a closed tracker using the key in this file");
  app.add_option("--register-interval", register_interval,
                 "seconds between re-registrations of everything (a restarted tracker forgets)")
      ->check(CLI::Range(0.05, 3600.0));
  app.add_flag("-v,--verbose", verbose);
  CLI11_PARSE(app, argc, argv);
  log::SetComponent("seeder");
  // Bad flags are refused here, with one line, before anything starts.
  for (Status s :
       {ValidateSwarmOptions(swarm_options), CheckTrackerUrl("--tracker", tracker),
        CheckListenAddress("--listen", listen), CheckListenAddress("--bt-listen", bt_listen)}) {
    if (!s) {
      SHOAL_LOG(Error) << s.error().message;
      return 2;
    }
  }
  if (auto errors = PrepareStateDirAndReadyFile(state_dir, ready_file); !errors.empty()) {
    SHOAL_LOG(Error) << errors.front().message;
    return 2;
  }
  std::string tracker_key;
  if (!tracker_key_file.empty()) {
    auto key = ReadKeyFile("--tracker-key-file", tracker_key_file);
    if (!key) {
      SHOAL_LOG(Error) << key.error().message;
      return 2;
    }
    if (!tracker.starts_with("http://")) {
      SHOAL_LOG(Error) << "--tracker '" << tracker
                       << "': registration (--tracker-key-file) needs an http:// tracker";
      return 2;
    }
    tracker_key = std::move(*key);
  }
  if (verbose) log::SetLevel(log::Level::kDebug);

  asio::io_context io;
  auto store = seeder::OriginStore::Open(state_dir);
  if (!store) {
    SHOAL_LOG(Error) << store.error().message;
    return 1;
  }
  auto origin = ListenTcp(io, listen);
  if (!origin) {
    SHOAL_LOG(Error) << origin.error().message;
    return 1;
  }
  std::filesystem::path admin_path = std::filesystem::path(state_dir) / "admin.sock";
  auto admin = ListenUnix(io, admin_path);
  if (!admin) {
    SHOAL_LOG(Error) << admin.error().message;
    return 1;
  }

  swarm_options.listen = bt_listen;
  swarm_options.tracker_url = tracker;
  SeederEvents events;
  Swarm swarm(io, swarm_options, events);
  // A closed tracker learns the seeder's torrents from it (tracker/registry.h).
  std::unique_ptr<seeder::TrackerRegistrar> registrar;
  if (!tracker_key.empty()) {
    auto all_hashes = [&store] {
      std::vector<std::string> hashes;
      for (const auto& r : (*store)->index().List()) hashes.push_back(r.meta.info_hash_hex);
      return hashes;
    };
    auto made = seeder::TrackerRegistrar::Create(
        io, tracker, tracker_key, all_hashes,
        std::chrono::milliseconds(static_cast<int64_t>(register_interval * 1000)));
    if (!made) {
      SHOAL_LOG(Error) << made.error().message;
      return 2;
    }
    registrar = std::move(*made);
  }
  auto restored_artifacts = (*store)->Restore();
  // Stored artifacts seed once registered (or once registration failed: the registrar retries
  // every period, and libtorrent re-announces).
  auto restore = [&]() -> asio::awaitable<void> {
    if (registrar) {
      std::vector<std::string> hashes;
      for (const auto& a : restored_artifacts) hashes.push_back(a.meta.info_hash_hex);
      if (!hashes.empty()) {
        Status s = co_await registrar->Register(std::move(hashes));
        if (!s) SHOAL_LOG(Warn) << s.error().message;
      }
      asio::co_spawn(io, registrar->Loop(), asio::detached);
    }
    int restored = 0;
    for (auto& artifact : restored_artifacts) {
      auto mode = artifact.unchanged ? Swarm::AddMode::kSeedTrusted : Swarm::AddMode::kSeedVerify;
      if (auto s = swarm.Add(artifact.meta, (*store)->index().objects_dir(), mode); !s) {
        SHOAL_LOG(Error) << s.error().message;
      } else {
        ++restored;
      }
    }
    SHOAL_LOG(Info) << "seeding " << restored << " stored artifact(s)";
  };
  asio::co_spawn(io, restore(), asio::detached);

  std::string origin_addr = origin->local_endpoint().address().to_string() + ":" +
                            std::to_string(origin->local_endpoint().port());
  events.on_listening = [&](int port) {
    std::string bt_host = bt_listen.substr(0, bt_listen.rfind(':'));
    SHOAL_LOG(Info) << "serving: origin " << origin_addr << ", BitTorrent " << bt_host << ":"
                    << port << ", admin " << admin_path.string();
    if (!ready_file.empty()) {
      auto s = WriteReadyFile(ready_file, {{"origin", origin_addr},
                                           {"bt", bt_host + ":" + std::to_string(port)},
                                           {"admin", admin_path.string()}});
      if (!s) SHOAL_LOG(Error) << s.error().message;
    }
  };

  seeder::SeederService service(io, **store, swarm);
  if (registrar) {
    service.before_seed = [&](const ArtifactMeta& meta) -> asio::awaitable<void> {
      // Named, not a temporary inside co_await: GCC 12 may destroy such temporaries twice.
      std::vector<std::string> hashes{meta.info_hash_hex};
      Status s = co_await registrar->Register(std::move(hashes));
      if (!s) {
        SHOAL_LOG(Warn) << s.error().message << " (" << meta.id.str()
                        << "); the registrar retries every period";
      }
    };
  }
  asio::co_spawn(
      io,
      AcceptLoop<asio::ip::tcp>(
          *origin, [&](asio::ip::tcp::socket& s) { return service.Serve(s, /*admin=*/false); }),
      asio::detached);
  asio::co_spawn(
      io,
      AcceptLoop<asio::local::stream_protocol>(*admin,
                                               [&](asio::local::stream_protocol::socket& s) {
                                                 return service.Serve(s, /*admin=*/true);
                                               }),
      asio::detached);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    if (registrar) registrar->Stop();
    io.stop();
  });
  io.run();
  SHOAL_LOG(Info) << "stopping";
  return 0;
}
