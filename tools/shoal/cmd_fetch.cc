// shoal fetch ID DEST: asks a node to fetch an artifact through the swarm and install it.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/admin_client.h"
#include "proto/node_local.capnp.h"
#include "tools/shoal/commands.h"
#include "tools/shoal/progress_line.h"

namespace shoal::cli {

void AddFetchCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "fetch", "fetch an artifact on a node through the swarm, verify it and install it at DEST");
  struct Options {
    std::string id, dest, socket, mode = "0644";
  };
  auto opts = std::make_shared<Options>();
  const char* env = std::getenv("SHOAL_NODE_SOCKET");
  opts->socket = env ? env : "/var/lib/shoal/node/admin.sock";
  cmd->add_option("ID", opts->id, "artifact id (sha256:<hex>)")->required();
  cmd->add_option("DEST", opts->dest, "install path on the node (inside its allowed roots)");
  cmd->add_option("--node", opts->socket, "node admin socket ($SHOAL_NODE_SOCKET)");
  cmd->add_option("--mode", opts->mode, "file mode, octal");
  cmd->callback([opts] {
    char* end = nullptr;
    unsigned long mode = std::strtoul(opts->mode.c_str(), &end, 8);
    if (*end != '\0' || mode > 07777) {
      std::fprintf(stderr, "shoal fetch: --mode '%s' is not an octal file mode\n",
                   opts->mode.c_str());
      std::exit(2);
    }
    std::string dest;
    if (!opts->dest.empty()) dest = std::filesystem::absolute(opts->dest).lexically_normal();
    capnp::MallocMessageBuilder request;
    auto fetch = request.initRoot<proto::NodeRequest>().initFetch();
    fetch.setId(opts->id);
    fetch.setDest(dest);
    fetch.setMode(static_cast<uint32_t>(mode));
    ProgressLine progress;
    auto status = AdminCall(opts->socket, request, [&](Frame& frame) -> Result<bool> {
      auto reply = frame.Root<proto::NodeReply>();
      if (reply.isProgress()) {
        auto p = reply.getProgress();
        progress.Update(p.getPhase().cStr(), p.getDone(), p.getTotal(), p.getRate(),
                        static_cast<int>(p.getPeers()));
        return false;
      }
      progress.Finish();
      if (reply.isFailure()) return Error{reply.getFailure().getMessage().cStr()};
      if (!reply.isFetched()) return Error{"unexpected reply from the node"};
      auto f = reply.getFetched();
      auto a = f.getArtifact();
      std::printf("%s  md5:%s  %s  %.3f s  %llu bytes from peers%s\n", a.getId().cStr(),
                  a.getMd5().cStr(), f.getPath().cStr(), f.getSeconds(),
                  static_cast<unsigned long long>(f.getDownloadedBytes()),
                  f.getFromCache() ? "  (cached)" : "");
      return true;
    });
    if (!status) {
      std::fprintf(stderr, "shoal fetch: %s\n", status.error().message.c_str());
      std::exit(1);
    }
  });
}

}  // namespace shoal::cli
