// Following a job run until it ends: a live progress line (wave k of n, the step most hosts
// are on, hosts ok/failed/running/waiting, bytes moved and rate), a line per wave change and
// gate, then every host's result and the hosts that never started.
#pragma once

#include <cstdint>

#include "tools/shoal/commands.h"

namespace shoal::cli {

// Exit codes of apply, watch and rerun.
inline constexpr int kExitSucceeded = 0;  // every host ran every step
inline constexpr int kExitError = 1;      // bad job file, planner or seeder unreachable...
inline constexpr int kExitCompleted = 2;  // every wave ran; failures stayed within max_failed
inline constexpr int kExitHalted = 3;     // failures exceeded max_failed: the rollout stopped
inline constexpr int kExitCancelled = 4;

// Watches `run_id` until it ends and returns its exit code. `quiet`: no progress line.
int WatchJobRun(const PlannerFlags& flags, uint64_t run_id, bool quiet);

}  // namespace shoal::cli
