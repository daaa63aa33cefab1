// Test helpers for tracker suites: a blocking HTTP/1.1 client on 127.0.0.1 (Beast), raw byte
// exchanges for hostile input, percent-encoding of binary ids, and bencode decoding.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <libtorrent/bdecode.hpp>
#include <string>
#include <string_view>
#include <utility>  // before asio: Boost 1.74 awaitable.hpp uses std::exchange unincluded
#include <vector>

namespace shoal::testing {

struct HttpReply {
  int status = 0;  // 0: no HTTP answer (connection closed or failed)
  std::string body;
};

// Parses "127.0.0.1:1234".
inline boost::asio::ip::tcp::endpoint Endpoint(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  return {boost::asio::ip::make_address(host_port.substr(0, colon)),
          static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1)))};
}

// GET `target` (which must be a valid request target) and return status and body.
inline HttpReply HttpGet(const boost::asio::ip::tcp::endpoint& ep, const std::string& target) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(20));
  boost::system::error_code ec;
  stream.connect(ep, ec);
  if (ec) return {};
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "tracker");
  http::write(stream, req, ec);
  if (ec) return {};
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 30);
  http::read(stream, buffer, parser, ec);
  if (ec) return {};
  return {static_cast<int>(parser.get().result_int()), parser.get().body()};
}

// Sends `bytes` as they are, half-closes, and returns whatever comes back (until EOF).
inline std::string RawExchange(const boost::asio::ip::tcp::endpoint& ep, std::string_view bytes) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(ep, ec);
  if (ec) return "<connect failed: " + ec.message() + ">";
  boost::asio::write(socket, boost::asio::buffer(bytes.data(), bytes.size()), ec);
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  std::string out;
  char chunk[4096];
  for (;;) {
    size_t n = socket.read_some(boost::asio::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec) break;
  }
  return out;
}

// %XX-encodes every byte (what libtorrent does for binary ids, and always valid).
inline std::string UrlEncodeAll(std::string_view bytes) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// A 20-byte id whose bytes start with `tag` and then count from `n` (covers all byte values).
inline std::string Id20(std::string_view tag, int n) {
  std::string id(tag.substr(0, 20));
  while (id.size() < 20) id.push_back(static_cast<char>((n + id.size() * 37) & 0xff));
  return id;
}

// A decoded bencoded body; `ok` false when it did not decode.
struct Bdecoded {
  std::string buffer;  // owns the bytes the node points into
  lt::bdecode_node node;
  bool ok = false;
};
inline std::unique_ptr<Bdecoded> Bdecode(std::string body) {
  auto out = std::make_unique<Bdecoded>();
  out->buffer = std::move(body);
  lt::error_code ec;
  out->node = lt::bdecode(out->buffer, ec);
  out->ok = !ec;
  return out;
}

struct CompactPeer {
  std::string ip;
  uint16_t port = 0;
};
// Splits a BEP 23 compact IPv4 peer string into peers; asserts nothing (size % 6 checked by
// the caller).
inline std::vector<CompactPeer> SplitCompact(std::string_view s) {
  std::vector<CompactPeer> out;
  for (size_t i = 0; i + 6 <= s.size(); i += 6) {
    auto b = reinterpret_cast<const uint8_t*>(s.data() + i);
    out.push_back({std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) +
                       "." + std::to_string(b[3]),
                   static_cast<uint16_t>(b[4] << 8 | b[5])});
  }
  return out;
}

}  // namespace shoal::testing
