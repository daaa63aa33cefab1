#include "planner/jobs/waves.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

namespace shoal::planner::jobs {
namespace {

// A plan with more waves than this is refused: it would be a mistake (one host at a time over a
// huge fleet), and it bounds the work and memory of WaveSizes whatever `hosts` is.
constexpr size_t kMaxWaves = 1'000'000;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string Format(const WaveTerm& term) {
  const std::string n = std::to_string(term.value);
  switch (term.kind) {
    case WaveTerm::Kind::kCount:
      return n;
    case WaveTerm::Kind::kPercent:
      return n + "%";
    case WaveTerm::Kind::kTimes:
      return "*" + n;
    case WaveTerm::Kind::kPlus:
      return "+" + n;
  }
  return n;
}

// What is wrong with `term` (written `text`) as the term at `index`, if anything.
std::optional<std::string> TermError(const WaveTerm& term, size_t index, std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  switch (term.kind) {
    case WaveTerm::Kind::kCount:
      if (term.value < 1) return quoted + ": a wave holds at least 1 host";
      return std::nullopt;
    case WaveTerm::Kind::kPercent:
      if (term.value < 1 || term.value > 100) return quoted + ": P% must be 1% to 100%";
      return std::nullopt;
    case WaveTerm::Kind::kTimes:
      if (index == 0) return quoted + ": the first term must be N or P%";
      if (term.value < 2) return quoted + ": the factor F of *F must be at least 2";
      return std::nullopt;
    case WaveTerm::Kind::kPlus:
      if (index == 0) return quoted + ": the first term must be N or P%";
      if (term.value < 1) return quoted + ": N of +N must be at least 1";
      return std::nullopt;
  }
  return quoted + ": unknown term";
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  uint64_t r;
  return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

// ceil(percent * hosts / 100), at least 1; exact for any `hosts` (no overflow).
uint64_t PercentOf(uint32_t percent, uint64_t hosts) {
  const unsigned __int128 scaled = static_cast<unsigned __int128>(hosts) * percent;
  return std::max<uint64_t>(1, static_cast<uint64_t>((scaled + 99) / 100));
}

}  // namespace

Result<WaveSpec> ParseWaves(std::string_view expression) {
  auto fail = [&](std::string what) {
    return Error{"waves \"" + std::string(expression) + "\": " + std::move(what)};
  };
  WaveSpec spec;
  size_t i = 0;
  while (true) {
    while (i < expression.size() && IsSpace(expression[i])) ++i;
    if (i == expression.size()) break;
    const size_t start = i;
    while (i < expression.size() && !IsSpace(expression[i])) ++i;
    const std::string_view token = expression.substr(start, i - start);

    WaveTerm term;
    std::string_view digits = token;
    if (token.front() == '*') {
      term.kind = WaveTerm::Kind::kTimes;
      digits.remove_prefix(1);
    } else if (token.front() == '+') {
      term.kind = WaveTerm::Kind::kPlus;
      digits.remove_prefix(1);
    } else if (token.back() == '%') {
      term.kind = WaveTerm::Kind::kPercent;
      digits.remove_suffix(1);
    }
    const bool all_digits =
        !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!all_digits) return fail("\"" + std::string(token) + "\" is not N, P%, *F or +N");
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), term.value);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return fail("\"" + std::string(token) + "\": the number is too large");
    }
    if (auto error = TermError(term, spec.terms.size(), token)) return fail(std::move(*error));
    spec.terms.push_back(term);
  }
  if (spec.terms.empty()) return fail("no terms (e.g. \"1 10% 100%\")");
  return spec;
}

