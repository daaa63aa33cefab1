#include "core/startup_checks.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "core/frame_server.h"

namespace shoal {
namespace fs = std::filesystem;

namespace {
Error Bad(const std::string& flag, const std::string& value, const std::string& why) {
  return Error{flag + " '" + value + "': " + why};
}

// Whether a file can be created in `dir` (a real probe: access(2) ignores read-only mounts
// and is fooled by some ACL setups).
Status ProbeWritable(const std::string& flag, const fs::path& dir) {
  fs::path probe = dir / (".shoal-write-probe." + std::to_string(::getpid()));
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Bad(flag, dir.string(), std::string("cannot create files there: ") + strerror(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::Ok();
}
}  // namespace

Status CheckTrackerUrl(const std::string& flag, const std::string& url) {
  if (url.empty()) return Bad(flag, url, "empty; want http://HOST:PORT/announce");
  std::string rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return Bad(flag, url, "want an http:// or https:// announce URL");
  }
  auto slash = rest.find('/');
  if (slash == std::string::npos) return Bad(flag, url, "no path (e.g. /announce)");
  std::string authority = rest.substr(0, slash);
  if (authority.empty()) return Bad(flag, url, "no host");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return Bad(flag, url, "spaces or control characters");
  }
  std::string host = authority;
  bool bracketed = !host.empty() && host.front() == '[';
  auto colon = bracketed ? host.find("]:") : host.rfind(':');
  if (bracketed && host.back() != ']' && colon == std::string::npos)
    return Bad(flag, url, "unterminated IPv6 host");
  if (colon != std::string::npos) {
    std::string port_text = host.substr(colon + (bracketed ? 2 : 1));
    host = host.substr(0, bracketed ? colon + 1 : colon);
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return Bad(flag, url, "bad port '" + port_text + "'");
    }
  }
  if (host.empty() || host == "[]") return Bad(flag, url, "no host");
  return Status::Ok();
}

Status CheckConnectAddress(const std::string& flag, const std::string& host_port) {
  if (host_port.empty()) return Bad(flag, host_port, "empty; want HOST:PORT");
  auto hp = SplitHostPort(host_port);
  if (!hp) return Bad(flag, host_port, "want HOST:PORT");
  if (hp->first.empty()) return Bad(flag, host_port, "no host");
  if (hp->second == 0) return Bad(flag, host_port, "port 0 is not an address to connect to");
  return Status::Ok();
}

Status CheckListenAddress(const std::string& flag, const std::string& host_port) {
  auto endpoint = ParseTcpEndpoint(host_port);
  if (!endpoint) return Bad(flag, host_port, "want IP:PORT (port 0: any free port)");
  return Status::Ok();
}

Result<fs::path> PrepareStateDir(const std::string& flag, const fs::path& dir) {
  if (dir.empty()) return Bad(flag, "", "empty");
  std::error_code ec;
  fs::path abs = fs::absolute(dir, ec).lexically_normal();
  if (ec) return Bad(flag, dir.string(), ec.message());
  fs::create_directories(abs, ec);
  if (ec) return Bad(flag, dir.string(), "cannot create: " + ec.message());
  if (!fs::is_directory(abs, ec)) return Bad(flag, dir.string(), "not a directory");
  if (auto s = ProbeWritable(flag, abs); !s) return s.error();
  return abs;
}

Result<fs::path> ResolveReadyFile(const std::string& flag, const fs::path& path) {
  if (path.empty()) return path;
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec).lexically_normal();
  if (ec) return Bad(flag, path.string(), ec.message());
  if (!abs.has_filename()) return Bad(flag, path.string(), "names a directory, not a file");
  fs::path parent = abs.parent_path();
  if (!fs::is_directory(parent, ec)) {
    return Bad(flag, path.string(), "directory " + parent.string() + " does not exist");
  }
  if (fs::is_directory(abs, ec)) return Bad(flag, path.string(), "is a directory");
  if (auto s = ProbeWritable(flag, parent); !s) return s.error();
  return abs;
}

std::vector<Error> PrepareStateDirAndReadyFile(std::string& state_dir, std::string& ready_file) {
  auto state_path = PrepareStateDir("--state-dir", state_dir);
  auto ready_path = ResolveReadyFile("--ready-file", ready_file);
  std::vector<Error> errors;
  if (!state_path) errors.push_back(state_path.error());
  if (!ready_path) errors.push_back(ready_path.error());
  if (errors.empty()) {
    state_dir = state_path->string();
    ready_file = ready_path->string();
  }
  return errors;
}

Result<std::string> ReadKeyFile(const std::string& flag, const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Bad(flag, path.string(), "cannot read");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.pop_back();
  size_t start = line.find_first_not_of(" \t");
  std::string key = start == std::string::npos ? "" : line.substr(start);
  if (key.size() < 16) return Bad(flag, path.string(), "key shorter than 16 characters");
  for (char c : key) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return Bad(flag, path.string(), "key has spaces or control characters");
    }
  }
  return key;
}

}  // namespace shoal
