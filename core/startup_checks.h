// Start-up checks of daemon flags, shared by shoal-tracker, shoal-seeder and shoal-node: a bad
// flag is refused before anything starts, with one line that names the flag and the value, and
// the daemon exits non-zero (2) rather than logging an error and running half-configured.
//
// Each check returns the Error to print; the message starts with the flag name.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace shoal {

// An announce URL: http:// or https://, a non-empty host, an optional port in 1..65535, and a
// path (e.g. http://10.0.0.1:6969/announce).
Status CheckTrackerUrl(const std::string& flag, const std::string& url);

// A peer address "host:port" with a non-empty host and a port in 1..65535 (something to
// connect to: port 0 is refused).
Status CheckConnectAddress(const std::string& flag, const std::string& host_port);

// A listen address "ip:port" (IP literal; port 0 means any free port).
Status CheckListenAddress(const std::string& flag, const std::string& host_port);

// Creates `dir` if needed and checks that the daemon can create files in it. Returns it made
// absolute (against the current directory) and normalised: task scripts, sockets and ready
// files are later resolved from other working directories.
Result<std::filesystem::path> PrepareStateDir(const std::string& flag,
                                              const std::filesystem::path& dir);

// A --ready-file path: empty stays empty; a relative path is made absolute against the current
// directory at start-up (so a later chdir cannot change where it goes). Its directory must
// exist and be writable now: a ready file that cannot be written would leave a supervisor
// waiting forever.
Result<std::filesystem::path> ResolveReadyFile(const std::string& flag,
                                               const std::filesystem::path& path);

// The --state-dir and --ready-file of a daemon, both checked and resolved as above and
// rewritten in place (absolute) when good. Returns every problem found, one per flag.
std::vector<Error> PrepareStateDirAndReadyFile(std::string& state_dir, std::string& ready_file);

// A shared secret in a file (e.g. the tracker registration key): its first line, trimmed.
// Errors: unreadable, shorter than 16 characters (guessable), or with spaces or control
// characters.
Result<std::string> ReadKeyFile(const std::string& flag, const std::filesystem::path& path);

}  // namespace shoal
