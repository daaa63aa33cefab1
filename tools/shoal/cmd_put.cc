#include "tools/shoal/commands.h"
namespace shoal::cli {
void AddPutCommand(CLI::App&) {}
}
