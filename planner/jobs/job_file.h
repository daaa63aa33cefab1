// Reading job files (YAML, with yaml-cpp). Every error names the file, line, column and field:
//   job.yaml:14:5: steps[2].file.dest: must be an absolute path
// Unknown keys are errors. The grammar and defaults are in README.md ("Jobs and waves").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"
#include "planner/jobs/job.h"

namespace shoal::planner::jobs {

// Parses `text` (the contents of `file_name`, which only labels errors).
Result<Job> ParseJob(std::string_view text, std::string_view file_name);
// Reads and parses a job file.
Result<Job> LoadJobFile(const std::filesystem::path& path);

// "500ms", "10s", "5m", "2h", "1h30m"; a bare integer is seconds. Errors name the text.
Result<Millis> ParseDuration(std::string_view text);
// "2", "10%": a count or a percentage (0..100).
Result<Budget> ParseBudget(std::string_view text);

}  // namespace shoal::planner::jobs
