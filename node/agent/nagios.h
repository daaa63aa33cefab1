// Nagios plugin conventions: the output line of a check, threshold ranges, and service states.
// Everything here is a pure function of its input (the fuzz target's subject): any byte string
// yields a value or an Error, never a crash.
//
// Output line:   [SERVICE ]STATUS( - |: | )text[ | perfdata]
//   STATUS is OK, WARNING (WARN), CRITICAL (CRIT) or UNKNOWN, optionally after one leading word
//   naming the service ("DISK OK - 42% free"). Without a status word, the exit code decides
//   (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); with neither, the state is UNKNOWN.
// Perf data:     'label'=value[UOM];[warn];[crit];[min];[max]   separated by spaces.
//   Labels may be single-quoted (with '' for a literal quote); value may be "U" (unknown).
// Range:         10 | 10: | ~:10 | 10:20 | @10:20   (alert outside start..end; @ = inside)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace shoal::node {

enum class ServiceState : uint8_t { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };
std::string_view ServiceStateName(ServiceState state);  // "OK", "WARNING", ...
// Maps a plugin exit code to a state: 0..3 as Nagios, anything else UNKNOWN.
ServiceState StateFromExitCode(int exit_code);

struct PerfDatum {
  std::string label;
  std::optional<double> value;  // nullopt for "U"
  std::string uom;              // "", "s", "ms", "%", "B", "KB", "MB", "c", ...
  std::string warn, crit;       // range text as given (may be empty)
  std::optional<double> min, max;
};

enum class StateSource : uint8_t { kText, kExitCode, kNone };

struct PluginOutput {
  ServiceState state = ServiceState::kUnknown;
  StateSource state_source = StateSource::kNone;
  std::string text;  // the human part, after the status word and separator, trimmed
  std::vector<PerfDatum> perf;
};

// Returns the last non-empty line of `output` (trailing \r stripped), or "" if none.
std::string_view LastLine(std::string_view output);

// Parses one output line. `exit_code` is the plugin's, if it exited normally. Errors (empty
// line, control bytes, malformed perf data) name the offending token and its byte offset.
Result<PluginOutput> ParsePluginLine(std::string_view line, std::optional<int> exit_code);

// A Nagios threshold range.
struct Range {
  double start = 0;           // -infinity when given as ~
  double end = 0;             // +infinity when omitted ("10:")
  bool alert_inside = false;  // '@' prefix

  static Result<Range> Parse(std::string_view text);
  // True if `value` should raise an alert under this range.
  bool Alerts(double value) const;
};

// A metric's warn/crit pair; either may be absent.
struct Threshold {
  std::optional<Range> warn, crit;
  // Parses e.g. ("10", "20") — either text may be empty.
  static Result<Threshold> Parse(std::string_view warn, std::string_view crit);
  // CRITICAL if crit alerts, else WARNING if warn alerts, else OK.
  ServiceState Evaluate(double value) const;
};

// A change of a metric's or a service's state.
struct Alert {
  std::string name;
  ServiceState from = ServiceState::kOk;
  ServiceState to = ServiceState::kOk;
  std::optional<double> value;  // the metric value that caused it, if any
  std::string text;
};

// Remembers the last state of each named metric/service and reports changes. Everything starts
// in OK, so the first non-OK observation is an alert and a return to OK is one too.
class AlertTracker {
 public:
  void SetThreshold(const std::string& metric, Threshold threshold);
  bool HasThreshold(const std::string& metric) const { return thresholds_.contains(metric); }
  // Evaluates `value` against the metric's threshold (no threshold: nothing to report).
  std::optional<Alert> ObserveValue(const std::string& metric, double value);
  // Records a state reported directly (a plugin's status).
  std::optional<Alert> ObserveState(const std::string& name, ServiceState state,
                                    std::string_view text);
  ServiceState StateOf(const std::string& name) const;

 private:
  std::optional<Alert> Transition(const std::string& name, ServiceState to);
  std::map<std::string, Threshold> thresholds_;
  std::map<std::string, ServiceState> states_;
};

}  // namespace shoal::node
