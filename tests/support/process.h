// Test support: real child processes (the daemons under test), temporary directories, and
// waiting on ready files. Children are killed (SIGKILL to their process group) on destruction.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace shoal::testing {

// The directory holding the built binaries (shoal-seeder, shoal-node, ...).
std::filesystem::path BinDir();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

class ChildProcess {
 public:
  // Starts `binary` (a name in BinDir() or an absolute path) with `args`; stdout and stderr go
  // to `log_prefix`.out / .err (created fresh).
  ChildProcess(const std::string& binary, const std::vector<std::string>& args,
               const std::filesystem::path& log_prefix);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Kill(int signal = 9);
  // Waits for exit and returns the wait status (as from waitpid), or -1 on timeout.
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::string Stdout() const;
  std::string Stderr() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path out_, err_;
};

// Runs a command to completion; returns {exit status, stdout, stderr}.
struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Polls until `path` exists as a ready file (core/ready_file.h) and returns its values; empty
// map on timeout. Polling a file a daemon writes once is the synchronisation, not a sleep.
std::map<std::string, std::string> WaitForReadyFile(
    const std::filesystem::path& path,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));
// The same for a daemon's own ready file: gives up at once when `daemon` exits without writing
// it (a port already taken, a bad flag), rather than after the whole timeout.
std::map<std::string, std::string> WaitForReadyFile(
    const std::filesystem::path& path, ChildProcess& daemon,
    std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Writes `size` bytes of deterministic pseudo-random data (seeded by `seed`) to `path`.
void WriteRandomFile(const std::filesystem::path& path, uint64_t size, uint64_t seed = 1);

// Overwrites 4 KiB at each of `offsets` in the existing file `path` with 'X's, in place (the same
// inode, as a corrupted cache or an install written in place). False if any write fell short.
bool OverwriteBlocksInPlace(const std::filesystem::path& path,
                            const std::vector<uint64_t>& offsets);

// The whole contents of `path` (empty if it cannot be read).
std::string ReadFileBytes(const std::filesystem::path& path);

// Whole-file digests via OpenSSL, independent of Shoal's own ingest code.
std::string Md5Hex(const std::filesystem::path& path);
std::string Sha256Hex(const std::filesystem::path& path);

}  // namespace shoal::testing
