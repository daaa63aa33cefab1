// The control-plane commands' connection to the planner: where it is (flags, environment,
// planner.ready), one request/reply call, and re-attaching after the connection is lost.
//
// Re-attach: once a connection has worked, a call that fails on the transport (reset, closed,
// refused while the planner restarts) says so in one line and is retried on a fresh connection
// (the address re-read from planner.ready each time: a restarted planner may have moved), with
// exponential backoff and full jitter, until --reattach-timeout passes. Only requests that are
// safe to send twice are retried: queries, and run/apply/rerun carrying a request id (the
// planner answers a repeated id with the run it already started). A first connection that
// fails is reported at once: a wrong address should not hang for minutes.
//
// A planner that vanishes without closing the connection (its host lost, the network cut, the
// process hung) is noticed by --planner-timeout: it answers every request at once, so a reply
// that takes longer counts as a lost connection, and the same re-attach follows.
#include <capnp/message.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <thread>

#include "core/framing.h"
#include "core/net/control_client.h"
#include "proto/control.capnp.h"
#include "tools/shoal/commands.h"

namespace shoal::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<net::ControlClient>& Client() {
  static std::unique_ptr<net::ControlClient> client;
  return client;
}

std::string RunLabel(uint64_t run_id) {
  return run_id ? "run " + std::to_string(run_id) : "run not confirmed yet";
}

// Exits 1 with the planner's failure message if the reply is one; returns the reply otherwise.
std::unique_ptr<Frame> CheckReply(std::unique_ptr<Frame> reply) {
  auto failure = ReadSafely([&]() -> std::string {
    auto r = reply->Root<proto::CliReply>();
    return r.isFailure() ? std::string(r.getFailure().getMessage()) : std::string();
  });
  if (!failure || !failure->empty()) {
    std::cerr << "shoal: " << (failure ? *failure : failure.error().message) << "\n";
    std::exit(1);
  }
  return reply;
}

}  // namespace

void AddPlannerFlags(CLI::App* command, PlannerFlags& flags) {
  command->add_option("--planner-dir", flags.dir,
                      "planner state dir with ca.crt, admin.crt/key, planner.ready "
                      "(default: $SHOAL_PLANNER_DIR)");
  command->add_option("--planner", flags.address, "HOST:PORT (default: from planner.ready)");
  command->add_option("--planner-timeout", flags.timeout_s,
                      "seconds a connect or a reply may take before the planner counts as gone "
                      "(it answers at once when alive)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
}

namespace {
std::chrono::milliseconds Timeout(const PlannerFlags& flags) {
  return std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_s * 1000));
}
}  // namespace

void AddReattachFlag(CLI::App* command, PlannerFlags& flags) {
  flags.reattach_timeout_s = kDefaultReattachSeconds;
  command->add_option("--reattach-timeout", flags.reattach_timeout_s,
                      "seconds to keep re-attaching after the planner connection is lost "
                      "(0: give up at once)")
      ->capture_default_str();
}

std::string NewRequestId() {
  std::random_device rd;
  char id[33];
  std::snprintf(id, sizeof id, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return id;
}

std::unique_ptr<Frame> CallPlanner(const PlannerFlags& flags, capnp::MessageBuilder& request,
                                   uint64_t run_id) {
  auto& client = Client();
  if (!client) {
    auto c = net::ControlClient::Open(flags.dir, flags.address, Timeout(flags));
    if (!c) {
      std::cerr << "shoal: " << c.error().message << "\n";
      std::exit(1);
    }
    client = std::move(*c);
  }
  auto reply = client->Call(request);
  if (reply) return CheckReply(std::move(*reply));

  // The connection is gone (or the planner with it).
  client.reset();
  std::string why = reply.error().message;
  if (flags.reattach_timeout_s <= 0) {
    std::cerr << "shoal: planner: " << why << "\n";
    std::exit(1);
  }
  const bool tty = isatty(STDERR_FILENO);
  std::fprintf(stderr, "%sshoal: planner connection lost (%s): %s; re-attaching...\n",
               tty ? "\r\033[K" : "", RunLabel(run_id).c_str(), why.c_str());
  const auto lost = Clock::now();
  const auto deadline =
      lost + std::chrono::milliseconds(static_cast<int64_t>(flags.reattach_timeout_s * 1000));
  std::mt19937_64 rng(std::random_device{}());
  auto cap = std::chrono::milliseconds(250);
  for (int attempt = 1;; ++attempt) {
    // Full jitter: anywhere up to the current cap, so many clients do not retry in lockstep.
    auto wait = std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(50, cap.count())(rng));
    cap = std::min(cap * 2, std::chrono::milliseconds(5000));
    if (Clock::now() + wait > deadline) wait = std::max(
        std::chrono::milliseconds(0),
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    std::this_thread::sleep_for(wait);
    auto c = net::ControlClient::Open(flags.dir, flags.address, Timeout(flags));
    if (c) {
      auto again = (*c)->Call(request);
      if (again) {
        client = std::move(*c);
        double secs = std::chrono::duration<double>(Clock::now() - lost).count();
        std::fprintf(stderr, "shoal: re-attached to the planner (%s) after %.1f s\n",
                     RunLabel(run_id).c_str(), secs);
        return CheckReply(std::move(*again));
      }
      why = again.error().message;
    } else {
      why = c.error().message;
    }
    if (Clock::now() >= deadline) {
      std::fprintf(stderr,
                   "shoal: planner unreachable for %.0f s (%s): %s; gave up re-attaching after "
                   "%d attempts%s\n",
                   flags.reattach_timeout_s, RunLabel(run_id).c_str(), why.c_str(), attempt,
                   run_id ? (" (`shoal watch " + std::to_string(run_id) +
                             "` follows the run once the planner is back)")
                                .c_str()
                          : "");
      std::exit(1);
    }
  }
}

}  // namespace shoal::cli
