#include "planner/task_message.h"

namespace shoal::planner {

void FillTaskAssignment(proto::TaskSpec::Builder task, proto::TaskSpec::Reader tmpl,
                        uint64_t task_id, uint64_t run_id) {
  task.setTaskId(task_id);
  task.setRunId(run_id);
  task.setBody(tmpl.getBody());
  task.setStoredScript(tmpl.getStoredScript());
  task.setInterpreter(tmpl.getInterpreter());
  task.setArgs(tmpl.getArgs());
  task.setRunAs(tmpl.getRunAs());
  task.setWorkingDir(tmpl.getWorkingDir());
  task.setEnv(tmpl.getEnv());
  task.setTimeoutMs(tmpl.getTimeoutMs());
  if (tmpl.hasFetch()) task.setFetch(tmpl.getFetch());
}

}  // namespace shoal::planner
