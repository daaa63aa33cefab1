// The codec between RunStore's in-memory Run/Task and their LMDB records (RunRecord,
// TaskRecord in proto/control.capnp). Readers may throw kj::Exception on a malformed record:
// call them inside ReadSafely.
#pragma once

#include "planner/run_store.h"

namespace shoal::planner {

// A run from its record: identity, targets, template, task ids (an ad-hoc run's hosts become
// tasks without results in `tasks` when given), the job record's bytes for a job run.
Run RunFromRecord(proto::RunRecord::Reader r, std::map<uint64_t, Task>* tasks = nullptr);
// A task from its record (without its run's knowledge of the host when the record lacks one).
Task TaskFromRecord(uint64_t id, proto::TaskRecord::Reader r);
void TaskToRecord(const Task& t, proto::TaskRecord::Builder r);
bool ResultOk(proto::TaskResult::Reader r);

}  // namespace shoal::planner
