#include "core/ingest.h"
namespace shoal {
Result<std::vector<char>> MakeTorrent(const IngestDigests&, const std::string&) {
  return Error{"not implemented"};
}
}  // namespace shoal
