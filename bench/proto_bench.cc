// Control-plane message encode/decode: the proto/control.capnp messages built and framed by the
// daemons' own builders (planner/task_message.h, node/agent/agent_messages.h), and decoded as
// their receive loops read them (planner/node_session.cc + dispatcher.cc HandleOutbox,
// PlannerAgent::RunSession + OnTask), up to the point where they act on the fields (LMDB write,
// process spawn). A memcpy of the same frame bytes runs alongside each case, so that figures
// read as "this many memcpys of the frame".
//
// Each case is three benchmarks: memcpy/<case>, encode/<case>, decode/<case>. Bytes are the
// frame's (4-byte header + flat Cap'n Proto body); one item is one message.
// bench/proto_bench.sh runs interleaved repetitions and writes bench/results/proto.md.
//
//   proto_bench [--benchmark_filter=task] [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/framing.h"
#include "node/agent/agent_messages.h"
#include "node/agent/nagios.h"
#include "node/agent/stats.h"
#include "node/agent/stats_scheduler.h"
#include "node/agent/task_runner.h"
#include "planner/task_message.h"
#include "proto/control.capnp.h"

namespace {
using namespace shoal;

constexpr size_t kOutputChunk = 64 * 1024;  // TaskRunner::Options::chunk_size, the largest chunk

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "proto_bench: %s\n", why.c_str());
  std::exit(1);
}

// FramedSession::Receive after its socket reads: check the header, decode the body. The body
// is decoded in place here; the daemon first reads it from TLS into a vector of its own.
Result<std::unique_ptr<Frame>> ReceiveFrame(const std::string& frame) {
  auto bytes = reinterpret_cast<const uint8_t*>(frame.data());
  if (frame.size() < kFrameHeaderSize) return Error{"short frame"};
  auto size = ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(bytes, kFrameHeaderSize));
  if (!size) return size.error();
  if (*size != frame.size() - kFrameHeaderSize) return Error{"frame length mismatch"};
  return Frame::Decode(std::span<const uint8_t>(bytes + kFrameHeaderSize, *size));
}

// planner/store.cc FromBytes(): an outbox payload is a flat message without header.
Result<std::unique_ptr<Frame>> FromBytes(capnp::Data::Reader bytes) {
  return Frame::Decode(std::span<const uint8_t>(bytes.begin(), bytes.size()));
}

// ---- planner -> node: task assignment ------------------------------------------------------

// The run's template as Planner::StartRun stores it: a deploy script with a few args.
struct TaskTemplate {
  capnp::MallocMessageBuilder message;
  TaskTemplate() {
    auto t = message.initRoot<proto::TaskSpec>();
    t.setBody("rsync -a --delete \"$1\" \"$2\" && systemctl reload \"$3\"");
    t.setInterpreter("bash");
    auto args = t.initArgs(3);
    args.set(0, "/srv/releases/app-1.4.2/");
    args.set(1, "/srv/app/");
    args.set(2, "nginx");
    t.setRunAs("deploy");
    t.setWorkingDir("/srv");
    auto env = t.initEnv(1);
    env[0].setKey("RELEASE");
    env[0].setValue("1.4.2");
    t.setTimeoutMs(30000);
  }
  proto::TaskSpec::Reader reader() { return message.getRoot<proto::TaskSpec>().asReader(); }
};

// Planner::SendTasks, per host: copy the template into a PlannerMessage, frame it.
Result<std::string> EncodeTask(proto::TaskSpec::Reader tmpl, uint64_t task_id, uint64_t run_id) {
  capnp::MallocMessageBuilder message;
  planner::FillTaskAssignment(message.initRoot<proto::PlannerMessage>().initTask(), tmpl, task_id,
                              run_id);
  return EncodeFrame(message);
}

struct ReceivedTask {
  std::string journal_run_id;  // OnTask's journal entry names the run
  node::TaskSpec spec;
};

