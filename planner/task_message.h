// The task assignment the planner sends a node: the run's stored template with this task's ids.
// Planner::SendTasks sends it; bench/proto_bench.cc measures the same code.
#pragma once

#include <cstdint>

#include "proto/control.capnp.h"

namespace shoal::planner {

void FillTaskAssignment(proto::TaskSpec::Builder task, proto::TaskSpec::Reader tmpl,
                        uint64_t task_id, uint64_t run_id);

}  // namespace shoal::planner
