#include "node/agent/agent_messages.h"

#include <string>

#include "node/agent/nagios.h"

namespace shoal::node {

void FillTaskResult(proto::TaskResult::Builder r, const TaskOutcome& outcome) {
  r.setTaskId(outcome.id.v);
  if (outcome.timed_out) {
    r.setEnd(proto::TaskEnd::TIMED_OUT);
  } else if (outcome.cancelled) {
    r.setEnd(proto::TaskEnd::CANCELLED);
  } else if (outcome.signal) {
    r.setEnd(proto::TaskEnd::SIGNALED);
  } else {
    r.setEnd(proto::TaskEnd::EXITED);
  }
  r.setExitCode(outcome.exit_code.value_or(-1));
  r.setSignal(outcome.signal.value_or(0));
  r.setStartedMs(outcome.start_unix_ms);
  r.setEndedMs(outcome.end_unix_ms);
  r.setStdoutBytes(outcome.stdout_bytes);
  r.setStderrBytes(outcome.stderr_bytes);
  if (outcome.oom_killed) {
    r.setError("killed by the kernel: over its memory limit (memory_max " +
               std::to_string(outcome.memory_max.value_or(0)) + " bytes)");
  }
}

void FillTaskOutput(proto::TaskOutput::Builder o, TaskId id, OutputStream stream, uint64_t seq,
                    std::string_view bytes) {
  o.setTaskId(id.v);
  o.setStream(static_cast<uint8_t>(stream));
  o.setSeq(seq);
  o.setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
}

void FillStatsReport(proto::StatsReport::Builder r, const StatsSample& sample) {
  r.setUnixMs(sample.unix_ms);
  r.setSource(sample.source);
  r.setState(std::string(ServiceStateName(sample.state)));
  r.setText(sample.text);
  auto metrics = r.initMetrics(sample.metrics.size());
  for (size_t i = 0; i < sample.metrics.size(); ++i) {
    metrics[i].setName(sample.metrics[i].name);
    metrics[i].setValue(sample.metrics[i].value);
    metrics[i].setUom(sample.metrics[i].uom);
  }
  auto alerts = r.initAlerts(sample.alerts.size());
  for (size_t i = 0; i < sample.alerts.size(); ++i) {
    const Alert& a = sample.alerts[i];
    alerts[i].setName(a.name);
    alerts[i].setFrom(std::string(ServiceStateName(a.from)));
    alerts[i].setTo(std::string(ServiceStateName(a.to)));
    alerts[i].setHasValue(a.value.has_value());
    alerts[i].setValue(a.value.value_or(0));
    alerts[i].setText(a.text);
  }
}

}  // namespace shoal::node
