#include "planner/jobs/job_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <set>
#include <sstream>

#include "planner/jobs/waves.h"

namespace shoal::planner::jobs {
namespace {

// --- Scalars shared by the job file and the CLI ------------------------------------------------

// Parses all of `text` as a decimal number (no sign, no spaces); nullopt if it is not one.
// `overflow` is set when it is one but does not fit.
template <typename T>
std::optional<T> Decimal(std::string_view text, bool* overflow = nullptr) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  if (end != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range && overflow) *overflow = true;
  if (ec != std::errc()) return std::nullopt;
  return value;
}

// ParseDuration without the `duration "<text>": ` prefix (the job file names the field instead).
Result<Millis> Duration(std::string_view text) {
  constexpr std::string_view kForms = "500ms, 10s, 5m, 2h or 1h30m";
  if (text.empty()) return Error{"must not be empty"};
  if (text.front() == '-') return Error{"must not be negative"};
  const auto too_large = Error{"is too large"};
  bool overflow = false;
  if (auto seconds = Decimal<int64_t>(text, &overflow)) {
    int64_t ms;
    if (__builtin_mul_overflow(*seconds, 1000, &ms)) return too_large;
    return Millis(ms);
  }
  if (overflow) return too_large;

  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  int64_t total = 0;
  size_t next_unit = 0;  // units go from largest to smallest, each at most once
  size_t i = 0;
  while (i < text.size()) {
    const size_t digits = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    const size_t letters = i;
    while (i < text.size() &&
           ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z'))) {
      ++i;
    }
    if (digits == letters || letters == i) {
      return Error{"is not a duration like " + std::string(kForms)};
    }
    const std::string_view unit_name = text.substr(letters, i - letters);
    const Unit* unit = std::find_if(std::begin(kUnits), std::end(kUnits),
                                    [&](const Unit& u) { return u.name == unit_name; });
    if (unit == std::end(kUnits)) {
      return Error{"unknown unit \"" + std::string(unit_name) + "\" (use ms, s, m or h)"};
    }
    const size_t rank = unit - std::begin(kUnits);
    if (rank < next_unit) return Error{"units must go from h to ms, each at most once"};
    next_unit = rank + 1;
    overflow = false;
    auto count = Decimal<int64_t>(text.substr(digits, letters - digits), &overflow);
    int64_t ms;
    if (!count || __builtin_mul_overflow(*count, unit->ms, &ms) ||
        __builtin_add_overflow(total, ms, &total)) {
      return too_large;
    }
  }
  return Millis(total);
}

// ParseBudget without the `max_failed "<text>": ` prefix.
Result<Budget> BudgetOf(std::string_view text) {
  const auto malformed = Error{"must be a count like 5 or a percentage like 10%"};
  Budget budget;
  if (!text.empty() && text.back() == '%') {
    budget.kind = Budget::Kind::kPercent;
    text.remove_suffix(1);
  }
  bool overflow = false;
  auto value = Decimal<uint32_t>(text, &overflow);
  if (overflow) return Error{"is too large"};
  if (!value) return malformed;
  if (budget.kind == Budget::Kind::kPercent && *value > 100) {
    return Error{"a percentage must be 0% to 100%"};
  }
  budget.value = *value;
  return budget;
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// --- Reading the YAML tree ---------------------------------------------------------------------

// A value in the tree, with what its errors name.
struct Value {
  YAML::Node node;
  YAML::Mark mark;   // the value's position; its key's when the value is empty (yaml-cpp puts
                     // an empty value's mark on the next token, often the next line)
  std::string path;  // "steps[1].parallel[0].file.mode"
};

struct Entry {
  std::string key;
  YAML::Mark key_mark;
  Value value;
};

bool IsName(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool IsEnvName(std::string_view s) {
  return !s.empty() && !(s[0] >= '0' && s[0] <= '9') && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsArtifact(std::string_view s) {
  constexpr std::string_view kPrefix = "sha256:";
  return s.size() == kPrefix.size() + 64 && s.starts_with(kPrefix) &&
         std::all_of(s.begin() + kPrefix.size(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool HasDotDot(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

// The default name of a command step: its first non-blank line, up to 40 bytes (not cutting a
// UTF-8 sequence).
std::string FirstLine(std::string_view run) {
  const size_t begin = run.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  run.remove_prefix(begin);
  run = run.substr(0, run.find_first_of("\r\n"));
  while (!run.empty() && (run.back() == ' ' || run.back() == '\t')) run.remove_suffix(1);
  if (run.size() > 40) {
    size_t n = 40;
    while (n > 0 && (static_cast<unsigned char>(run[n]) & 0xC0) == 0x80) --n;
    run = run.substr(0, n);
  }
  return std::string(run);
}

// Records where each document of a stream starts, and nothing else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

class JobReader {
 public:
  explicit JobReader(std::string_view file_name) : file_(file_name) {}

  Result<Job> Read(const YAML::Node& root);

  // Every error goes through here: "<file>:<line>:<col>: <path>: <what>". Returns false.
  bool Fail(const YAML::Mark& mark, std::string_view path, std::string_view what) {
    if (error_) return false;  // keep the first
    std::string where = file_ + ":" + std::to_string(mark.line < 0 ? 1 : mark.line + 1) + ":" +
                        std::to_string(mark.column < 0 ? 1 : mark.column + 1);
    error_ =
        Error::of(std::move(where),
                  path.empty() ? std::string(what) : std::string(path) + ": " + std::string(what));
    return false;
  }
  bool Fail(const Value& v, std::string_view what) { return Fail(v.mark, v.path, what); }
  const Error& error() const { return *error_; }

 private:
  static std::string Child(std::string_view path, std::string_view key) {
    return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
  }
  static Value Element(const Value& seq, const YAML::Node& node, size_t i) {
    return {node, node.IsNull() ? seq.mark : node.Mark(), seq.path + "[" + std::to_string(i) + "]"};
  }

  // The entries of the map `v`, in document order. Fails on a value that is not a map, a key that
  // is not a string, a duplicate key, or (when `known` is given) a key not in `known`.
  bool Entries(const Value& v, std::optional<std::initializer_list<std::string_view>> known,
               std::vector<Entry>* out);
  bool Text(const Value& v, std::string* out, bool allow_empty = false);
  bool Texts(const Value& v, std::vector<std::string>* out, bool allow_empty_list);
  bool AbsolutePath(const Value& v, std::string* out);
  bool Bool(const Value& v, bool* out);
  bool DurationValue(const Value& v, Millis* out);
  template <typename E>
  bool Choice(const Value& v, std::initializer_list<std::pair<std::string_view, E>> choices,
              std::string_view what, E* out);

  bool Interpreter(const Value& v, std::string* out) {
    return Choice<std::string>(
        v, {{"sh", "sh"}, {"bash", "bash"}, {"python3", "python3"}, {"exec", "exec"}},
        "must be sh, bash, python3 or exec", out);
  }

  bool ReadSteps(const Value& v, std::vector<Stage>* out);
  // One entry of `steps:` or of a `parallel:` list.
  bool ReadStage(const Value& v, bool nested, Stage* out);
  bool ReadStep(const Entry& kind, const YAML::Mark& pos, Step* out);
  // `on`, `on_failure`, `name`: false with `*handled` unset when `e` is none of them.
  bool ReadCommon(const Entry& e, Step* step, bool* handled);
  bool ReadFile(const Value& v, Step* out);
  bool ReadCommand(const Value& v, Step* out);
  bool ReadVerify(const Value& v, CommandStep* out);
  // A command's `run` XOR `script` and its interpreter's needs, after reading its keys.
  bool CheckCommand(const Value& v, const CommandStep& c, const Entry* run, const Entry* script,
                    const Entry* interpreter, std::string_view run_key);

  std::string file_;
  std::optional<Error> error_;
};

bool JobReader::Entries(const Value& v,
                        std::optional<std::initializer_list<std::string_view>> known,
                        std::vector<Entry>* out) {
  if (!v.node.IsMap()) return Fail(v, "must be a map");
  std::set<std::string> seen;
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    // Copies: `it->first` lives in a temporary proxy that dies with this statement.
    const YAML::Node key = it->first;
    if (!key.IsScalar()) return Fail(key.Mark(), v.path, "keys must be strings");
    const std::string& name = key.Scalar();
    const std::string path = Child(v.path, name);
    if (known && std::find(known->begin(), known->end(), name) == known->end()) {
      return Fail(key.Mark(), path, "unknown key");
    }
    if (!seen.insert(name).second) return Fail(key.Mark(), path, "duplicate key");
    const YAML::Node value = it->second;
    out->push_back({name, key.Mark(), {value, value.IsNull() ? key.Mark() : value.Mark(), path}});
  }
  return true;
}

bool JobReader::Text(const Value& v, std::string* out, bool allow_empty) {
  if (v.node.IsNull()) return Fail(v, allow_empty ? "must be a string" : "must not be empty");
  if (!v.node.IsScalar()) return Fail(v, "must be a string");
  const std::string& s = v.node.Scalar();
  if (s.empty() && !allow_empty) return Fail(v, "must not be empty");
  if (s.find('\0') != std::string::npos) return Fail(v, "must not contain a NUL byte");
  *out = s;
  return true;
}

bool JobReader::Texts(const Value& v, std::vector<std::string>* out, bool allow_empty_list) {
  if (v.node.IsScalar()) {
    out->emplace_back();
    return Text(v, &out->back());
  }
  if (v.node.IsNull()) return Fail(v, "must not be empty");
  if (!v.node.IsSequence()) return Fail(v, "must be a list of strings");
  if (v.node.size() == 0 && !allow_empty_list) return Fail(v, "must not be empty");
  for (size_t i = 0; i < v.node.size(); ++i) {
    out->emplace_back();
    if (!Text(Element(v, v.node[i], i), &out->back())) return false;
  }
  return true;
}

bool JobReader::AbsolutePath(const Value& v, std::string* out) {
  if (!Text(v, out)) return false;
  if (out->front() != '/') return Fail(v, "must be an absolute path");
  return true;
}

bool JobReader::Bool(const Value& v, bool* out) {
  const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
  if (s == "true" || s == "True" || s == "TRUE") {
    *out = true;
  } else if (s == "false" || s == "False" || s == "FALSE") {
    *out = false;
  } else {
    return Fail(v, "must be true or false");
  }
  return true;
}

bool JobReader::DurationValue(const Value& v, Millis* out) {
  std::string text;
  if (!Text(v, &text)) return false;
  auto d = Duration(text);
  if (!d.ok()) return Fail(v, d.error().message);
  *out = *d;
  return true;
}

template <typename E>
bool JobReader::Choice(const Value& v,
                       std::initializer_list<std::pair<std::string_view, E>> choices,
                       std::string_view what, E* out) {
  const std::string s = v.node.IsScalar() ? v.node.Scalar() : "";
  for (const auto& [name, value] : choices) {
    if (s == name) {
      *out = value;
      return true;
    }
  }
  return Fail(v, what);
}

Result<Job> JobReader::Read(const YAML::Node& root) {
  Job job;
  const Value top{root, root.Mark(), ""};
  if (!root.IsMap()) {
    Fail(top, "a job file must be a map with name, targets and steps");
    return *error_;
  }
  std::vector<Entry> entries;
  if (!Entries(top,
               {{"name", "targets", "exclude", "waves", "max_failed", "pause", "verify", "prestage",
                 "concurrency", "unreachable", "unreachable_wait", "steps"}},
               &entries)) {
    return *error_;
  }
  auto read = [&](const Entry& e) -> bool {
    const Value& v = e.value;
    if (e.key == "name") {
      if (!Text(v, &job.name)) return false;
      if (!IsName(job.name)) return Fail(v, "must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
    } else if (e.key == "targets") {
      return Texts(v, &job.targets, false);
    } else if (e.key == "exclude") {
      return Texts(v, &job.exclude, true);
    } else if (e.key == "waves") {
      if (!Text(v, &job.waves)) return false;
      auto spec = ParseWaves(job.waves);
      if (!spec.ok()) {
        // ParseWaves names the expression, which the position already shows.
        std::string_view what = spec.error().message;
        const std::string prefix = "waves " + Quoted(job.waves) + ": ";
        if (what.starts_with(prefix)) what.remove_prefix(prefix.size());
        return Fail(v, what);
      }
    } else if (e.key == "max_failed") {
      std::string text;
      if (!Text(v, &text)) return false;
      auto budget = BudgetOf(text);
      if (!budget.ok()) return Fail(v, budget.error().message);
      job.max_failed = *budget;
    } else if (e.key == "pause") {
      std::string text;
      if (!Text(v, &text)) return false;
      if (text == "manual") {
        job.pause.kind = Pause::Kind::kManual;
        return true;
      }
      auto d = Duration(text);
      if (!d.ok()) {
        const bool numeric = text.front() == '-' || (text.front() >= '0' && text.front() <= '9');
        return Fail(v, numeric ? d.error().message : "must be manual or a duration like 5m");
      }
      job.pause = {Pause::Kind::kTimed, *d};
    } else if (e.key == "verify") {
      job.verify.emplace();
      return ReadVerify(v, &*job.verify);
    } else if (e.key == "prestage") {
      bool prestage = false;
      if (!Bool(v, &prestage)) return false;
      job.prestage = prestage;
    } else if (e.key == "concurrency") {
      auto n = Decimal<uint32_t>(v.node.IsScalar() ? v.node.Scalar() : "");
      if (!n || *n == 0) return Fail(v, "must be an integer >= 1");
      job.concurrency = *n;
    } else if (e.key == "unreachable") {
      return Choice(v, {{"fail", Unreachable::kFail}, {"skip", Unreachable::kSkip}},
                    "must be fail or skip", &job.unreachable);
    } else if (e.key == "unreachable_wait") {
      return DurationValue(v, &job.unreachable_wait);
    } else if (e.key == "steps") {
      return ReadSteps(v, &job.stages);
    }
    return true;
  };
  for (const Entry& e : entries) {
    if (!read(e)) return *error_;
  }
  for (std::string_view required : {"name", "targets", "steps"}) {
    if (std::none_of(entries.begin(), entries.end(),
                     [&](const Entry& e) { return e.key == required; })) {
      Fail(top.mark, required, "is required");
      return *error_;
    }
  }
  return job;
}

bool JobReader::ReadSteps(const Value& v, std::vector<Stage>* out) {
  if (v.node.IsNull()) return Fail(v, "must not be empty");
  if (!v.node.IsSequence()) return Fail(v, "must be a list of steps");
  if (v.node.size() == 0) return Fail(v, "must not be empty");
  for (size_t i = 0; i < v.node.size(); ++i) {
    out->emplace_back();
    if (!ReadStage(Element(v, v.node[i], i), false, &out->back())) return false;
  }
  return true;
}

bool JobReader::ReadStage(const Value& v, bool nested, Stage* out) {
  constexpr std::string_view kKinds = "one of file, command or parallel";
  if (!v.node.IsMap()) return Fail(v, "must be a map with " + std::string(kKinds));
  std::vector<Entry> entries;
  if (!Entries(v, {{"file", "command", "template", "parallel"}}, &entries)) return false;
  if (entries.empty()) return Fail(v, "must have " + std::string(kKinds));
  if (entries.size() > 1) {
    return Fail(entries[1].key_mark, entries[1].value.path,
                "a step has exactly " + std::string(kKinds));
  }
  const Entry& e = entries[0];
  if (e.key == "template") {
    return Fail(e.key_mark, e.value.path, "template steps are not supported yet");
  }
  if (e.key != "parallel") {
    out->steps.emplace_back();
    return ReadStep(e, v.mark, &out->steps.back());
  }
  if (nested) return Fail(e.key_mark, e.value.path, "parallel steps cannot be nested");
  const Value& list = e.value;
  if (list.node.IsNull()) return Fail(list, "must not be empty");
  if (!list.node.IsSequence()) return Fail(list, "must be a list of file and command steps");
  if (list.node.size() == 0) return Fail(list, "must not be empty");
  for (size_t i = 0; i < list.node.size(); ++i) {
    Stage inner;
    if (!ReadStage(Element(list, list.node[i], i), true, &inner)) return false;
    out->steps.push_back(std::move(inner.steps.front()));
  }
  return true;
}

bool JobReader::ReadStep(const Entry& kind, const YAML::Mark& pos, Step* out) {
  out->pos = {pos.line + 1, pos.column + 1};
  if (kind.key == "file") return ReadFile(kind.value, out);
  return ReadCommand(kind.value, out);
}

bool JobReader::ReadCommon(const Entry& e, Step* step, bool* handled) {
  *handled = true;
  if (e.key == "on") return Texts(e.value, &step->on, false);
  if (e.key == "on_failure") {
    return Choice(e.value, {{"stop", OnFailure::kStop}, {"continue", OnFailure::kContinue}},
                  "must be stop or continue", &step->on_failure);
  }
  if (e.key == "name") return Text(e.value, &step->name);
  *handled = false;
  return true;
}

bool JobReader::ReadFile(const Value& v, Step* out) {
  out->kind = Step::Kind::kFile;
  FileStep& f = out->file;
  std::vector<Entry> entries;
  if (!Entries(v, {{"artifact", "source", "dest", "mode", "owner", "on", "on_failure", "name"}},
               &entries)) {
    return false;
  }
  const Entry* origin = nullptr;  // the artifact or source entry
  bool has_dest = false;
  for (const Entry& e : entries) {
    bool handled;
    if (!ReadCommon(e, out, &handled)) return false;
    if (handled) continue;
    if (e.key == "artifact" || e.key == "source") {
      if (origin) {
        return Fail(e.key_mark, e.value.path, "cannot be combined with " + origin->key);
      }
      origin = &e;
      if (e.key == "source") {
        if (!Text(e.value, &f.source)) return false;
      } else {
        if (!Text(e.value, &f.artifact)) return false;
        if (!IsArtifact(f.artifact)) {
          return Fail(e.value, "must be sha256: followed by 64 lowercase hex digits");
        }
      }
    } else if (e.key == "dest") {
      has_dest = true;
      if (!AbsolutePath(e.value, &f.dest)) return false;
      if (HasDotDot(f.dest)) return Fail(e.value, "must not contain .. components");
      if (f.dest.back() == '/') return Fail(e.value, "must name a file, not end with /");
    } else if (e.key == "mode") {
      const std::string text = e.value.node.IsScalar() ? e.value.node.Scalar() : "";
      uint32_t mode = 0;
      bool ok = !text.empty();
      for (char c : text) {
        ok = ok && c >= '0' && c <= '7' && (mode = mode * 8 + (c - '0')) <= 07777;
      }
      if (!ok) return Fail(e.value, "must be an octal mode like \"0644\", at most 07777");
      f.mode = mode;
    } else if (e.key == "owner") {
      if (!Text(e.value, &f.owner)) return false;
    }
  }
  if (!origin) return Fail(v, "needs artifact or source");
  if (!has_dest) return Fail(v.mark, v.path + ".dest", "is required");
  if (out->name.empty()) out->name = "file " + f.dest;
  return true;
}

bool JobReader::ReadCommand(const Value& v, Step* out) {
  out->kind = Step::Kind::kCommand;
  CommandStep& c = out->command;
  std::vector<Entry> entries;
  if (!Entries(v,
               {{"run", "script", "interpreter", "args", "run_as", "cwd", "env", "timeout", "on",
                 "on_failure", "name"}},
               &entries)) {
    return false;
  }
  const Entry *run = nullptr, *script = nullptr, *interpreter = nullptr;
  for (const Entry& e : entries) {
    bool handled;
    if (!ReadCommon(e, out, &handled)) return false;
    if (handled) continue;
    const Value& value = e.value;
    if (e.key == "run") {
      run = &e;
      if (!Text(value, &c.run)) return false;
    } else if (e.key == "script") {
      script = &e;
      if (!AbsolutePath(value, &c.script)) return false;
    } else if (e.key == "interpreter") {
      interpreter = &e;
      if (!Interpreter(value, &c.interpreter)) return false;
    } else if (e.key == "args") {
      if (!value.node.IsSequence()) return Fail(value, "must be a list of strings");
      for (size_t i = 0; i < value.node.size(); ++i) {
        c.args.emplace_back();
        if (!Text(Element(value, value.node[i], i), &c.args.back(), true)) return false;
      }
    } else if (e.key == "run_as") {
      if (!Text(value, &c.run_as)) return false;
    } else if (e.key == "cwd") {
      if (!Text(value, &c.cwd)) return false;
    } else if (e.key == "env") {
      std::vector<Entry> vars;
      if (!Entries(value, std::nullopt, &vars)) return false;
      for (const Entry& var : vars) {
        if (!IsEnvName(var.key)) {
          return Fail(var.key_mark, var.value.path, "is not a valid environment variable name");
        }
        c.env.emplace_back(var.key, "");
        if (!Text(var.value, &c.env.back().second, true)) return false;
      }
    } else if (e.key == "timeout") {
      if (!DurationValue(value, &c.timeout)) return false;
    }
  }
  if (!CheckCommand(v, c, run, script, interpreter, "run")) return false;
  if (out->name.empty()) {
    out->name = "command " + (run ? FirstLine(c.run) : c.script);
  }
  return true;
}

bool JobReader::ReadVerify(const Value& v, CommandStep* out) {
  std::vector<Entry> entries;
  if (!Entries(v, {{"command", "script", "timeout", "interpreter", "run_as"}}, &entries)) {
    return false;
  }
  const Entry *run = nullptr, *script = nullptr, *interpreter = nullptr;
  for (const Entry& e : entries) {
    if (e.key == "command") {
      run = &e;
      if (!Text(e.value, &out->run)) return false;
    } else if (e.key == "script") {
      script = &e;
      if (!AbsolutePath(e.value, &out->script)) return false;
    } else if (e.key == "timeout") {
      if (!DurationValue(e.value, &out->timeout)) return false;
    } else if (e.key == "interpreter") {
      interpreter = &e;
      if (!Interpreter(e.value, &out->interpreter)) return false;
    } else if (e.key == "run_as") {
      if (!Text(e.value, &out->run_as)) return false;
    }
  }
  return CheckCommand(v, *out, run, script, interpreter, "command");
}

bool JobReader::CheckCommand(const Value& v, const CommandStep& c, const Entry* run,
                             const Entry* script, const Entry* interpreter,
                             std::string_view run_key) {
  if (run && script) {
    const Entry* later = run->key_mark.pos > script->key_mark.pos ? run : script;
    const std::string_view other = later == run ? "script" : run_key;
    return Fail(later->key_mark, later->value.path,
                "cannot be combined with " + std::string(other));
  }
  if (!run && !script) return Fail(v, "needs " + std::string(run_key) + " or script");
  if (c.interpreter == "exec" && !script) {
    return Fail(interpreter->value, "exec needs script, not " + std::string(run_key));
  }
  return true;
}

}  // namespace

Result<Job> ParseJob(std::string_view text, std::string_view file_name) {
  JobReader reader(file_name);
  try {
    const std::string yaml(text);
    // Count the documents first (stopping at 3), with a parser that builds nothing: yaml-cpp
    // 0.7's LoadAll never returns on a stray token such as "," (jbeder/yaml-cpp#1040, fixed
    // upstream by #1319): it emits a null document without consuming the token, forever. Such a
    // document starts where the previous one did; report it as the syntax error it is.
    std::istringstream in(yaml);
    YAML::Parser parser(in);
    DocumentStarts documents;
    while (documents.starts.size() < 3 && parser.HandleNextDocument(documents)) {
      const std::vector<YAML::Mark>& starts = documents.starts;
      if (starts.size() >= 2 && starts.back().pos == starts[starts.size() - 2].pos) {
        const size_t pos = starts.back().pos;
        const char c = pos < yaml.size() ? yaml[pos] : '\0';
        reader.Fail(starts.back(), "",
                    c > ' ' && c < 127 ? "unexpected \"" + std::string(1, c) + "\""
                                       : std::string("unexpected character"));
        return reader.error();
      }
    }
    if (documents.starts.size() > 1) {
      reader.Fail(documents.starts[1], "", "a job file holds one YAML document");
      return reader.error();
    }
    const YAML::Node root = documents.starts.empty() ? YAML::Node() : YAML::Load(yaml);
    if (root.IsNull()) {
      reader.Fail(root.Mark(), "", "the job file is empty");
      return reader.error();
    }
    return reader.Read(root);
  } catch (const YAML::Exception& e) {
    reader.Fail(e.mark, "", e.msg);
  } catch (const std::exception& e) {
    reader.Fail(YAML::Mark::null_mark(), "", e.what());
  }
  return reader.error();
}

Result<Job> LoadJobFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::of(path.string(), std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return Error::of(path.string(), std::string("cannot read: ") + std::strerror(errno));
  return ParseJob(text.str(), path.string());
}

Result<Millis> ParseDuration(std::string_view text) {
  auto d = Duration(text);
  if (!d.ok()) return Error{"duration " + Quoted(text) + ": " + d.error().message};
  return d;
}

Result<Budget> ParseBudget(std::string_view text) {
  auto b = BudgetOf(text);
  if (!b.ok()) return Error{"max_failed " + Quoted(text) + ": " + b.error().message};
  return b;
}

}  // namespace shoal::planner::jobs
