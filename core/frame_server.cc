#include "core/frame_server.h"

#include <sys/stat.h>

#include <charconv>

namespace shoal {
namespace asio = boost::asio;

Result<std::pair<std::string, uint16_t>> SplitHostPort(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Error::of("address '" + host_port + "'", "want host:port");
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* first = host_port.data() + colon + 1;
  const char* last = host_port.data() + host_port.size();
  auto [ptr, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || ptr != last || port > 65535) {
    return Error::of("address '" + host_port + "'", "bad port");
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Result<asio::local::stream_protocol::acceptor> ListenUnix(asio::io_context& io,
                                                          const std::filesystem::path& path) {
  std::error_code fs_ec;
  std::filesystem::remove(path, fs_ec);
  boost::system::error_code ec;
  asio::local::stream_protocol::acceptor acceptor(io);
  acceptor.open(asio::local::stream_protocol(), ec);
  if (!ec) acceptor.bind(asio::local::stream_protocol::endpoint(path.string()), ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::of(path.string(), "cannot listen: " + ec.message());
  ::chmod(path.c_str(), 0600);
  return acceptor;
}

Result<asio::ip::tcp::endpoint> ParseTcpEndpoint(const std::string& host_port) {
  auto hp = SplitHostPort(host_port);
  if (!hp) return hp.error();
  boost::system::error_code ec;
  auto address = asio::ip::make_address(hp->first, ec);
  if (ec) return Error::of("address '" + host_port + "'", "bad IP address: " + ec.message());
  return asio::ip::tcp::endpoint(address, hp->second);
}

Result<asio::ip::tcp::acceptor> ListenTcp(asio::io_context& io, const std::string& host_port) {
  auto parsed = ParseTcpEndpoint(host_port);
  if (!parsed) return parsed.error();
  asio::ip::tcp::endpoint endpoint = *parsed;
  boost::system::error_code ec;
  asio::ip::tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::of(host_port, "cannot listen: " + ec.message());
  return acceptor;
}

}  // namespace shoal
