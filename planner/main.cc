// shoal-planner: the control plane's central daemon.
//   shoal-planner init  --state-dir DIR [--admin NAME]   create the CA and certificates
//   shoal-planner serve --state-dir DIR [--listen HOST:PORT] [--ready-file F]
//                       [--keep-runs 30d] [--keep-runs-bytes 1G] [--handshake-threads N]
//   shoal-planner revoke NAME --state-dir DIR            revoke a node (closes its session)
//   shoal-planner issue-admin NAME --state-dir DIR --out PREFIX
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <algorithm>
#include <iostream>
#include <thread>

#include "core/log.h"
#include "core/net/control_client.h"
#include "core/ready_file.h"
#include "core/units.h"
#include "planner/planner.h"
#include "proto/control.capnp.h"

namespace {
using namespace shoal;

// A planner holds one descriptor per node: take every descriptor the hard limit allows.
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// `serve` flags given as text and parsed (and refused) before anything starts.
struct ServeFlags {
  std::string keep_runs = "30d", keep_runs_bytes = "1G", lost_after = "10m",
              keep_audit = "365d";
};

// Default: one handshake thread per core (the planner's own thread mostly waits during a
// reconnect storm: the handshakes are the work).
size_t DefaultHandshakeThreads() { return std::max(1u, std::thread::hardware_concurrency()); }

int Serve(const std::string& state_dir, const std::string& listen, std::string ready_file,
          uint32_t heartbeat_ms, const ServeFlags& flags, size_t handshake_threads) {
  planner::Planner::Options options;
  if (handshake_threads > 256) {
    std::cerr << "shoal-planner: --handshake-threads " << handshake_threads
              << ": at most 256\n";
    return 2;
  }
  options.handshake_threads = handshake_threads;
  // Bad flags are refused before anything starts, with one line and exit status 2.
  auto keep_ms = ParseAgeMs(flags.keep_runs);
  if (!keep_ms) {
    std::cerr << "shoal-planner: --keep-runs " << keep_ms.error().message << "\n";
    return 2;
  }
  auto keep_bytes = ParseByteSize(flags.keep_runs_bytes);
  if (keep_bytes && *keep_bytes != 0 && *keep_bytes < (uint64_t{1} << 20)) {
    keep_bytes = Error::of(flags.keep_runs_bytes, "too small: at least 1M (0: no size cap)");
  }
  if (!keep_bytes) {
    std::cerr << "shoal-planner: --keep-runs-bytes " << keep_bytes.error().message << "\n";
    return 2;
  }
  auto lost_after_ms = ParseAgeMs(flags.lost_after);
  if (!lost_after_ms) {
    std::cerr << "shoal-planner: --lost-after " << lost_after_ms.error().message << "\n";
    return 2;
  }
  options.lost_after_ms = *lost_after_ms;
  auto keep_audit_ms = ParseAgeMs(flags.keep_audit);
  if (!keep_audit_ms) {
    std::cerr << "shoal-planner: --keep-audit " << keep_audit_ms.error().message << "\n";
    return 2;
  }
  options.keep_audit_ms = *keep_audit_ms;
  options.keep_runs_ms = *keep_ms;
  options.keep_runs_bytes = *keep_bytes;
  RaiseFileLimit();
  boost::asio::io_context io(1);
  options.dir.root = state_dir;
  options.listen = listen;
  options.heartbeat_ms = heartbeat_ms;
  options.offline_after_ms = heartbeat_ms * 3 + 1000;
  auto p = planner::Planner::Open(io, options);
  if (!p) {
    std::cerr << "shoal-planner: " << p.error().message << "\n";
    return 1;
  }
  auto ep = (*p)->Start();
  if (!ep) {
    std::cerr << "shoal-planner: " << ep.error().message << "\n";
    return 1;
  }
  std::string address = ep->address().to_string() + ":" + std::to_string(ep->port());
  if (ready_file.empty()) ready_file = options.dir.ready().string();
  if (auto s =
          WriteReadyFile(ready_file, {{"address", address}, {"pid", std::to_string(getpid())}});
      !s) {
    std::cerr << "shoal-planner: " << s.error().message << "\n";
    return 1;
  }
  SHOAL_LOG(Info) << "listening on " << address;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    (*p)->Stop();
    io.stop();
  });
  io.run();
  return 0;
}

