#include "node/agent/nagios.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace shoal::node {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Parses all of `text` as a finite decimal number (no "inf"/"nan", no trailing bytes).
std::optional<double> ParseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view digits = text;
  if (digits.front() == '+') digits.remove_prefix(1);  // from_chars rejects a leading '+'
  if (digits.empty() || !(std::isdigit(static_cast<unsigned char>(digits.front())) ||
                          digits.front() == '-' || digits.front() == '.')) {
    return std::nullopt;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// Splits a number prefix from a unit suffix: "12.5ms" -> (12.5, "ms").
std::optional<std::pair<double, std::string_view>> ParseValueWithUom(std::string_view text) {
  size_t i = 0;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.' || text[i] == '-' ||
          text[i] == '+' || text[i] == 'e' || text[i] == 'E')) {
    ++i;
  }
  // An exponent letter without digits after it belongs to the unit ("5E" is not a number).
  while (i > 0 && (text[i - 1] == 'e' || text[i - 1] == 'E')) --i;
  auto v = ParseNumber(text.substr(0, i));
  if (!v) return std::nullopt;
  std::string_view uom = text.substr(i);
  if (uom.size() > 16) return std::nullopt;
  for (char c : uom) {
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '%' && c != '/') return std::nullopt;
  }
  return std::make_pair(*v, uom);
}

std::optional<ServiceState> StatusWord(std::string_view word) {
  if (word == "OK") return ServiceState::kOk;
  if (word == "WARNING" || word == "WARN") return ServiceState::kWarning;
  if (word == "CRITICAL" || word == "CRIT") return ServiceState::kCritical;
  if (word == "UNKNOWN") return ServiceState::kUnknown;
  return std::nullopt;
}

// Length of the word at the start of `s` (up to a space or ':').
size_t WordLength(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && !IsSpace(s[i]) && s[i] != ':') ++i;
  return i;
}

// Finds the status word as the first or the second word; fills state and text.
bool TakeStatus(std::string_view text, PluginOutput& out) {
  for (int word = 0; word < 2; ++word) {
    size_t len = WordLength(text);
    if (auto state = StatusWord(text.substr(0, len))) {
      std::string_view rest = Trim(text.substr(len));
      if (!rest.empty() && (rest.front() == ':' || rest.front() == '-')) rest.remove_prefix(1);
      out.state = *state;
      out.state_source = StateSource::kText;
      out.text = std::string(Trim(rest));
      return true;
    }
    if (len == 0 || len >= text.size() || !IsSpace(text[len])) return false;
    text = Trim(text.substr(len));
  }
  return false;
}

std::string At(size_t offset) { return " at offset " + std::to_string(offset); }

Result<PerfDatum> ParsePerfItem(std::string_view item, size_t offset) {
  PerfDatum d;
  size_t eq;
  if (item.front() == '\'') {
    size_t i = 1;
    for (;; ++i) {
      if (i >= item.size()) return Error::of("perfdata", "unterminated quoted label" + At(offset));
      if (item[i] != '\'') {
        d.label += item[i];
      } else if (i + 1 < item.size() && item[i + 1] == '\'') {
        d.label += '\'';
        ++i;
      } else {
        break;
      }
    }
    eq = i + 1;
    if (eq >= item.size() || item[eq] != '=') {
      return Error::of("perfdata", "expected '=' after quoted label" + At(offset + eq));
    }
  } else {
    eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Error::of("perfdata", "'" + std::string(item) + "' lacks '='" + At(offset));
    }
    d.label = std::string(item.substr(0, eq));
  }
  if (d.label.empty()) return Error::of("perfdata", "empty label" + At(offset));

  std::string_view fields[5];
  std::string_view rest = item.substr(eq + 1);
  size_t n = 0;
  while (true) {
    size_t semi = rest.find(';');
    if (n == 5) {
      return Error::of("perfdata", "more than 5 fields for '" + d.label + "'" + At(offset));
    }
    fields[n++] = rest.substr(0, semi);
    if (semi == std::string_view::npos) break;
    rest = rest.substr(semi + 1);
  }
  const std::string what = "'" + d.label + "'" + At(offset);
  if (fields[0] == "U") {
    d.value = std::nullopt;
  } else {
    auto v = ParseValueWithUom(fields[0]);
    if (!v) return Error::of("perfdata", "bad value '" + std::string(fields[0]) + "' for " + what);
    d.value = v->first;
    d.uom = std::string(v->second);
  }
  for (int i : {1, 2}) {
    if (n > static_cast<size_t>(i) && !fields[i].empty()) {
      if (auto r = Range::Parse(fields[i]); !r) {
        return Error::of("perfdata",
                         r.error().message + " in " + (i == 1 ? "warn" : "crit") + " of " + what);
      }
      (i == 1 ? d.warn : d.crit) = std::string(fields[i]);
    }
  }
  for (int i : {3, 4}) {
    if (n > static_cast<size_t>(i) && !fields[i].empty()) {
      auto v = ParseNumber(fields[i]);
      if (!v) {
        return Error::of("perfdata", "bad " + std::string(i == 3 ? "min" : "max") + " '" +
                                         std::string(fields[i]) + "' for " + what);
      }
      (i == 3 ? d.min : d.max) = *v;
    }
  }
  return d;
}

