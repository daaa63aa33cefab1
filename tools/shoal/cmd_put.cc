// shoal put FILE: adds a file to the seeder's store and prints its id and MD5.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/admin_client.h"
#include "proto/seeder.capnp.h"
#include "tools/shoal/commands.h"
#include "tools/shoal/progress_line.h"

namespace shoal::cli {
namespace {
std::string DefaultSocket(const char* env, const char* fallback) {
  const char* v = std::getenv(env);
  return v ? v : fallback;
}
}  // namespace

void AddPutCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("put", "add a file to the seeder's store and start seeding it");
  struct Options {
    std::string file, name, socket;
  };
  auto opts = std::make_shared<Options>();
  opts->socket = DefaultSocket("SHOAL_SEEDER_SOCKET", "/var/lib/shoal/seeder/admin.sock");
  cmd->add_option("FILE", opts->file, "file to add")->required()->check(CLI::ExistingFile);
  cmd->add_option("--name", opts->name, "display name (default: the file name)");
  cmd->add_option("--seeder", opts->socket, "seeder admin socket ($SHOAL_SEEDER_SOCKET)");
  cmd->callback([opts] {
    std::error_code ec;
    auto path = std::filesystem::absolute(opts->file, ec);
    capnp::MallocMessageBuilder request;
    auto put = request.initRoot<proto::SeederRequest>().initPut();
    put.setPath(path.string());
    put.setName(opts->name);
    ProgressLine progress;
    auto status = AdminCall(opts->socket, request, [&](Frame& frame) -> Result<bool> {
      auto reply = frame.Root<proto::SeederReply>();
      if (reply.isProgress()) {
        auto p = reply.getProgress();
        progress.Update(p.getPhase().cStr(), p.getDone(), p.getTotal());
        return false;
      }
      progress.Finish();
      if (reply.isFailure()) return Error{reply.getFailure().getMessage().cStr()};
      if (!reply.isArtifact()) return Error{"unexpected reply from the seeder"};
      auto a = reply.getArtifact();
      std::printf("%s  md5:%s  %llu bytes  %s\n", a.getId().cStr(), a.getMd5().cStr(),
                  static_cast<unsigned long long>(a.getSize()), a.getName().cStr());
      return true;
    });
    if (!status) {
      std::fprintf(stderr, "shoal put: %s\n", status.error().message.c_str());
      std::exit(1);
    }
  });
}

}  // namespace shoal::cli
