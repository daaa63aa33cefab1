// CPU cost of one control-plane TLS 1.3 handshake, full (mutual certificate authentication,
// P-256 certificates, X25519) against resumed (a session ticket from the previous connection),
// with the planner's own contexts (core/net/tls_context: ticket keys, revocation check on
// resumed tickets). Server and client run on two threads over a socketpair with blocking
// I/O; each thread's CPU time (CLOCK_THREAD_CPUTIME_ID) is summed over its handshake calls
// only, so neither waits nor the other side's work are counted.
//   tls_handshake_bench [HANDSHAKES] [resumed]     default 2000 per mode; `resumed`: that mode
//   alone (for a profiler)
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/net/certs.h"
#include "core/net/tls_context.h"

namespace {
using namespace shoal::net;

double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Cost {
  double server_s = 0, client_s = 0;
  int resumed = 0;
};

Cost Run(const TlsContext& server, const TlsContext& client, int n, bool resume) {
  Cost cost;
  SessionSlot slot;
  for (int i = 0; i < n; ++i) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
    std::thread srv([&] {
      SSL* ssl = SSL_new(server.get());
      SSL_set_fd(ssl, fds[0]);
      double t0 = ThreadCpu();
      int rc = SSL_accept(ssl);
      cost.server_s += ThreadCpu() - t0;
      if (rc != 1) std::abort();
      if (SSL_session_reused(ssl)) ++cost.resumed;
      char byte = 'x';
      SSL_write(ssl, &byte, 1);  // the client reads it, and the ticket before it
      SSL_read(ssl, &byte, 1);
      SSL_free(ssl);
      close(fds[0]);
    });
    SSL* ssl = SSL_new(client.get());
    SSL_set_fd(ssl, fds[1]);
    TlsContext::BindSessionSlot(ssl, resume ? &slot : nullptr);
    double t0 = ThreadCpu();
    int rc = SSL_connect(ssl);
    char byte;
    SSL_read(ssl, &byte, 1);  // processes the NewSessionTicket too: part of the client's cost
    cost.client_s += ThreadCpu() - t0;
    if (rc != 1) std::abort();
    SSL_write(ssl, &byte, 1);
    srv.join();
    SSL_free(ssl);
    close(fds[1]);
  }
  return cost;
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  auto ca = CertAuthority::Create("bench CA").value();
  std::string ca_pem = CertToPem(ca.cert());
  auto skey = GenerateKey().value();
  auto ckey = GenerateKey().value();
  std::string server_chain = *ca.Issue(skey.get(), "shoal-planner", kRolePlanner) + ca_pem;
  std::string client_cert = *ca.Issue(ckey.get(), "node-1", kRoleNode);
  auto never_revoked = [](const Identity&) { return false; };
  auto server = TlsContext::Server(ca_pem, server_chain, KeyToPem(skey.get()), never_revoked);
  auto client = TlsContext::Client(ca_pem, client_cert, KeyToPem(ckey.get()));
  if (!server.ok() || !client.ok()) return 1;
  (void)Run(**server, **client, 50, true);  // warm-up
  bool resumed_only = argc > 2 && std::string(argv[2]) == "resumed";
  Cost full = resumed_only ? Cost{1, 1, 0} : Run(**server, **client, n, false);
  Cost resumed = Run(**server, **client, n, true);
  std::printf("handshakes per mode: %d (resumed: %d of %d)\n", n, resumed.resumed, n);
  std::printf("%-8s %14s %14s\n", "mode", "server us/hs", "client us/hs");
  std::printf("%-8s %14.1f %14.1f\n", "full", full.server_s / n * 1e6, full.client_s / n * 1e6);
  std::printf("%-8s %14.1f %14.1f\n", "resumed", resumed.server_s / n * 1e6,
              resumed.client_s / n * 1e6);
  std::printf("resumed/full: server %.2f, client %.2f\n", resumed.server_s / full.server_s,
              resumed.client_s / full.client_s);
  return resumed.resumed >= n - 1 ? 0 : 1;
}
