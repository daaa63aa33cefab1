#include "tools/shoal/commands.h"
namespace shoal::cli {
void AddFetchCommand(CLI::App&) {}
}
