#include "node/agent/policy.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/paths.h"
#include "core/units.h"

namespace shoal::node {
namespace fs = std::filesystem;

namespace {

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Drops a trailing comment: '#' or ';' at the start or after whitespace.
std::string_view StripComment(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] == '#' || s[i] == ';') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

bool ValidSectionName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == '/';
  });
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Whether `path` equals `root` or lies below it, comparing whole components.
bool IsWithin(const fs::path& path, const fs::path& root) {
  auto [root_end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

Error Refusal(std::string message) { return Error{"policy: " + std::move(message)}; }

Result<std::string> CurrentAccountName() {
  std::vector<char> buf(16384);
  passwd pw{}, *found = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    return Error{"policy: the daemon's uid " + std::to_string(::geteuid()) +
                 " has no account name"};
  }
  return std::string(pw.pw_name);
}

}  // namespace

Result<std::vector<ConfSection>> ParseConf(std::string_view text, std::string_view origin) {
  std::vector<ConfSection> sections(1);
  int line_no = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    ++line_no;
    auto where = [&] { return std::string(origin) + ":" + std::to_string(line_no); };
    if (raw.find('\0') != std::string_view::npos) return Error::of(where(), "NUL byte in line");
    std::string_view line = Trim(StripComment(raw));
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') return Error::of(where(), "section header lacks ']'");
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      if (!ValidSectionName(name)) {
        return Error::of(where(), "invalid section name '" + std::string(name) + "'");
      }
      sections.push_back(ConfSection{std::string(name), line_no, {}});
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return Error::of(where(), "expected 'key = value'");
    std::string_view key = Trim(line.substr(0, eq));
    if (key.empty()) return Error::of(where(), "empty key");
    sections.back().entries.push_back(
        ConfEntry{std::string(key), std::string(Trim(line.substr(eq + 1))), line_no});
  }
  if (sections.front().entries.empty()) sections.erase(sections.begin());
  return sections;
}

