// Reading a job file on the operator's machine and pinning its artifacts: a `source:` file is
// hashed (`shoal plan`, which touches nothing) or put to the seeder (`shoal apply`), and an
// `artifact:` digest is looked up in the seeder for its size and MD5. The planner gets the job
// file's text and these pins, and re-reads the file itself.
#pragma once

#include <capnp/message.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "proto/control.capnp.h"

namespace shoal::cli {

struct Pin {
  std::string ref, id, md5;
  uint64_t size = 0;
};

enum class PinMode { kHashLocally, kPutToSeeder };

// Reads `job_path`, checks it (the same reader as the planner's: errors name file:line:col),
// and pins every file step's artifact. `seeder_socket` may be unreachable in kHashLocally mode
// (an `artifact:` step then shows no size). A seeder that does not answer (restarting) is tried
// again for up to `seeder_retry_s` seconds.
Result<std::vector<Pin>> PinArtifacts(const std::string& job_path, const std::string& yaml,
                                      PinMode mode, const std::string& seeder_socket,
                                      double seeder_retry_s = 0);

// Fills a JobRequest with the file's name, text and pins.
void FillJobRequest(const std::string& job_path, const std::string& yaml,
                    const std::vector<Pin>& pins, proto::JobRequest::Builder out);

}  // namespace shoal::cli
