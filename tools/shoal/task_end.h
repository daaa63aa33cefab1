// How a task ended, as the CLI prints it (run, watch and logs use the same words).
#pragma once

#include "proto/control.capnp.h"

namespace shoal::cli {

const char* TaskEndName(proto::TaskEnd end);

}  // namespace shoal::cli
