// A daemon tells its supervisor (tests, the demo, bench scripts) that it is serving, and on
// which addresses, by atomically writing a small `key=value` file once its sockets listen.
// Listening on port 0 plus a ready file keeps tests hermetic: no port guessing, no sleeps.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "core/result.h"

namespace shoal {

Status WriteReadyFile(const std::filesystem::path& path,
                      const std::map<std::string, std::string>& values);
Result<std::map<std::string, std::string>> ReadReadyFile(const std::filesystem::path& path);

}  // namespace shoal
