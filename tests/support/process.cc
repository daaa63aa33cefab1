#include "tests/support/process.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/digest.h"
#include "core/ready_file.h"

extern char** environ;

namespace shoal::testing {
namespace fs = std::filesystem;

fs::path BinDir() { return SHOAL_BIN_DIR; }

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "shoal-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (!std::getenv("SHOAL_KEEP_TEMP")) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

ChildProcess::ChildProcess(const std::string& binary, const std::vector<std::string>& args,
                           const fs::path& log_prefix)
    : out_(log_prefix.string() + ".out"), err_(log_prefix.string() + ".err") {
  fs::path exe = binary.find('/') == std::string::npos ? BinDir() / binary : fs::path(binary);
  std::vector<std::string> argv_storage{exe.string()};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  int rc = posix_spawn(&pid_, exe.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("posix_spawn " + exe.string() + " failed");
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    Kill(SIGKILL);
    Wait();
  }
}

bool ChildProcess::running() {
  if (reaped_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

void ChildProcess::Kill(int signal) {
  if (!reaped_) ::kill(-pid_, signal);
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return status;
    }
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

static std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ChildProcess::Stdout() const { return Slurp(out_); }
std::string ChildProcess::Stderr() const { return Slurp(err_); }

CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout) {
  TempDir logs;
  CommandResult result;
  ChildProcess child(binary, args, logs / "cmd");
  int status = child.Wait(timeout);
  if (status == -1) {
    child.Kill(SIGKILL);
    child.Wait();
    result.exit_code = -1;
  } else {
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  result.out = child.Stdout();
  result.err = child.Stderr();
  return result;
}

static std::map<std::string, std::string> WaitForReadyFileWhile(
    const fs::path& path, std::chrono::milliseconds timeout, const std::function<bool()>& alive) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) {
      if (auto values = ReadReadyFile(path); values) return *values;
    }
    if (!alive()) return {};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

std::map<std::string, std::string> WaitForReadyFile(const fs::path& path,
                                                    std::chrono::milliseconds timeout) {
  return WaitForReadyFileWhile(path, timeout, [] { return true; });
}

std::map<std::string, std::string> WaitForReadyFile(const fs::path& path, ChildProcess& daemon,
                                                    std::chrono::milliseconds timeout) {
  return WaitForReadyFileWhile(path, timeout, [&] { return daemon.running(); });
}

void WriteRandomFile(const fs::path& path, uint64_t size, uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> block(1 << 16);
  for (uint64_t written = 0; written < size;) {
    for (auto& w : block) w = rng();
    uint64_t n = std::min<uint64_t>(size - written, block.size() * sizeof(uint64_t));
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    written += n;
  }
}

bool OverwriteBlocksInPlace(const fs::path& path, const std::vector<uint64_t>& offsets) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string junk(4096, 'X');
  bool ok = true;
  for (uint64_t offset : offsets)
    ok = ok && ::pwrite(fd, junk.data(), junk.size(), static_cast<off_t>(offset)) ==
                   static_cast<ssize_t>(junk.size());
  ::close(fd);
  return ok;
}

static std::string DigestHex(const fs::path& path, const EVP_MD* md) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return ToHex({out, len});
}

std::string ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Md5Hex(const fs::path& path) { return DigestHex(path, EVP_md5()); }
std::string Sha256Hex(const fs::path& path) { return DigestHex(path, EVP_sha256()); }

}  // namespace shoal::testing
