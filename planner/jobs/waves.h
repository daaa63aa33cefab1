// Waves: how a run's hosts are split into successive groups.
//
// Expression grammar (one grammar everywhere), terms separated by spaces:
//   N     a wave of N hosts                 "1 5 100"
//   P%    a wave of P% of all the hosts, rounded up, never empty (0 < P <= 100)
//   *F    the previous wave's size times F  "1 *2" -> 1, 2, 4, 8, ...
//   +N    the previous wave's size plus N   "1 +2" -> 1, 3, 5, ...
// After the last term, the last term repeats until every host is in a wave: "1 5 20%" on 100
// hosts is 1, 5, 20, 20, 20, 20, 14 (as Ansible's `serial: [1, 5, "20%"]`). A wave never holds
// more than the hosts that are left. The first term must be N or P%.
//
// Membership is deterministic and spread: hosts are ordered by a stable hash of the job name
// and the host name within each datacenter, and datacenters take turns (round-robin, in an
// order also hashed from the job name), so the canary wave is not one rack and the same job on
// the same fleet always gets the same waves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace shoal::planner::jobs {

struct WaveTerm {
  enum class Kind { kCount, kPercent, kTimes, kPlus };
  Kind kind = Kind::kCount;
  uint32_t value = 0;
};

struct WaveSpec {
  std::vector<WaveTerm> terms;
};

// Errors name the offending term: `waves "1 x": "x" is not N, P%, *F or +N`.
Result<WaveSpec> ParseWaves(std::string_view expression);

// The sizes of the waves for `hosts` hosts: each >= 1, summing to `hosts`. Error if hosts == 0.
Result<std::vector<uint64_t>> WaveSizes(const WaveSpec& spec, uint64_t hosts);

struct HostRef {
  std::string name, datacenter;
};

// Hosts in rollout order (see above).
std::vector<std::string> RolloutOrder(std::string_view job_name, const std::vector<HostRef>& hosts);

// The waves: RolloutOrder cut into WaveSizes. Error if there are no hosts.
Result<std::vector<std::vector<std::string>>> PlanWaves(const WaveSpec& spec,
                                                        std::string_view job_name,
                                                        const std::vector<HostRef>& hosts);

}  // namespace shoal::planner::jobs