Result<std::vector<PerfDatum>> ParsePerf(std::string_view perf, size_t base) {
  std::vector<PerfDatum> out;
  size_t i = 0;
  while (i < perf.size()) {
    if (IsSpace(perf[i])) {
      ++i;
      continue;
    }
    // An item ends at whitespace outside quotes.
    size_t j = i;
    bool quoted = perf[i] == '\'';
    if (quoted) {
      ++j;
      while (j < perf.size()) {
        if (perf[j] == '\'') {
          if (j + 1 < perf.size() && perf[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      if (j < perf.size()) ++j;  // past the closing quote
    }
    while (j < perf.size() && !IsSpace(perf[j])) ++j;
    auto d = ParsePerfItem(perf.substr(i, j - i), base + i);
    if (!d) return d.error();
    out.push_back(std::move(*d));
    i = j;
  }
  return out;
}

}  // namespace

std::string_view ServiceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kOk:
      return "OK";
    case ServiceState::kWarning:
      return "WARNING";
    case ServiceState::kCritical:
      return "CRITICAL";
    case ServiceState::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

ServiceState StateFromExitCode(int exit_code) {
  return exit_code >= 0 && exit_code <= 3 ? static_cast<ServiceState>(exit_code)
                                          : ServiceState::kUnknown;
}

std::string_view LastLine(std::string_view output) {
  while (!output.empty()) {
    size_t nl = output.rfind('\n');
    std::string_view line = nl == std::string_view::npos ? output : output.substr(nl + 1);
    output = nl == std::string_view::npos ? std::string_view{} : output.substr(0, nl);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!Trim(line).empty()) return line;
  }
  return {};
}

Result<PluginOutput> ParsePluginLine(std::string_view line, std::optional<int> exit_code) {
  for (size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return Error::of("plugin output", "control byte " + std::to_string(c) + At(i));
    }
  }
  std::string_view trimmed = Trim(line);
  if (trimmed.empty()) return Error::of("plugin output", "empty line");
  size_t base = static_cast<size_t>(trimmed.data() - line.data());
  size_t bar = trimmed.find('|');
  std::string_view text = Trim(trimmed.substr(0, bar));

  PluginOutput out;
  if (!TakeStatus(text, out)) {
    out.text = std::string(text);
    if (exit_code) {
      out.state = StateFromExitCode(*exit_code);
      out.state_source = StateSource::kExitCode;
    }
  }
  if (bar != std::string_view::npos) {
    auto perf = ParsePerf(trimmed.substr(bar + 1), base + bar + 1);
    if (!perf) return perf.error();
    out.perf = std::move(*perf);
  }
  return out;
}

Result<Range> Range::Parse(std::string_view text) {
  const std::string where = "range '" + std::string(text) + "'";
  Range r;
  if (!text.empty() && text.front() == '@') {
    r.alert_inside = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return Error::of(where, "empty");
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    auto end = ParseNumber(text);
    if (!end) return Error::of(where, "not a number");
    r.start = 0;
    r.end = *end;
  } else {
    std::string_view start = text.substr(0, colon), end = text.substr(colon + 1);
    if (start == "~") {
      r.start = -kInf;
    } else if (start.empty()) {
      r.start = 0;
    } else if (auto v = ParseNumber(start)) {
      r.start = *v;
    } else {
      return Error::of(where, "bad start");
    }
    if (end.empty()) {
      r.end = kInf;
    } else if (auto v = ParseNumber(end)) {
      r.end = *v;
    } else {
      return Error::of(where, "bad end");
    }
  }
  if (r.start > r.end) return Error::of(where, "start is greater than end");
  return r;
}

bool Range::Alerts(double value) const {
  bool inside = value >= start && value <= end;
  return alert_inside ? inside : !inside;
}

Result<Threshold> Threshold::Parse(std::string_view warn, std::string_view crit) {
  Threshold t;
  if (!warn.empty()) {
    auto r = Range::Parse(warn);
    if (!r) return Error::of("warn", r.error().message);
    t.warn = *r;
  }
  if (!crit.empty()) {
    auto r = Range::Parse(crit);
    if (!r) return Error::of("crit", r.error().message);
    t.crit = *r;
  }
  return t;
}

ServiceState Threshold::Evaluate(double value) const {
  if (crit && crit->Alerts(value)) return ServiceState::kCritical;
  if (warn && warn->Alerts(value)) return ServiceState::kWarning;
  return ServiceState::kOk;
}

void AlertTracker::SetThreshold(const std::string& metric, Threshold threshold) {
  thresholds_[metric] = threshold;
}

std::optional<Alert> AlertTracker::ObserveValue(const std::string& metric, double value) {
  auto it = thresholds_.find(metric);
  if (it == thresholds_.end()) return std::nullopt;
  auto alert = Transition(metric, it->second.Evaluate(value));
  if (alert) alert->value = value;
  return alert;
}

std::optional<Alert> AlertTracker::ObserveState(const std::string& name, ServiceState state,
                                                std::string_view text) {
  auto alert = Transition(name, state);
  if (alert) alert->text = std::string(text);
  return alert;
}

ServiceState AlertTracker::StateOf(const std::string& name) const {
  auto it = states_.find(name);
  return it == states_.end() ? ServiceState::kOk : it->second;
}

std::optional<Alert> AlertTracker::Transition(const std::string& name, ServiceState to) {
  ServiceState from = StateOf(name);
  if (from == to) return std::nullopt;
  states_[name] = to;
  return Alert{name, from, to, std::nullopt, {}};
}

}  // namespace shoal::node