// PlannerAgent::RunSession's dispatch, then OnTask's copy into the runner's TaskSpec.
Result<ReceivedTask> DecodeTask(const std::string& bytes) {
  auto frame = ReceiveFrame(bytes);
  if (!frame) return frame.error();
  ReceivedTask r;
  auto handled = ReadSafely([&]() -> std::string {
    auto m = (*frame)->Root<proto::PlannerMessage>();
    if (m.which() != proto::PlannerMessage::TASK) return "not a task";
    auto t = m.getTask();
    r.spec.id = node::TaskId{t.getTaskId()};
    r.journal_run_id = std::to_string(t.getRunId());
    if (t.getStoredScript().size() > 0) {
      r.spec.script_path = std::string(t.getStoredScript());
    } else {
      r.spec.script_body = std::string(t.getBody());
    }
    auto interp = node::ParseInterpreter(std::string(t.getInterpreter()));
    if (!interp) return interp.error().message;
    r.spec.interpreter = *interp;
    for (auto a : t.getArgs()) r.spec.args.emplace_back(a);
    r.spec.run_as = t.getRunAs();
    r.spec.working_dir = std::string(t.getWorkingDir());
    for (auto kv : t.getEnv()) r.spec.env[kv.getKey()] = kv.getValue();
    r.spec.timeout = std::chrono::milliseconds(t.getTimeoutMs());
    return "";
  });
  if (!handled) return handled.error();
  if (!handled->empty()) return Error{*handled};
  return r;
}

// ---- node -> planner: outbox entries (result, output chunk) --------------------------------

// PlannerAgent::Pump: wrap a stored outbox entry in an envelope and frame it.
Result<std::string> EncodeEnvelope(uint64_t seq, const std::string& entry) {
  capnp::MallocMessageBuilder message;
  auto env = message.initRoot<proto::NodeMessage>().initOutbox();
  env.setSeq(seq);
  env.setPayload(
      capnp::Data::Reader(reinterpret_cast<const kj::byte*>(entry.data()), entry.size()));
  return EncodeFrame(message);
}

node::TaskOutcome SampleOutcome() {
  node::TaskOutcome o;
  o.id = node::TaskId{1000017};
  o.exit_code = 0;
  o.start_unix_ms = 1767225600000;
  o.end_unix_ms = 1767225601234;
  o.stdout_bytes = 5321;
  o.stderr_bytes = 17;
  return o;
}

// PlannerAgent::OnDone (the outbox entry), then Pump (the frame). The LMDB append and read
// back between them is left out.
Result<std::string> EncodeResult(const node::TaskOutcome& outcome, uint64_t outbox_seq) {
  capnp::MallocMessageBuilder message;
  node::FillTaskResult(message.initRoot<proto::OutboxMessage>().initResult(), outcome);
  return EncodeEnvelope(outbox_seq, FlatMessageBytes(message));
}

// PlannerAgent::OnOutput, then Pump.
Result<std::string> EncodeOutput(uint64_t task_id, std::string_view chunk, uint64_t chunk_seq,
                                 uint64_t outbox_seq) {
  capnp::MallocMessageBuilder message;
  node::FillTaskOutput(message.initRoot<proto::OutboxMessage>().initOutput(), node::TaskId{task_id},
                       node::OutputStream::kStdout, chunk_seq, chunk);
  return EncodeEnvelope(outbox_seq, FlatMessageBytes(message));
}

struct ReceivedResult {
  uint64_t outbox_seq = 0, task_id = 0;
  proto::TaskEnd end = proto::TaskEnd::EXITED;
  int32_t exit_code = 0, signal = 0;
  int64_t started_ms = 0, ended_ms = 0;
  uint64_t stdout_bytes = 0, stderr_bytes = 0;
  std::string error;
  bool ok = false;
};

struct ReceivedOutput {
  uint64_t outbox_seq = 0, task_id = 0, chunk_seq = 0;
  std::string value;  // RunStore::RecordOutput's LMDB value: stream byte, then the data
};