std::vector<std::string> SplitList(std::string_view value) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < value.size()) {
    size_t j = value.find_first_of(", \t", i);
    if (j == std::string_view::npos) j = value.size();
    if (j > i) out.emplace_back(value.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

Result<Policy> Policy::FromConfig(PolicyConfig config) {
  for (const auto* list : {&config.allow_interpreters, &config.deny_interpreters}) {
    for (const auto& name : *list) {
      if (auto i = ParseInterpreter(name); !i) return Refusal(i.error().message);
    }
  }
  for (auto* list : {&config.allow_paths, &config.deny_paths}) {
    for (auto& root : *list) {
      if (!root.is_absolute()) return Error{"policy: path root must be absolute: " + root.string()};
      std::error_code ec;
      fs::path canonical = fs::canonical(root, ec);
      root = ec ? root.lexically_normal() : canonical;
      // "/srv/" and "/srv" must compare alike.
      if (root.has_filename() == false && root != root.root_path()) root = root.parent_path();
    }
  }
  return Policy(std::move(config));
}

Status ParseLimit(const std::string& key, const std::string& value, ResourceLimits& limits) {
  // memory_max = 512M (K, M, G, T: powers of 1024), cpu_max = 1.5 (CPUs), pids_max = 200.
  const std::string where = key + " = " + value;
  if (value.empty()) return Error::of(where, "empty");
  if (key == "cpu_max") {
    char* end = nullptr;
    double cpus = std::strtod(value.c_str(), &end);
    if (*end != '\0' || !(cpus > 0) || cpus > 4096)
      return Error::of(where, "want a number of CPUs > 0");
    limits.cpus = cpus;
    return Status::Ok();
  }
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || n == 0) return Error::of(where, "want a positive integer");
  std::string_view suffix(ptr, value.data() + value.size() - ptr);
  if (key == "pids_max") {
    if (!suffix.empty()) return Error::of(where, "want a positive integer");
    limits.pids_max = n;
    return Status::Ok();
  }
  int shift = ByteSuffixShift(suffix);
  if (shift < 0) return Error::of(where, "want bytes with an optional K, M, G or T suffix");
  if (n > (UINT64_MAX >> shift)) return Error::of(where, "too large");
  limits.memory_max = n << shift;
  return Status::Ok();
}

Result<Policy> Policy::Parse(std::string_view text, std::string_view origin) {
  auto sections = ParseConf(text, origin);
  if (!sections) return sections.error();
  PolicyConfig config;
  for (const auto& section : *sections) {
    if (section.name != "exec") continue;
    for (const auto& e : section.entries) {
      auto items = SplitList(e.value);
      auto add = [&](std::vector<std::string>& to) {
        to.insert(to.end(), items.begin(), items.end());
      };
      auto add_paths = [&](std::vector<fs::path>& to) {
        to.insert(to.end(), items.begin(), items.end());
      };
      if (e.key == "allow_interpreters")
        add(config.allow_interpreters);
      else if (e.key == "deny_interpreters")
        add(config.deny_interpreters);
      else if (e.key == "allow_accounts")
        add(config.allow_accounts);
      else if (e.key == "deny_accounts")
        add(config.deny_accounts);
      else if (e.key == "allow_paths")
        add_paths(config.allow_paths);
      else if (e.key == "deny_paths")
        add_paths(config.deny_paths);
      else if (e.key == "cgroup_root")
        config.cgroup_root = e.value;
      else if (e.key == "memory_max" || e.key == "cpu_max" || e.key == "pids_max") {
        auto s = ParseLimit(e.key, e.value, config.limits);
        if (!s) {
          return Error::of(std::string(origin) + ":" + std::to_string(e.line), s.error().message);
        }
      } else {
        return Error::of(std::string(origin) + ":" + std::to_string(e.line),
                         "unknown key '" + e.key + "' in [exec]");
      }
    }
  }
  return FromConfig(std::move(config));
}

Result<Policy> Policy::Load(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::of(path.string(), "cannot read policy file");
  std::stringstream buf;
  buf << in.rdbuf();
  return Parse(buf.str(), path.string());
}

Status Policy::CheckInterpreter(Interpreter interpreter) const {
  std::string name(InterpreterName(interpreter));
  if (Contains(config_.deny_interpreters, name)) {
    return Refusal("interpreter '" + name + "' refused by deny_interpreters");
  }
  if (!Contains(config_.allow_interpreters, name)) {
    return Refusal("interpreter '" + name + "' is not in allow_interpreters");
  }
  return Status::Ok();
}

Status Policy::CheckAccount(std::string_view account) const {
  std::string name(account);
  if (Contains(config_.deny_accounts, name)) {
    return Refusal("account '" + name + "' refused by deny_accounts");
  }
  if (!Contains(config_.allow_accounts, name) && !Contains(config_.allow_accounts, "*")) {
    return Refusal("account '" + name + "' is not in allow_accounts");
  }
  return Status::Ok();
}

Result<fs::path> Policy::CheckPath(const fs::path& path, std::string_view what) const {
  const std::string subject = std::string(what) + " " + path.string();
  if (!path.is_absolute()) return Refusal(subject + " is not absolute");
  // ConfinePath resolves symlinks in the existing part, so neither list can be bypassed by a
  // link; deny is checked on the same resolved path.
  auto confined = ConfinePath(path, config_.allow_paths);
  if (!confined) {
    return Refusal(subject + " is not under any allow_paths root (" + confined.error().message +
                   ")");
  }
  for (const auto& root : config_.deny_paths) {
    if (IsWithin(*confined, root)) {
      return Refusal(subject + " refused by deny_paths root " + root.string());
    }
  }
  return confined;
}

Result<TaskSpec> Policy::Admit(TaskSpec spec) const {
  if (auto s = CheckInterpreter(spec.interpreter); !s) return s.error();
  if (spec.run_as.empty()) {
    auto me = CurrentAccountName();
    if (!me) return me.error();
    spec.run_as = *me;
  }
  if (auto s = CheckAccount(spec.run_as); !s) return s.error();
  if (!spec.working_dir.empty()) {
    auto p = CheckPath(spec.working_dir, "working_dir");
    if (!p) return p.error();
    spec.working_dir = *p;
  }
  if (spec.script_path) {
    auto p = CheckPath(*spec.script_path, "script_path");
    if (!p) return p.error();
    spec.script_path = *p;
  }
  return spec;
}

}  // namespace shoal::node
