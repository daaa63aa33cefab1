// The `shoal` CLI's subcommands. Each Add*Command registers one subcommand (its options and
// its callback) on the app; main() wires them together. Callbacks exit with the command's status.
#pragma once

#include <CLI/CLI.hpp>

namespace shoal::cli {

// Artifacts (issue: distribution).
void AddPutCommand(CLI::App& app);
void AddFetchCommand(CLI::App& app);

// Control plane (hosts, run, logs, stats, join-token) registers below this line.

}  // namespace shoal::cli
