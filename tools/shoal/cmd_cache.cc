// shoal cache ls | rm ID | gc [--to BYTES]: a node's artifact cache, over its admin socket.
//   ls   every object, least recently used first: id, size, state, last use, name
//   rm   removes one object (refused while pinned or downloading); installed copies stay
//   gc   evicts least recently used unpinned objects down to --to BYTES (default: the node's
//        --cache-max-bytes, or everything unpinned when it has no quota)
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "core/admin_client.h"
#include "proto/node_local.capnp.h"
#include "tools/shoal/commands.h"

namespace shoal::cli {
namespace {

std::string When(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t t = unix_ms / 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

Result<uint64_t> ParseBytes(const std::string& text) {
  char* end = nullptr;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str()) return Error::of(text, "want bytes, e.g. 20G");
  std::string suffix(end);
  int shift = suffix.empty()  ? 0
              : suffix == "K" ? 10
              : suffix == "M" ? 20
              : suffix == "G" ? 30
              : suffix == "T" ? 40
                              : -1;
  if (shift < 0) return Error::of(text, "want bytes with an optional K, M, G or T suffix");
  return static_cast<uint64_t>(n) << shift;
}

// Sends `request` and prints the node's cache report; exits 1 on failure.
void CallAndPrint(const std::string& socket, capnp::MallocMessageBuilder& request,
                  bool list_entries) {
  auto status = AdminCall(socket, request, [&](Frame& frame) -> Result<bool> {
    auto reply = frame.Root<proto::NodeReply>();
    if (reply.isFailure()) return Error{reply.getFailure().getMessage().cStr()};
    if (!reply.isCache()) return Error{"unexpected reply from the node"};
    auto c = reply.getCache();
    for (auto r : c.getRemoved()) {
      std::printf("removed %s  %llu bytes  %s\n", r.getId().cStr(),
                  static_cast<unsigned long long>(r.getSize()), r.getName().cStr());
    }
    if (list_entries) {
      for (auto e : c.getEntries()) {
        auto a = e.getArtifact();
        const char* state = !e.getVerified() ? "partial" : e.getPinned() ? "pinned" : "cached";
        std::printf("%s  %12llu  %-7s  %s  %s\n", a.getId().cStr(),
                    static_cast<unsigned long long>(a.getSize()), state,
                    When(e.getLastUsedMs()).c_str(), a.getName().cStr());
      }
    }
    std::printf("%u objects, %llu bytes (%llu pinned)", c.getEntries().size(),
                static_cast<unsigned long long>(c.getTotalBytes()),
                static_cast<unsigned long long>(c.getPinnedBytes()));
    if (c.getMaxBytes() > 0) {
      std::printf(", quota %llu bytes", static_cast<unsigned long long>(c.getMaxBytes()));
    }
    std::printf("\n");
    return true;
  });
  if (!status) {
    std::fprintf(stderr, "shoal cache: %s\n", status.error().message.c_str());
    std::exit(1);
  }
}

}  // namespace

void AddCacheCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("cache", "a node's artifact cache: ls, rm ID, gc");
  cmd->require_subcommand(1);
  auto socket = std::make_shared<std::string>();
  const char* env = std::getenv("SHOAL_NODE_SOCKET");
  *socket = env ? env : "/var/lib/shoal/node/admin.sock";
  auto add_node = [socket](CLI::App* sub) {
    sub->add_option("--node", *socket, "node admin socket ($SHOAL_NODE_SOCKET)");
  };

  auto* ls = cmd->add_subcommand("ls", "list cached objects, least recently used first");
  add_node(ls);
  ls->callback([socket] {
    capnp::MallocMessageBuilder request;
    request.initRoot<proto::NodeRequest>().setCacheList();
    CallAndPrint(*socket, request, true);
  });

  auto* rm = cmd->add_subcommand("rm", "remove an object from the cache (not installed files)");
  auto id = std::make_shared<std::string>();
  rm->add_option("ID", *id, "artifact id (sha256:<hex>)")->required();
  add_node(rm);
  rm->callback([socket, id] {
    capnp::MallocMessageBuilder request;
    request.initRoot<proto::NodeRequest>().setCacheRemove(*id);
    CallAndPrint(*socket, request, false);
  });

  auto* gc = cmd->add_subcommand("gc", "evict least recently used unpinned objects");
  auto to = std::make_shared<std::string>();
  gc->add_option("--to", *to, "evict down to this many bytes (e.g. 10G; default: the quota)");
  add_node(gc);
  gc->callback([socket, to] {
    capnp::MallocMessageBuilder request;
    auto q = request.initRoot<proto::NodeRequest>().initCacheGc();
    if (to->empty()) {
      q.setToQuota(true);
    } else {
      auto bytes = ParseBytes(*to);
      if (!bytes) {
        std::fprintf(stderr, "shoal cache gc: --to %s\n", bytes.error().message.c_str());
        std::exit(2);
      }
      q.setTargetBytes(*bytes);
    }
    CallAndPrint(*socket, request, false);
  });
}

}  // namespace shoal::cli
