// A job: what one job file says (planner/jobs/job_file.h reads it). Targets, waves, failure
// budget, gates between waves, and the ordered stages of steps each host runs. Plain data: the
// rollout engine (rollout.h) executes it, the run store persists it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shoal::planner::jobs {

using Millis = std::chrono::milliseconds;

// Where a value came from in the job file (1-based; 0 when not from a file).
struct SourcePos {
  int line = 0, column = 0;
};

// `max_failed`: how many failures a wave (and the whole run) may have. The rollout halts when
// failures EXCEED the budget, not when they reach it (Ansible's max_fail_percentage): with
// `max_failed: 1` one failure is tolerated and a second halts; `10%` of 20 hosts tolerates 2.
struct Budget {
  enum class Kind { kCount, kPercent };
  Kind kind = Kind::kCount;
  uint32_t value = 0;  // a count, or a percentage 0..100

  // True when `failed` failures among `hosts` hosts exceed the budget.
  bool Exceeded(uint64_t failed, uint64_t hosts) const {
    if (kind == Kind::kCount) return failed > value;
    return failed * 100 > uint64_t{value} * hosts;
  }
  std::string str() const {
    return std::to_string(value) + (kind == Kind::kPercent ? "%" : "");
  }
};

struct FileStep {
  std::string artifact;  // "sha256:<64 hex>"; for a `source:` step, set once the CLI put it
  std::string source;    // a local path (relative to the job file) the CLI puts to the seeder
  std::string dest;      // absolute path on the host
  uint32_t mode = 0644;
  std::string owner;     // account (or account:group) to own the installed file; empty: the node's
};

struct CommandStep {
  std::string run;          // inline script body
  std::string script;       // or: absolute path of a script stored on the hosts
  std::string interpreter = "sh";  // sh, bash, python3, exec
  std::vector<std::string> args;
  std::string run_as;       // empty: the node's default account
  std::string cwd;
  std::vector<std::pair<std::string, std::string>> env;
  Millis timeout{0};        // 0: none
};

enum class OnFailure { kStop, kContinue };

struct Step {
  enum class Kind { kFile, kCommand };
  Kind kind = Kind::kCommand;
  std::string name;  // the file's `name:` if given, else derived ("file /srv/app/x", "command tar ...")
  FileStep file;
  CommandStep command;
  std::vector<std::string> on;  // narrows the job's targets (same grammar); empty: every target
  // kStop: a failure fails the host and it runs nothing more; kContinue: it is recorded and the
  // host goes on (and is not counted against the budget).
  OnFailure on_failure = OnFailure::kStop;
  SourcePos pos;
};

// One entry of `steps:`. A plain step is a stage of one; a `parallel:` list is a stage whose
// steps a host runs at the same time. Stages run in order on each host.
struct Stage {
  std::vector<Step> steps;
};

struct Pause {
  enum class Kind { kNone, kManual, kTimed };
  Kind kind = Kind::kNone;
  Millis duration{0};  // kTimed
};

enum class Unreachable { kFail, kSkip };

struct Job {
  std::string name;
  std::vector<std::string> targets;  // host names, static groups, key=value labels, dc=NAME, all
  std::vector<std::string> exclude;  // same grammar, removed from targets
  std::string waves = "100%";        // wave expression (waves.h)
  Budget max_failed;                 // default: 0, any failure halts
  Pause pause;                       // gate between waves
  std::optional<CommandStep> verify;  // run on each host of a wave after its steps
  std::optional<bool> prestage;       // unset: on when any artifact is over 64 MiB
  uint32_t concurrency = 0;           // hosts of a wave working at once; 0: no limit
  Unreachable unreachable = Unreachable::kFail;
  Millis unreachable_wait{0};         // how long a wave waits for an offline host to come back
  std::vector<Stage> stages;
};

inline constexpr uint64_t kPrestageDefaultBytes = 64ull << 20;

}  // namespace shoal::planner::jobs
