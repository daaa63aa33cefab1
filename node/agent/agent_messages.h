// What the node agent tells the planner, built in one place: the PlannerAgent sends these and
// bench/proto_bench.cc measures the same code.
#pragma once

#include <cstdint>
#include <string_view>

#include "node/agent/stats_scheduler.h"
#include "node/agent/task_runner.h"
#include "proto/control.capnp.h"

namespace shoal::node {

// A finished task's outcome (how it ended, exit code or signal, times, output sizes).
void FillTaskResult(proto::TaskResult::Builder result, const TaskOutcome& outcome);

// One chunk of a task's stdout or stderr.
void FillTaskOutput(proto::TaskOutput::Builder output, TaskId id, OutputStream stream, uint64_t seq,
                    std::string_view bytes);

// A stats sample: its metrics and the alerts it raised.
void FillStatsReport(proto::StatsReport::Builder report, const StatsSample& sample);

}  // namespace shoal::node
