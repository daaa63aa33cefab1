#include "planner/credentials.h"

namespace shoal::planner {

namespace {
Status IssueInto(net::CertAuthority& ca, const std::string& cn, const std::string& role,
                 const std::filesystem::path& crt, const std::filesystem::path& key_path,
                 bool with_chain) {
  auto key = net::GenerateKey();
  if (!key) return key.error();
  auto cert = ca.Issue(key->get(), cn, role);
  if (!cert) return cert.error();
  std::string chain = *cert + (with_chain ? net::CertToPem(ca.cert()) : "");
  if (auto s = net::WriteSecretFile(key_path, net::KeyToPem(key->get())); !s) return s;
  return net::WriteSecretFile(crt, chain);
}
}  // namespace

Status InitStateDir(const StateDir& dir, const std::string& admin_name) {
  std::error_code ec;
  std::filesystem::create_directories(dir.root, ec);
  if (ec) return Error::of(dir.root.string(), ec.message());
  if (std::filesystem::exists(dir.ca_key())) {
    return Error::of(dir.ca_key().string(), "a CA already exists here");
  }
  auto ca = net::CertAuthority::Create("shoal fleet CA");
  if (!ca) return ca.error();
  if (auto s = net::WriteSecretFile(dir.ca_key(), net::KeyToPem(ca->key())); !s) return s;
  if (auto s = net::WriteSecretFile(dir.ca_crt(), net::CertToPem(ca->cert())); !s) return s;
  if (auto s = IssueInto(*ca, "shoal-planner", net::kRolePlanner, dir.planner_crt(),
                         dir.planner_key(), true);
      !s) {
    return s;
  }
  return IssueInto(*ca, admin_name, net::kRoleAdmin, dir.admin_crt(), dir.admin_key(), false);
}

Status IssueAdminCert(const StateDir& dir, const std::string& name,
                      const std::filesystem::path& out_prefix) {
  auto crt = net::ReadTextFile(dir.ca_crt());
  auto key = net::ReadTextFile(dir.ca_key());
  if (!crt) return crt.error();
  if (!key) return key.error();
  auto ca = net::CertAuthority::Load(*crt, *key);
  if (!ca) return ca.error();
  return IssueInto(*ca, name, net::kRoleAdmin, out_prefix.string() + ".crt",
                   out_prefix.string() + ".key", false);
}

}  // namespace shoal::planner
