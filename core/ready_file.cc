#include "core/ready_file.h"

#include <fstream>
#include <sstream>

#include "core/paths.h"

namespace shoal {

Status WriteReadyFile(const std::filesystem::path& path,
                      const std::map<std::string, std::string>& values) {
  std::string text;
  for (const auto& [k, v] : values) text += k + "=" + v + "\n";
  return WriteFileAtomically(path, text);
}

Result<std::map<std::string, std::string>> ReadReadyFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Error::of(path.string(), "cannot open");
  std::map<std::string, std::string> values;
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

}  // namespace shoal
