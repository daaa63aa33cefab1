// Turning a job file into a run's plan against the fleet as the planner knows it: which hosts
// (targets minus exclude), in which waves, which steps apply to which hosts (`on:`), which
// artifacts (pinned by the CLI) each file step installs, and whether to pre-stage them. Also
// the TaskSpec templates the planner sends for each step. `shoal plan` prints the result;
// `shoal apply` stores it with the run, so a restart never re-plans a run.
#pragma once

#include <capnp/message.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "planner/jobs/job.h"
#include "planner/jobs/rollout.h"
#include "planner/registry.h"
#include "proto/control.capnp.h"

namespace shoal::planner {

struct ArtifactPin {
  std::string ref, id, md5;
  uint64_t size = 0;
};

struct PlannedJob {
  std::string file_name, yaml;
  jobs::Job job;  // artifacts resolved: every file step's `artifact` is set
  jobs::RolloutPlan plan;
  std::vector<std::string> datacenters;  // parallel to plan.hosts
  std::vector<ArtifactPin> pins;
  std::vector<std::string> excluded, offline;
  bool prestage = false;
  uint64_t rerun_of = 0;
};

// Parses the job and plans it against `registry`. `only_hosts` (a rerun) restricts the hosts.
// Errors name the file and the field (a target matching nothing, an unpinned source...).
Result<PlannedJob> PlanJob(Registry& registry, const std::string& file_name,
                           const std::string& yaml, std::vector<ArtifactPin> pins,
                           const std::optional<std::vector<std::string>>& only_hosts = {});

// The stored form (proto JobRecord) and back. FromRecord re-parses the stored YAML.
void ToRecord(const PlannedJob& planned, proto::JobRecord::Builder record);
Result<PlannedJob> FromRecord(proto::JobRecord::Reader record);

// Encoded TaskSpec templates for every step of the plan, by step index (rollout.h).
std::map<uint32_t, std::string> StepSpecs(const PlannedJob& planned);

std::vector<ArtifactPin> ReadPins(capnp::List<proto::ArtifactPin>::Reader pins);
void WritePins(const std::vector<ArtifactPin>& pins,
               capnp::List<proto::ArtifactPin>::Builder out);

}  // namespace shoal::planner
