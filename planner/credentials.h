// The planner's state directory and its key material:
//   ca.crt ca.key            the fleet CA (ca.key never leaves this directory)
//   planner.crt planner.key  the planner's server certificate (chain: leaf + CA), OU=planner
//   admin.crt admin.key      an operator certificate (OU=admin) for the `shoal` CLI
//   db/                      LMDB state
//   planner.ready            written by `serve`: address=HOST:PORT
#pragma once

#include <filesystem>
#include <string>

#include "core/net/certs.h"
#include "core/result.h"

namespace shoal::planner {

struct StateDir {
  std::filesystem::path root;
  std::filesystem::path ca_crt() const { return root / "ca.crt"; }
  std::filesystem::path ca_key() const { return root / "ca.key"; }
  std::filesystem::path planner_crt() const { return root / "planner.crt"; }
  std::filesystem::path planner_key() const { return root / "planner.key"; }
  std::filesystem::path admin_crt() const { return root / "admin.crt"; }
  std::filesystem::path admin_key() const { return root / "admin.key"; }
  std::filesystem::path db() const { return root / "db"; }
  std::filesystem::path ready() const { return root / "planner.ready"; }
};

// Creates the CA, the planner's certificate and an admin certificate named `admin_name`.
// Refuses to overwrite an existing CA.
Status InitStateDir(const StateDir& dir, const std::string& admin_name);

// Issues another admin certificate (for another operator) into `out_prefix`.crt/.key.
Status IssueAdminCert(const StateDir& dir, const std::string& name,
                      const std::filesystem::path& out_prefix);

}  // namespace shoal::planner
