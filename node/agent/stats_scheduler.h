// StatsScheduler: on an io_context, collects the built-in host stats every `builtin_interval`
// and runs each external plugin on its own interval (with a timeout, through a TaskRunner), and
// hands every result to a callback as a StatsSample, together with threshold alerts.
//
// A plugin is an executable whose LAST stdout line is Nagios plugin output (nagios.h). A plugin
// that times out, cannot start, or prints garbage yields a sample in state UNKNOWN whose text
// says why; it never stops the schedule. A plugin run that is still going when its next turn
// comes is not started twice (the turn is skipped).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "node/agent/nagios.h"
#include "node/agent/stats.h"
#include "node/agent/task_runner.h"

namespace shoal::node {

struct PluginSpec {
  std::string name;            // unique; also the service name in alerts
  std::filesystem::path path;  // absolute path of the executable
  std::vector<std::string> args;
  std::chrono::milliseconds interval{std::chrono::seconds(60)};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::string run_as;  // empty: the daemon's account
};

struct StatsSample {
  enum class Kind { kBuiltin, kPlugin } kind = Kind::kBuiltin;
  std::string source;  // "builtin" or the plugin's name
  int64_t unix_ms = 0;
  // kBuiltin: the host stats and their metrics. Built-ins have state OK unless collection failed.
  HostStats host;
  std::vector<Metric> metrics;  // kBuiltin: ToMetrics(host); kPlugin: its perf data values
  // kPlugin: the parsed output (state, text, perf) and how the run ended.
  ServiceState state = ServiceState::kOk;
  std::string text;
  std::vector<PerfDatum> perf;
  std::optional<int> exit_code;
  bool timed_out = false;
  // State changes caused by this sample: thresholds on its metrics, and the plugin's own state.
  std::vector<Alert> alerts;
};

using SampleCallback = std::function<void(const StatsSample& sample)>;

class StatsScheduler {
 public:
  struct Options {
    std::chrono::milliseconds builtin_interval{std::chrono::seconds(30)};  // zero: no built-ins
    std::vector<PluginSpec> plugins;
    // Thresholds by metric name: a built-in's name (stats.h) or "<plugin>/<perf label>".
    std::map<std::string, Threshold> thresholds;
    std::filesystem::path proc_root = "/proc";
    // Bytes of plugin stdout kept (its last line is parsed); more is dropped from the front.
    size_t max_plugin_output = 64 * 1024;
  };

  // `runner_options` configure the scheduler's own TaskRunner (plugins' ids are private to it).
  StatsScheduler(boost::asio::io_context& io, Options options, SampleCallback on_sample,
                 TaskRunner::Options runner_options = {});
  ~StatsScheduler();

  // Validates the options (unique plugin names, absolute paths, positive intervals) and starts
  // the timers; the first collection of each source happens at once.
  Status Start();
  // Cancels the timers and kills running plugins; no callback after it returns.
  void Stop();

 private:
  struct PluginState;
  void CollectBuiltin();
  void RunPlugin(size_t index);
  void ScheduleBuiltin();
  void SchedulePlugin(size_t index);

  boost::asio::io_context& io_;
  Options options_;
  SampleCallback on_sample_;
  TaskRunner runner_;
  AlertTracker tracker_;
  boost::asio::steady_timer builtin_timer_;
  std::vector<std::unique_ptr<PluginState>> plugins_;
  uint64_t next_task_id_ = 1;
  bool running_ = false;
  // Handlers hold a weak_ptr to this: expired means the scheduler is gone.
  std::shared_ptr<bool> alive_;
};

}  // namespace shoal::node
