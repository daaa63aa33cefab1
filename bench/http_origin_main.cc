// shoal-http-origin --root DIR --listen 127.0.0.1:0 --ready-file PATH --upload-limit BYTES/S
// Serves the files directly under DIR; all connections share one upload token bucket.
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "bench/http_origin.h"
#include "core/frame_server.h"
#include "core/log.h"
#include "core/ready_file.h"

int main(int argc, char** argv) {
  using namespace shoal;
  CLI::App app{"shoal-http-origin: rate-limited static HTTP origin (benchmark baseline)"};
  bench::OriginOptions options;
  std::string listen = "127.0.0.1:0", ready_file;
  bool verbose = false;
  app.add_option("--root", options.root, "directory whose files are served")->required();
  app.add_option("--listen", listen, "address:port (port 0: any free port)");
  app.add_option("--ready-file", ready_file, "written (http=HOST:PORT) once listening");
  app.add_option("--upload-limit", options.upload_limit,
                 "bytes per second over all connections (0: unlimited)");
  app.add_option("--chunk", options.chunk_bytes, "bytes per paced write")
      ->check(CLI::Range(size_t{1024}, size_t{16} << 20));
  app.add_flag("-v,--verbose", verbose, "log every file sent");
  CLI11_PARSE(app, argc, argv);
  log::SetComponent("http-origin");
  if (verbose) log::SetLevel(log::Level::kDebug);

  auto endpoint = ParseTcpEndpoint(listen);
  if (!endpoint.ok()) {
    SHOAL_LOG(Error) << "--listen: " << endpoint.error().message;
    return 2;
  }
  boost::asio::io_context io(1);
  auto origin = bench::HttpOrigin::Start(io, *endpoint, options);
  if (!origin.ok()) {
    SHOAL_LOG(Error) << origin.error().message;
    return 1;
  }
  auto bound = (*origin)->local_endpoint();
  std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]"
                                             : bound.address().to_string();
  std::string hostport = host + ":" + std::to_string(bound.port());
  SHOAL_LOG(Info) << "serving " << options.root << " on " << hostport << ", upload limit "
                  << options.upload_limit << " B/s";
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) (*origin)->Stop();
  });
  if (!ready_file.empty()) {
    if (Status s = WriteReadyFile(ready_file, {{"http", hostport}}); !s.ok()) {
      SHOAL_LOG(Error) << "ready file: " << s.error().message;
      return 1;
    }
  }
  io.run();
  return 0;
}
