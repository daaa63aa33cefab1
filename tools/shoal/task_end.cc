#include "tools/shoal/task_end.h"

namespace shoal::cli {

// A switch without a default: a new TaskEnd is a compiler warning here, never a "?" on screen.
const char* TaskEndName(proto::TaskEnd end) {
  switch (end) {
    case proto::TaskEnd::EXITED:
      return "exited";
    case proto::TaskEnd::SIGNALED:
      return "signaled";
    case proto::TaskEnd::TIMED_OUT:
      return "timed-out";
    case proto::TaskEnd::INTERRUPTED:
      return "interrupted";
    case proto::TaskEnd::REJECTED:
      return "rejected";
    case proto::TaskEnd::CANCELLED:
      return "cancelled";
    case proto::TaskEnd::OFFLINE:
      return "offline";
    case proto::TaskEnd::SKIPPED:
      return "skipped";
    case proto::TaskEnd::LOST:
      return "lost";
  }
  return "?";  // a newer planner's value
}

}  // namespace shoal::cli
