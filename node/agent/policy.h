// Policy: what this node agrees to run. Per-node allow/deny lists for interpreters, run-as
// accounts and paths (working directories and stored scripts), read from the node's config file.
// Deny always wins over allow, and an empty allow list allows nothing (default deny).
//
// node.conf is a small INI-like file (also parsed here, so that other sections can reuse it):
//
//   # comment                       ; comment
//   [exec]
//   allow_interpreters = sh, bash, python3      # sh bash python3 exec
//   deny_interpreters  =
//   allow_accounts     = deploy, www-data       # "*" allows every account not denied
//   deny_accounts      = root
//   allow_paths        = /srv, /opt/scripts     # absolute roots
//   deny_paths         = /srv/secrets
//   cgroup_root        = auto           # a delegated cgroup v2 directory, auto or none
//   memory_max         = 512M           # per task (K, M, G, T); needs the memory controller
//   cpu_max            = 1.5            # CPUs' worth of time per task; needs cpu
//   pids_max           = 200            # processes and threads per task; needs pids
//
// A list is comma- and/or space-separated; a key may repeat (its lists add up).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "node/agent/task_runner.h"

namespace shoal::node {

// ---- node.conf ------------------------------------------------------------------------------

struct ConfEntry {
  std::string key;
  std::string value;
  int line = 0;  // 1-based, for error messages
};
struct ConfSection {
  std::string name;  // "" for entries before the first [section]
  int line = 0;
  std::vector<ConfEntry> entries;
};
// Parses INI-like text. Errors name `origin` and the line: a malformed section header, a line
// without '=', an empty key. Values are trimmed; a '#' or ';' starts a comment only at the
// start of a line or after whitespace.
Result<std::vector<ConfSection>> ParseConf(std::string_view text, std::string_view origin);
// Splits a list value on commas and whitespace, dropping empty items.
std::vector<std::string> SplitList(std::string_view value);

// ---- policy ---------------------------------------------------------------------------------

struct PolicyConfig {
  std::vector<std::string> allow_interpreters, deny_interpreters;  // names as InterpreterName
  std::vector<std::string> allow_accounts, deny_accounts;          // "*" in allow: any account
  std::vector<std::filesystem::path> allow_paths, deny_paths;      // absolute directory roots
  // Where task cgroups go (task_cgroup.h): "auto" (this process's cgroup if delegated),
  // "none", or a cgroup v2 directory.
  std::string cgroup_root = "auto";
  ResourceLimits limits;  // per task
};

// Parses one limit line of [exec] (memory_max, cpu_max, pids_max) into `limits`.
Status ParseLimit(const std::string& key, const std::string& value, ResourceLimits& limits);

class Policy {
 public:
  // Validates the lists (known interpreter names, absolute paths). Roots that exist are
  // canonicalised (symlinks resolved) so that checks compare real paths.
  static Result<Policy> FromConfig(PolicyConfig config);
  // Reads the [exec] section of node.conf text (other sections are ignored; unknown keys in
  // [exec] are errors naming the line).
  static Result<Policy> Parse(std::string_view text, std::string_view origin = "node.conf");
  static Result<Policy> Load(const std::filesystem::path& path);

  // Checks a task against every rule and returns it with its paths canonicalised and run_as
  // filled in (empty becomes the daemon's own account name, which must then be allowed).
  // A refusal is an error whose message names the rule, e.g.
  //   "policy: account 'root' refused by deny_accounts".
  Result<TaskSpec> Admit(TaskSpec spec) const;

  Status CheckInterpreter(Interpreter interpreter) const;
  Status CheckAccount(std::string_view account) const;
  // Returns the canonical form of an absolute path if it lies under an allowed root and under no
  // denied one; `what` ("working_dir", "script_path") is used in the error message.
  Result<std::filesystem::path> CheckPath(const std::filesystem::path& path,
                                          std::string_view what) const;

  const PolicyConfig& config() const { return config_; }

 private:
  explicit Policy(PolicyConfig config) : config_(std::move(config)) {}
  PolicyConfig config_;
};

}  // namespace shoal::node
