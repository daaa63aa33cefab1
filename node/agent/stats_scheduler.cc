#include "node/agent/stats_scheduler.h"

#include <boost/asio/post.hpp>
#include <set>

namespace shoal::node {
namespace asio = boost::asio;

namespace {
int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

struct StatsScheduler::PluginState {
  PluginState(asio::io_context& io, PluginSpec s) : spec(std::move(s)), timer(io) {}
  PluginSpec spec;
  asio::steady_timer timer;
  bool running = false;
  TaskId task;
  std::string output;  // the tail of the current run's stdout
};

StatsScheduler::StatsScheduler(asio::io_context& io, Options options, SampleCallback on_sample,
                               TaskRunner::Options runner_options)
    : io_(io),
      options_(std::move(options)),
      on_sample_(std::move(on_sample)),
      runner_(io, std::move(runner_options)),
      builtin_timer_(io),
      alive_(std::make_shared<bool>(true)) {
  for (const auto& [metric, threshold] : options_.thresholds) {
    tracker_.SetThreshold(metric, threshold);
  }
}

StatsScheduler::~StatsScheduler() { Stop(); }

Status StatsScheduler::Start() {
  if (running_) return Error::of("stats", "already started");
  std::set<std::string> names;
  for (const auto& p : options_.plugins) {
    const std::string where = "plugin '" + p.name + "'";
    if (p.name.empty() || !names.insert(p.name).second) {
      return Error::of(where, "plugin names must be unique and non-empty");
    }
    if (!p.path.is_absolute()) return Error::of(where, "path must be absolute");
    if (p.interval.count() <= 0 || p.timeout.count() <= 0) {
      return Error::of(where, "interval and timeout must be positive");
    }
  }
  if (options_.builtin_interval.count() < 0) {
    return Error::of("stats", "builtin_interval must not be negative");
  }
  running_ = true;
  plugins_.clear();
  for (const auto& p : options_.plugins) plugins_.push_back(std::make_unique<PluginState>(io_, p));
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired() || !running_) return;
    if (options_.builtin_interval.count() > 0) CollectBuiltin();
    for (size_t i = 0; i < plugins_.size(); ++i) RunPlugin(i);
  });
  return Status::Ok();
}

void StatsScheduler::Stop() {
  running_ = false;
  builtin_timer_.cancel();
  for (auto& p : plugins_) {
    p->timer.cancel();
    if (p->running) runner_.Cancel(p->task);
  }
}

void StatsScheduler::ScheduleBuiltin() {
  builtin_timer_.expires_after(options_.builtin_interval);
  builtin_timer_.async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (!ec && !alive.expired() && running_) CollectBuiltin();
      });
}

void StatsScheduler::SchedulePlugin(size_t index) {
  auto& timer = plugins_[index]->timer;
  timer.expires_after(plugins_[index]->spec.interval);
  timer.async_wait(
      [this, index, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (!ec && !alive.expired() && running_) RunPlugin(index);
      });
}

void StatsScheduler::CollectBuiltin() {
  ScheduleBuiltin();
  StatsSample sample;
  sample.kind = StatsSample::Kind::kBuiltin;
  sample.source = "builtin";
  sample.unix_ms = NowUnixMs();
  auto host = CollectHostStats(options_.proc_root);
  if (host) {
    sample.host = std::move(*host);
    sample.metrics = ToMetrics(sample.host);
    for (const auto& m : sample.metrics) {
      if (auto alert = tracker_.ObserveValue(m.name, m.value)) sample.alerts.push_back(*alert);
    }
  } else {
    sample.state = ServiceState::kUnknown;
    sample.text = host.error().message;
  }
  on_sample_(sample);
}

void StatsScheduler::RunPlugin(size_t index) {
  SchedulePlugin(index);
  PluginState& p = *plugins_[index];
  if (p.running) return;  // the previous run is still going: skip this turn

  TaskSpec spec;
  spec.id = TaskId{next_task_id_++};
  spec.script_path = p.spec.path;
  spec.interpreter = Interpreter::kExec;
  spec.args = p.spec.args;
  spec.run_as = p.spec.run_as;
  spec.timeout = p.spec.timeout;
  spec.kill_grace = std::chrono::seconds(1);
  p.task = spec.id;
  p.output.clear();
  const size_t max_output = options_.max_plugin_output;
  auto on_output = [&p, max_output](TaskId, OutputStream stream, uint64_t, std::string_view b) {
    if (stream != OutputStream::kStdout) return;
    p.output.append(b);
    if (p.output.size() > max_output) p.output.erase(0, p.output.size() - max_output);
  };
  auto on_done = [this, index, alive = std::weak_ptr<bool>(alive_)](const TaskOutcome& outcome) {
    if (alive.expired()) return;
    PluginState& p = *plugins_[index];
    p.running = false;
    if (!running_) return;
    StatsSample sample;
    sample.kind = StatsSample::Kind::kPlugin;
    sample.source = p.spec.name;
    sample.unix_ms = outcome.end_unix_ms;
    sample.exit_code = outcome.exit_code;
    sample.timed_out = outcome.timed_out;
    sample.state = ServiceState::kUnknown;
    if (outcome.timed_out) {
      sample.text = "plugin timed out after " + std::to_string(p.spec.timeout.count()) + " ms";
    } else if (outcome.signal) {
      sample.text = "plugin killed by signal " + std::to_string(*outcome.signal);
    } else if (auto parsed = ParsePluginLine(LastLine(p.output), outcome.exit_code); !parsed) {
      sample.text = "unparsable plugin output: " + parsed.error().message;
    } else {
      sample.state = parsed->state;
      sample.text = std::move(parsed->text);
      sample.perf = std::move(parsed->perf);
    }
    for (const auto& d : sample.perf) {
      if (!d.value) continue;
      std::string name = p.spec.name + "/" + d.label;
      sample.metrics.push_back(Metric{name, *d.value, d.uom});
      if (auto alert = tracker_.ObserveValue(name, *d.value)) sample.alerts.push_back(*alert);
    }
    if (auto alert = tracker_.ObserveState(p.spec.name, sample.state, sample.text)) {
      sample.alerts.push_back(*alert);
    }
    on_sample_(sample);
  };
  if (auto s = runner_.Start(std::move(spec), on_output, on_done); !s) {
    StatsSample sample;
    sample.kind = StatsSample::Kind::kPlugin;
    sample.source = p.spec.name;
    sample.unix_ms = NowUnixMs();
    sample.state = ServiceState::kUnknown;
    sample.text = "plugin did not start: " + s.error().message;
    if (auto alert = tracker_.ObserveState(p.spec.name, sample.state, sample.text)) {
      sample.alerts.push_back(*alert);
    }
    on_sample_(sample);
    return;
  }
  p.running = true;
}

}  // namespace shoal::node