// ServeNode's dispatch and HandleOutbox: the envelope's seq and payload, the payload decoded as
// its own message, then `read` on the OutboxMessage.
template <typename Read>
auto DecodeOutbox(const std::string& bytes, Read&& read)
    -> Result<decltype(read(std::declval<proto::OutboxMessage::Reader>(), uint64_t{}))> {
  auto frame = ReceiveFrame(bytes);
  if (!frame) return frame.error();
  Result<std::unique_ptr<Frame>> payload = Error{"not an outbox message"};
  uint64_t seq = 0;
  auto envelope = ReadSafely([&] {
    auto m = (*frame)->Root<proto::NodeMessage>();
    if (m.which() != proto::NodeMessage::OUTBOX) return false;
    seq = m.getOutbox().getSeq();
    payload = FromBytes(m.getOutbox().getPayload());
    return true;
  });
  if (!envelope) return envelope.error();
  if (!payload) return payload.error();
  return ReadSafely([&] { return read((*payload)->Root<proto::OutboxMessage>(), seq); });
}

// Every field RunStore::RecordResult reads (ResultOk, and its copy of the whole result).
Result<ReceivedResult> DecodeResult(const std::string& bytes) {
  return DecodeOutbox(bytes, [](proto::OutboxMessage::Reader m, uint64_t seq) {
    ReceivedResult r;
    if (!m.isResult()) return r;
    auto res = m.getResult();
    r.outbox_seq = seq;
    r.task_id = res.getTaskId();
    r.end = res.getEnd();
    r.exit_code = res.getExitCode();
    r.signal = res.getSignal();
    r.started_ms = res.getStartedMs();
    r.ended_ms = res.getEndedMs();
    r.stdout_bytes = res.getStdoutBytes();
    r.stderr_bytes = res.getStderrBytes();
    r.error = res.getError();
    r.ok = r.end == proto::TaskEnd::EXITED && r.exit_code == 0;
    return r;
  });
}

// RunStore::RecordOutput up to its LMDB write.
Result<ReceivedOutput> DecodeOutput(const std::string& bytes) {
  return DecodeOutbox(bytes, [](proto::OutboxMessage::Reader m, uint64_t seq) {
    ReceivedOutput r;
    if (!m.isOutput()) return r;
    auto o = m.getOutput();
    r.outbox_seq = seq;
    r.task_id = o.getTaskId();
    r.chunk_seq = o.getSeq();
    auto data = o.getData();
    r.value.reserve(1 + data.size());
    r.value.push_back(static_cast<char>(o.getStream()));
    r.value.append(reinterpret_cast<const char*>(data.begin()), data.size());
    return r;
  });
}

// ---- node -> planner: heartbeat, stats; planner -> node: ack --------------------------------

// PlannerAgent::HeartbeatLoop, with the values it reads from /proc and the outbox given.
Result<std::string> EncodeHeartbeat(uint64_t uptime, uint32_t running, uint64_t pending) {
  capnp::MallocMessageBuilder message;
  auto hb = message.initRoot<proto::NodeMessage>().initHeartbeat();
  hb.setUptimeSeconds(uptime);
  hb.setRunningTasks(running);
  hb.setOutboxPending(pending);
  return EncodeFrame(message);
}

struct ReceivedHeartbeat {
  uint64_t uptime_seconds = 0, outbox_pending = 0;
  uint32_t running_tasks = 0;
};

// ServeNode's dispatch; Registry::OnHeartbeat reads only the uptime, the rest is read too.
Result<ReceivedHeartbeat> DecodeHeartbeat(const std::string& bytes) {
  auto frame = ReceiveFrame(bytes);
  if (!frame) return frame.error();
  return ReadSafely([&] {
    ReceivedHeartbeat r;
    auto m = (*frame)->Root<proto::NodeMessage>();
    if (m.which() != proto::NodeMessage::HEARTBEAT) return r;
    auto hb = m.getHeartbeat();
    r.uptime_seconds = hb.getUptimeSeconds();
    r.running_tasks = hb.getRunningTasks();
    r.outbox_pending = hb.getOutboxPending();
    return r;
  });
}

