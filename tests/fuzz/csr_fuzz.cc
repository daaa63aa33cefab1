// libFuzzer target for the planner's decoder of a joining node's CSR (PEM text from a peer
// that has no certificate yet): CertAuthority::SignCsr parses it, checks its self-signature
// and signs a certificate for its key. Any input must yield a certificate or an Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/net/certs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal::net;
  static CertAuthority* ca = new CertAuthority(CertAuthority::Create("fuzz CA").value());
  std::string pem(reinterpret_cast<const char*>(data), size);
  auto cert = ca->SignCsr(pem, "node-1", kRoleNode);
  if (cert.ok() && !CertFromPem(*cert).ok()) __builtin_trap();  // we must emit what we can read
  return 0;
}
