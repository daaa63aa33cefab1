#!/usr/bin/env bash
# Regenerates the control-plane seed corpora in tests/fuzz/corpus/ from text messages (capnp
# encode, so they follow proto/control.capnp) and CSRs made by openssl. Run after changing the
# protocol; commit the result. Other corpora (nagios, tracker) are hand-written files.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/tests/fuzz/corpus
cd "$root/proto"
enc() {  # TYPE DEST TEXT
  mkdir -p "$(dirname "$out/$2")"
  capnp encode -I/usr/include control.capnp "$1" >"$out/$2" <<<"$3"
}
hexlit() { od -An -v -tx1 "$1" | tr -d ' \n' | sed 's/\(..\)/\\x\1/g'; }
frame() {  # a frame as a peer sends it: 4-byte little-endian length, then the body
  local n; n=$(stat -c %s "$1")
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)))"
  cat "$1"
}

enc NodeMessage node_message/join '(join = (token = "0123abcd.secret.fingerprint", name = "web-1", csrPem = "-----BEGIN CERTIFICATE REQUEST-----\nMII\n-----END CERTIFICATE REQUEST-----\n"))'
enc NodeMessage node_message/hello '(hello = (name = "web-1", address = "10.0.0.5", datacenter = "dc1", rack = "r1", version = "0.1", uptimeSeconds = 1000, labels = [(key = "role", value = "web")], groups = ["web", "all"]))'
enc NodeMessage node_message/heartbeat '(heartbeat = (uptimeSeconds = 5))'
enc NodeMessage node_message/stats '(stats = (unixMs = 1700000000000, source = "builtin", state = "WARNING", text = "disk", metrics = [(name = "load1", value = 0.5)], alerts = [(text = "disk 91%")]))'
enc OutboxMessage outbox_message/output '(output = (taskId = 7, stream = 1, seq = 0, data = "hello\n"))'
enc OutboxMessage outbox_message/result '(result = (taskId = 7, end = exited, exitCode = 0, startedMs = 1, endedMs = 2, stdoutBytes = 6))'
enc OutboxMessage outbox_message/result_error '(result = (taskId = 9, end = timedOut, error = "timed out after 10 s"))'
enc NodeMessage node_message/outbox_output "(outbox = (seq = 1, payload = \"$(hexlit "$out/outbox_message/output")\"))"
enc NodeMessage node_message/outbox_result "(outbox = (seq = 2, payload = \"$(hexlit "$out/outbox_message/result")\"))"
enc PlannerMessage planner_message/joined '(joined = (certPem = "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n", caPem = "ca"))'
enc PlannerMessage planner_message/welcome '(welcome = (heartbeatIntervalMs = 5000, ackedSeq = 42))'
enc PlannerMessage planner_message/task '(task = (taskId = 1, runId = 2, body = "uptime", interpreter = "sh", args = ["-c", "x"], runAs = "root", workingDir = "/tmp", env = [(key = "A", value = "b")], timeoutMs = 10000))'
enc PlannerMessage planner_message/ack '(ack = 17)'
enc PlannerMessage planner_message/cancel '(cancel = 3)'
enc PlannerMessage planner_message/failure '(failure = (message = "unknown or used-up join token"))'
enc CliRequest cli_request/hosts '(hosts = void)'
enc CliRequest cli_request/run '(run = (targets = ["all", "role=web"], task = (body = "uptime", interpreter = "sh")))'
enc CliRequest cli_request/run_status '(runStatus = (runId = 3, withResults = true))'
enc CliRequest cli_request/logs '(logs = (runId = 3, host = "web-1"))'
enc CliRequest cli_request/join_token '(joinToken = (ttlSeconds = 60, uses = 2))'
enc CliRequest cli_request/revoke '(revoke = "web-1")'
enc CliReply cli_reply/failure '(failure = (message = "no such run"))'
enc CliReply cli_reply/hosts '(hosts = [(name = "web-1", online = true, labels = [(key = "role", value = "web")], groups = ["web"])])'
enc CliReply cli_reply/token '(token = "abc.def.0123")'
enc CliReply cli_reply/ok '(ok = void)'
enc CliReply cli_reply/run_status '(runStatus = (runId = 3))'

# Frames back to back, as frame_fuzz reads them.
mkdir -p "$out/frame"
{ frame "$out/node_message/hello"; frame "$out/node_message/heartbeat"; frame "$out/node_message/outbox_result"; } >"$out/frame/node_session"
{ frame "$out/planner_message/welcome"; frame "$out/planner_message/task"; frame "$out/planner_message/ack"; } >"$out/frame/planner_session"
frame "$out/cli_request/run" >"$out/frame/cli_run"

# CSRs: a good one (EC P-256, what agents send), an RSA one, and a PEM with a broken body.
mkdir -p "$out/csr"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=web-1 \
  -keyout "$tmp/k" -out "$out/csr/ec_p256.pem" 2>/dev/null
openssl req -new -newkey rsa:1024 -nodes -subj /CN=web-2 -keyout "$tmp/k" \
  -out "$out/csr/rsa.pem" 2>/dev/null
sed '3s/./A/g' "$out/csr/ec_p256.pem" >"$out/csr/corrupt.pem"
