// shoal-sim: N virtual nodes (virtual_node.h) against a real planner, over real TLS sockets.
//   shoal-sim --planner HOST:PORT --planner-dir DIR --nodes N [--prefix sim-] [--threads 2]
//             [--connect-rate PER_SECOND] [--sources K] [--ready-file F]
// It mints each virtual node's certificate with the planner's CA key (it runs beside the
// planner, as a test tool), spreads connections over --threads io_contexts and over K loopback
// source addresses (127.0.1.x, for ephemeral ports), staggers connects at --connect-rate, and
// writes the ready file each time every node is registered (again): rounds=K counts those
// times and all_registered_ms is the wall clock of the latest, so a benchmark can kill and
// restart the planner and time the reconnect storm. Virtual nodes reconnect like agents
// (virtual_node.h); --no-resume makes every reconnect a full TLS handshake (the baseline).
// Progress goes to stderr every second.
#include <signal.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <iostream>
#include <thread>

#include "core/net/certs.h"
#include "core/ready_file.h"
#include "planner/sim/virtual_node.h"

int main(int argc, char** argv) {
  using namespace shoal;
  CLI::App app{"shoal-sim: many simulated nodes for planner fan-out benchmarks"};
  std::string planner, planner_dir, prefix = "sim-", ready_file;
  int nodes = 1000, threads = 2, sources = 32;
  double rate = 2000;
  app.add_option("--planner", planner)->required();
  app.add_option("--planner-dir", planner_dir, "holds ca.crt and ca.key")->required();
  app.add_option("--nodes", nodes);
  app.add_option("--prefix", prefix);
  app.add_option("--threads", threads);
  app.add_option("--connect-rate", rate, "new connections per second");
  app.add_option("--sources", sources, "loopback source addresses 127.0.1.1..K (0: default)");
  app.add_option("--ready-file", ready_file);
  bool no_resume = false;
  app.add_flag("--no-resume", no_resume, "never offer session tickets: full handshakes only");
  CLI11_PARSE(app, argc, argv);
  // A planner that dies leaves sockets that fail writes: errors, not a signal that kills us.
  signal(SIGPIPE, SIG_IGN);

  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < static_cast<rlim_t>(nodes) + 64) {
      std::cerr << "shoal-sim: open-file limit " << rl.rlim_cur << " is too low for " << nodes
                << " nodes: run several simulators\n";
      return 1;
    }
  }
  auto ca_crt = net::ReadTextFile(std::filesystem::path(planner_dir) / "ca.crt");
  auto ca_key = net::ReadTextFile(std::filesystem::path(planner_dir) / "ca.key");
  if (!ca_crt || !ca_key) {
    std::cerr << "shoal-sim: cannot read the CA in " << planner_dir << "\n";
    return 1;
  }
  auto ca = net::CertAuthority::Load(*ca_crt, *ca_key);
  auto key = net::GenerateKey();
  auto hp = net::ParseHostPort(planner);
  if (!ca || !key || !hp) {
    std::cerr << "shoal-sim: bad CA or planner address\n";
    return 1;
  }
  sim::SimShared shared;
  shared.host = hp->first;
  shared.port = hp->second;
  shared.key = key->get();
  shared.resume = !no_resume;
  // One context for all: CA to verify the planner; each SSL gets its node's certificate.
  auto self = ca->Issue(key->get(), "sim-template", net::kRoleNode);
  auto tls = net::TlsContext::Client(*ca_crt, *self, net::KeyToPem(key->get()));
  if (!tls) {
    std::cerr << "shoal-sim: " << tls.error().message << "\n";
    return 1;
  }
  shared.tls = *tls;

  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<boost::asio::io_context>> ios;
  for (int i = 0; i < threads; ++i) ios.push_back(std::make_unique<boost::asio::io_context>(1));
  std::vector<std::shared_ptr<sim::VirtualNode>> all;
  for (int i = 0; i < nodes; ++i) {
    std::string name = prefix + std::to_string(i);
    auto pem = ca->Issue(key->get(), name, net::kRoleNode);
    auto cert = net::CertFromPem(*pem);
    std::string source =
        sources > 0 ? "127.0.1." + std::to_string(1 + i % std::min(sources, 250)) : "";
    auto& io = *ios[i % threads];
    auto node = std::make_shared<sim::VirtualNode>(io, shared, name, cert->release(), source);
    auto delay = std::chrono::milliseconds(static_cast<int64_t>(i * 1000.0 / rate));
    boost::asio::co_spawn(
        io, [node, delay] { return node->Run(delay); }, boost::asio::detached);
    all.push_back(node);
  }
  double mint_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cerr << "minted " << nodes << " certificates in " << mint_s << " s\n";
  t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (auto& io : ios) {
    workers.emplace_back([&io] {
      auto guard = boost::asio::make_work_guard(*io);
      io->run();
    });
  }
  // Polls the counters every 5 ms (to time "all registered" closely) and reports each second.
  bool all_in = false;
  int rounds = 0;
  auto next_report = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - t0).count();
    uint64_t w = shared.welcomed.load();
    if (now >= next_report) {
      next_report += std::chrono::seconds(1);
      std::cerr << "t=" << s << "s registered=" << w << "/" << nodes
                << " connects=" << shared.connects.load() << " resumed=" << shared.resumed.load()
                << " retries=" << shared.failures.load() << " tasks=" << shared.tasks.load()
                << "\n";
    }
    if (all_in && w < static_cast<uint64_t>(nodes)) all_in = false;
    if (!all_in && w == static_cast<uint64_t>(nodes)) {
      all_in = true;
      ++rounds;
      int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
      std::cerr << "all " << nodes << " registered (round " << rounds << ") at t=" << s << "s\n";
      if (!ready_file.empty()) {
        (void)WriteReadyFile(ready_file, {{"nodes", std::to_string(nodes)},
                                          {"connect_seconds", std::to_string(s)},
                                          {"rounds", std::to_string(rounds)},
                                          {"all_registered_ms", std::to_string(wall_ms)},
                                          {"connects", std::to_string(shared.connects.load())},
                                          {"resumed", std::to_string(shared.resumed.load())}});
      }
    }
  }
}