Result<std::vector<uint64_t>> WaveSizes(const WaveSpec& spec, uint64_t hosts) {
  if (hosts == 0) return Error{"no hosts to split into waves"};
  if (spec.terms.empty()) return Error{"waves: no terms"};
  // A WaveSpec may be built by hand: hold it to ParseWaves' rules, which make every wave >= 1.
  for (size_t i = 0; i < spec.terms.size(); ++i) {
    if (auto error = TermError(spec.terms[i], i, Format(spec.terms[i]))) {
      return Error{"waves: " + *error};
    }
  }

  std::vector<uint64_t> sizes;
  uint64_t left = hosts;
  uint64_t previous = 0;
  // The nominal size of a wave of `term`, capped at the hosts left (so *F cannot overflow).
  auto size_of = [&](const WaveTerm& term) -> uint64_t {
    uint64_t size = 0;
    switch (term.kind) {
      case WaveTerm::Kind::kCount:
        size = term.value;
        break;
      case WaveTerm::Kind::kPercent:
        size = PercentOf(term.value, hosts);
        break;
      case WaveTerm::Kind::kTimes:
        size = SaturatingMul(previous, term.value);
        break;
      case WaveTerm::Kind::kPlus:
        size = SaturatingAdd(previous, term.value);
        break;
    }
    return std::min(size, left);
  };
  auto add = [&](uint64_t size) {
    sizes.push_back(size);
    left -= size;
    previous = size;
  };
  const auto too_many = [] {
    return Error{"waves: more than " + std::to_string(kMaxWaves) + " waves"};
  };

  for (const WaveTerm& term : spec.terms) {
    if (left == 0) return sizes;
    add(size_of(term));
  }
  // The last term repeats. A count or percentage repeats its size: fill in one step.
  const WaveTerm& last = spec.terms.back();
  if (last.kind == WaveTerm::Kind::kCount || last.kind == WaveTerm::Kind::kPercent) {
    if (left == 0) return sizes;
    const uint64_t size =
        last.kind == WaveTerm::Kind::kCount ? last.value : PercentOf(last.value, hosts);
    const uint64_t full = left / size, rest = left % size;
    if (full + (rest > 0) > kMaxWaves - sizes.size()) return too_many();
    sizes.insert(sizes.end(), full, size);
    if (rest > 0) sizes.push_back(rest);
    return sizes;
  }
  // *F and +N keep growing: at most log2(hosts) or sqrt(2 * hosts) more waves.
  while (left > 0) {
    if (sizes.size() == kMaxWaves) return too_many();
    add(size_of(last));
  }
  return sizes;
}

std::vector<std::string> RolloutOrder(std::string_view job_name,
                                      const std::vector<HostRef>& hosts) {
  // The hashed key is job name + '\0' + host (or datacenter) name.
  std::string key(job_name);
  key.push_back('\0');
  const size_t prefix = key.size();
  auto hash = [&](std::string_view name) {
    key.resize(prefix);
    key.append(name);
    return XXH3_64bits(key.data(), key.size());
  };

  // Views into `hosts`' strings (a map key views the first host's copy of the name).
  struct Ranked {
    uint64_t hash;
    std::string_view name;
    bool operator<(const Ranked& o) const { return hash != o.hash ? hash < o.hash : name < o.name; }
  };
  std::map<std::string_view, std::vector<Ranked>> by_dc;
  for (const HostRef& host : hosts) by_dc[host.datacenter].push_back({hash(host.name), host.name});

  struct Datacenter {
    Ranked rank;
    const std::vector<Ranked>* hosts;
    size_t next = 0;
  };
  std::vector<Datacenter> dcs;
  dcs.reserve(by_dc.size());
  for (auto& [name, members] : by_dc) {
    std::sort(members.begin(), members.end());
    dcs.push_back({{hash(name), name}, &members});
  }
  std::sort(dcs.begin(), dcs.end(),
            [](const Datacenter& a, const Datacenter& b) { return a.rank < b.rank; });

  // Round-robin, one host per datacenter in turn; an exhausted datacenter leaves the rotation.
  std::vector<std::string> order;
  order.reserve(hosts.size());
  while (!dcs.empty()) {
    for (Datacenter& dc : dcs) order.emplace_back((*dc.hosts)[dc.next++].name);
    std::erase_if(dcs, [](const Datacenter& dc) { return dc.next == dc.hosts->size(); });
  }
  return order;
}

Result<std::vector<std::vector<std::string>>> PlanWaves(const WaveSpec& spec,
                                                        std::string_view job_name,
                                                        const std::vector<HostRef>& hosts) {
  auto sizes = WaveSizes(spec, hosts.size());
  if (!sizes.ok()) return sizes.error();
  std::vector<std::string> order = RolloutOrder(job_name, hosts);
  std::vector<std::vector<std::string>> waves;
  waves.reserve(sizes->size());
  auto next = order.begin();
  for (uint64_t size : *sizes) {
    waves.emplace_back(std::make_move_iterator(next), std::make_move_iterator(next + size));
    next += size;
  }
  return waves;
}

}  // namespace shoal::planner::jobs
