// Job files (operators' YAML, read by the CLI and again by the planner) and the wave, duration
// and budget grammars: any input gives a Job or an error that names the file, never a crash,
// a hang or an invalid Job (a parsed job's waves always cover the hosts exactly).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "planner/jobs/job_file.h"
#include "planner/jobs/waves.h"

using namespace shoal::planner::jobs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto job = ParseJob(in, "f.yaml");
  if (job.ok()) {
    if (job->name.empty() || job->targets.empty() || job->stages.empty()) abort();
    for (auto& stage : job->stages) {
      if (stage.steps.empty()) abort();
      for (auto& step : stage.steps) {
        if (step.name.empty()) abort();
      }
    }
    auto spec = ParseWaves(job->waves);
    if (!spec.ok()) abort();
    const uint64_t hosts = 1 + size % 5000;
    auto sizes = WaveSizes(*spec, hosts);
    if (!sizes.ok()) abort();
    uint64_t sum = 0;
    for (auto x : *sizes) {
      if (x == 0) abort();
      sum += x;
    }
    if (sum != hosts) abort();
  } else if (job.error().message.rfind("f.yaml", 0) != 0) {
    abort();
  }
  (void)ParseDuration(in.substr(0, 32));
  (void)ParseBudget(in.substr(0, 32));
  return 0;
}