// A built-in sample as the StatsScheduler makes it: ToMetrics of a host with two mounts (18
// metrics) and one threshold alert.
node::StatsSample BuiltinSample() {
  node::StatsSample s;
  s.source = "builtin";
  s.unix_ms = 1767225600000;
  s.host.load = {0.42, 0.35, 0.30};
  s.host.memory = {uint64_t{64} << 30, uint64_t{41} << 30, uint64_t{8} << 30, uint64_t{8} << 30};
  s.host.uptime_seconds = 864000;
  s.host.boot_time_unix_s = 1766361600;
  for (const char* mount : {"/", "/var"}) {
    node::MountUsage u;
    u.mount_point = mount;
    u.total_bytes = uint64_t{500} << 30;
    u.available_bytes = uint64_t{41} << 30;
    u.inodes_total = 32000000;
    u.inodes_free = 29000000;
    s.host.mounts.push_back(u);
  }
  s.metrics = node::ToMetrics(s.host);
  s.alerts.push_back({"disk_free_pct:/var", node::ServiceState::kOk, node::ServiceState::kWarning,
                      8.2, "disk_free_pct:/var 8.2 < 10"});
  return s;
}

// PlannerAgent::OnSample.
Result<std::string> EncodeStats(const node::StatsSample& sample) {
  capnp::MallocMessageBuilder message;
  node::FillStatsReport(message.initRoot<proto::NodeMessage>().initStats(), sample);
  return EncodeFrame(message);
}

// What StatsStore::Record keeps on the Host.
struct ReceivedStats {
  std::vector<std::pair<std::string, double>> last_stats;
  std::map<std::string, std::string> problems;
};

// ServeNode's dispatch and StatsStore::Record up to its LMDB write (which re-encodes the report).
Result<ReceivedStats> DecodeStats(const std::string& bytes) {
  auto frame = ReceiveFrame(bytes);
  if (!frame) return frame.error();
  return ReadSafely([&] {
    ReceivedStats host;
    auto m = (*frame)->Root<proto::NodeMessage>();
    if (m.which() != proto::NodeMessage::STATS) return host;
    auto report = m.getStats();
    std::string source = report.getSource();
    std::string state = report.getState();
    if (source == "builtin") {
      for (auto metric : report.getMetrics()) {
        host.last_stats.emplace_back(metric.getName(), metric.getValue());
      }
    }
    if (state != "OK" && !state.empty()) {
      host.problems[source] = state + " " + std::string(report.getText());
    } else {
      host.problems.erase(source);
    }
    for (auto a : report.getAlerts()) {
      std::string name = a.getName();
      if (name == source) continue;
      if (std::string(a.getTo()) == "OK") {
        host.problems.erase(name);
      } else {
        host.problems[name] = std::string(a.getTo()) + " " + std::string(a.getText());
      }
    }
    return host;
  });
}

// Planner::SendAck.
Result<std::string> EncodeAck(uint64_t acked_seq) {
  capnp::MallocMessageBuilder message;
  message.initRoot<proto::PlannerMessage>().setAck(acked_seq);
  return EncodeFrame(message);
}

// PlannerAgent::RunSession's dispatch of an ack.
Result<uint64_t> DecodeAck(const std::string& bytes) {
  auto frame = ReceiveFrame(bytes);
  if (!frame) return frame.error();
  return ReadSafely([&]() -> uint64_t {
    auto m = (*frame)->Root<proto::PlannerMessage>();
    return m.which() == proto::PlannerMessage::ACK ? m.getAck() : 0;
  });
}

// ---- registration ---------------------------------------------------------------------------

void Count(benchmark::State& state, size_t frame_bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["frame_bytes"] = static_cast<double>(frame_bytes);
}