int Revoke(const std::string& state_dir, const std::string& name) {
  auto config = net::ResolveClientConfig(state_dir, "");
  if (!config) {
    std::cerr << "shoal-planner: " << config.error().message << "\n";
    return 1;
  }
  auto client = net::ControlClient::Connect(*config);
  if (!client) {
    std::cerr << "shoal-planner: " << client.error().message << "\n";
    return 1;
  }
  capnp::MallocMessageBuilder request;
  request.initRoot<proto::CliRequest>().setRevoke(name);
  auto reply = (*client)->Call(request);
  if (!reply) {
    std::cerr << "shoal-planner: " << reply.error().message << "\n";
    return 1;
  }
  std::cout << "revoked " << name << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  shoal::log::SetComponent("planner");
  CLI::App app{"shoal-planner: central dispatch for Shoal nodes"};
  app.require_subcommand(1);
  std::string state_dir, listen = "127.0.0.1:7400", ready_file, admin = "admin", name, out;
  uint32_t heartbeat_ms = 5000;
  ServeFlags serve_flags;
  size_t handshake_threads = DefaultHandshakeThreads();

  auto* init = app.add_subcommand("init", "create the fleet CA, planner and admin certificates");
  init->add_option("--state-dir", state_dir)->required();
  init->add_option("--admin", admin, "CN of the first admin certificate");
  init->callback([&] {
    planner::StateDir dir{state_dir};
    if (auto s = planner::InitStateDir(dir, admin); !s) {
      std::cerr << "shoal-planner init: " << s.error().message << "\n";
      std::exit(1);
    }
    std::cout << "initialised " << state_dir << "\n";
  });

  auto* serve = app.add_subcommand("serve", "run the planner");
  serve->add_option("--state-dir", state_dir)->required();
  serve->add_option("--listen", listen, "HOST:PORT (port 0: any)");
  serve->add_option("--ready-file", ready_file, "default: STATE_DIR/planner.ready");
  serve->add_option("--heartbeat-ms", heartbeat_ms, "node heartbeat interval");
  serve->add_option("--keep-runs", serve_flags.keep_runs,
                    "prune finished runs older than this (e.g. 30d, 12h; default 30d)");
  serve->add_option("--keep-runs-bytes", serve_flags.keep_runs_bytes,
                    "prune the oldest finished runs past this much run data (default 1G; 0: none)");
  serve->add_option("--keep-audit", serve_flags.keep_audit,
                    "delete audit entries older than this (default 365d)");
  serve->add_option("--lost-after", serve_flags.lost_after,
                    "a host offline this long with tasks in flight: they end as lost and their "
                    "runs move on (default 10m)");
  serve->add_option("--handshake-threads", handshake_threads,
                    "threads running TLS handshakes (default: one per core; 0: the planner's "
                    "own thread)");
  serve->callback([&] {
    std::exit(Serve(state_dir, listen, ready_file, heartbeat_ms, serve_flags, handshake_threads));
  });

  auto* revoke = app.add_subcommand("revoke", "revoke a node's certificate by name");
  revoke->add_option("name", name)->required();
  revoke->add_option("--state-dir", state_dir)->required();
  revoke->callback([&] { std::exit(Revoke(state_dir, name)); });

  auto* issue = app.add_subcommand("issue-admin", "issue another operator certificate");
  issue->add_option("name", name)->required();
  issue->add_option("--state-dir", state_dir)->required();
  issue->add_option("--out", out, "writes OUT.crt and OUT.key")->required();
  issue->callback([&] {
    if (auto s = planner::IssueAdminCert(planner::StateDir{state_dir}, name, out); !s) {
      std::cerr << "shoal-planner: " << s.error().message << "\n";
      std::exit(1);
    }
  });
  CLI11_PARSE(app, argc, argv);
  return 0;
}