// Registers memcpy/, encode/ and decode/<name>. The round trip is checked once first with
// `check`, so that no benchmark measures an error path.
template <typename Encode, typename Decode, typename Check>
void RegisterCase(const std::string& name, Encode encode, Decode decode, Check check) {
  auto frame = encode();
  if (!frame) Die(name + ": encode: " + frame.error().message);
  auto decoded = decode(*frame);
  if (!decoded) Die(name + ": decode: " + decoded.error().message);
  if (!check(*decoded)) Die(name + ": decoded fields differ from the encoded ones");
  const std::string bytes = *frame;

  benchmark::RegisterBenchmark(("memcpy/" + name).c_str(), [bytes](benchmark::State& state) {
    std::string copy(bytes.size(), '\0');
    for (auto _ : state) {
      std::memcpy(copy.data(), bytes.data(), bytes.size());
      benchmark::DoNotOptimize(copy.data());
      benchmark::ClobberMemory();
    }
    Count(state, bytes.size());
  });
  benchmark::RegisterBenchmark(("encode/" + name).c_str(),
                               [encode, size = bytes.size()](benchmark::State& state) {
                                 for (auto _ : state) {
                                   auto f = encode();
                                   if (!f) {
                                     state.SkipWithError(f.error().message.c_str());
                                     break;
                                   }
                                   benchmark::DoNotOptimize(f->data());
                                 }
                                 Count(state, size);
                               });
  benchmark::RegisterBenchmark(("decode/" + name).c_str(),
                               [decode, bytes](benchmark::State& state) {
                                 for (auto _ : state) {
                                   auto d = decode(bytes);
                                   if (!d) {
                                     state.SkipWithError(d.error().message.c_str());
                                     break;
                                   }
                                   benchmark::DoNotOptimize(*d);
                                 }
                                 Count(state, bytes.size());
                               });
}

void RegisterAll() {
  static TaskTemplate tmpl;
  RegisterCase(
      "task_assignment", [] { return EncodeTask(tmpl.reader(), 1000017, 4242); }, DecodeTask,
      [](const ReceivedTask& t) {
        return t.spec.id.v == 1000017 && t.journal_run_id == "4242" && t.spec.args.size() == 3 &&
               t.spec.interpreter == node::Interpreter::kBash &&
               t.spec.env.at("RELEASE") == "1.4.2";
      });

  static const node::TaskOutcome outcome = SampleOutcome();
  RegisterCase(
      "task_result", [] { return EncodeResult(outcome, 90001); }, DecodeResult,
      [](const ReceivedResult& r) {
        return r.outbox_seq == 90001 && r.task_id == outcome.id.v && r.ok &&
               r.ended_ms == outcome.end_unix_ms && r.stderr_bytes == outcome.stderr_bytes;
      });

  // Log-like text: output is mostly text, and Cap'n Proto does not look at the bytes anyway.
  static const std::string chunk = [] {
    std::string s;
    const std::string line = "2026-01-01T00:00:00Z web-17 nginx: reloaded configuration ok\n";
    while (s.size() < kOutputChunk) s += line;
    s.resize(kOutputChunk);
    return s;
  }();
  RegisterCase(
      "output_64KiB", [] { return EncodeOutput(1000017, chunk, 7, 90002); }, DecodeOutput,
      [](const ReceivedOutput& o) {
        return o.outbox_seq == 90002 && o.task_id == 1000017 && o.chunk_seq == 7 &&
               o.value.size() == 1 + chunk.size() && o.value.compare(1, chunk.size(), chunk) == 0;
      });

  RegisterCase(
      "heartbeat", [] { return EncodeHeartbeat(864000, 2, 14); }, DecodeHeartbeat,
      [](const ReceivedHeartbeat& h) {
        return h.uptime_seconds == 864000 && h.running_tasks == 2 && h.outbox_pending == 14;
      });

  static const node::StatsSample sample = BuiltinSample();
  RegisterCase(
      "stats_builtin", [] { return EncodeStats(sample); }, DecodeStats,
      [](const ReceivedStats& s) {
        return s.last_stats.size() == sample.metrics.size() && s.last_stats.size() == 18 &&
               s.problems.size() == 1 && s.problems.begin()->first == "disk_free_pct:/var";
      });

  RegisterCase(
      "ack", [] { return EncodeAck(90002); }, DecodeAck, [](uint64_t seq) { return seq == 90002; });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
