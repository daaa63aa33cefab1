// Waves: the expression grammar, wave sizes, and deterministic, datacenter-spread membership.
#include "planner/jobs/waves.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "planner/jobs/job.h"

namespace shoal::planner::jobs {
namespace {

using K = WaveTerm::Kind;

struct GrammarCase {
  std::string expression;
  std::vector<WaveTerm> terms;  // when `error` is empty
  std::string error;
};

class WavesGrammar : public testing::TestWithParam<GrammarCase> {};

TEST_P(WavesGrammar, Parses) {
  const GrammarCase& c = GetParam();
  auto spec = ParseWaves(c.expression);
  if (!c.error.empty()) {
    ASSERT_FALSE(spec.ok()) << c.expression;
    EXPECT_EQ(spec.error().message, c.error);
    return;
  }
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_EQ(spec->terms.size(), c.terms.size());
  for (size_t i = 0; i < c.terms.size(); ++i) {
    EXPECT_EQ(spec->terms[i].kind, c.terms[i].kind) << "term " << i;
    EXPECT_EQ(spec->terms[i].value, c.terms[i].value) << "term " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, WavesGrammar,
    testing::Values(
        GrammarCase{"1", {{K::kCount, 1}}, ""}, GrammarCase{"10%", {{K::kPercent, 10}}, ""},
        GrammarCase{"100%", {{K::kPercent, 100}}, ""},
        GrammarCase{"1 *2", {{K::kCount, 1}, {K::kTimes, 2}}, ""},
        GrammarCase{"1 +2", {{K::kCount, 1}, {K::kPlus, 2}}, ""},
        GrammarCase{"1 5 20% 100%",
                    {{K::kCount, 1}, {K::kCount, 5}, {K::kPercent, 20}, {K::kPercent, 100}},
                    ""},
        GrammarCase{"5% *3 +10 250",
                    {{K::kPercent, 5}, {K::kTimes, 3}, {K::kPlus, 10}, {K::kCount, 250}},
                    ""},
        GrammarCase{"  1\t 007  ", {{K::kCount, 1}, {K::kCount, 7}}, ""},
        GrammarCase{"4294967295", {{K::kCount, 4294967295u}}, ""},
        // Errors name the expression and the term.
        GrammarCase{"", {}, R"(waves "": no terms (e.g. "1 10% 100%"))"},
        GrammarCase{"  ", {}, R"(waves "  ": no terms (e.g. "1 10% 100%"))"},
        GrammarCase{"1 x", {}, R"(waves "1 x": "x" is not N, P%, *F or +N)"},
        GrammarCase{"-1", {}, R"(waves "-1": "-1" is not N, P%, *F or +N)"},
        GrammarCase{"1.5", {}, R"(waves "1.5": "1.5" is not N, P%, *F or +N)"},
        GrammarCase{"10 %", {}, R"(waves "10 %": "%" is not N, P%, *F or +N)"},
        GrammarCase{"1,5", {}, R"(waves "1,5": "1,5" is not N, P%, *F or +N)"},
        GrammarCase{"1 *", {}, R"(waves "1 *": "*" is not N, P%, *F or +N)"},
        GrammarCase{"1 +x", {}, R"(waves "1 +x": "+x" is not N, P%, *F or +N)"},
        GrammarCase{"1 *2%", {}, R"(waves "1 *2%": "*2%" is not N, P%, *F or +N)"},
        GrammarCase{"*2", {}, R"(waves "*2": "*2": the first term must be N or P%)"},
        GrammarCase{"+1 5", {}, R"(waves "+1 5": "+1": the first term must be N or P%)"},
        GrammarCase{"1 *1", {}, R"(waves "1 *1": "*1": the factor F of *F must be at least 2)"},
        GrammarCase{"1 *0", {}, R"(waves "1 *0": "*0": the factor F of *F must be at least 2)"},
        GrammarCase{"1 +0", {}, R"(waves "1 +0": "+0": N of +N must be at least 1)"},
        GrammarCase{"0", {}, R"(waves "0": "0": a wave holds at least 1 host)"},
        GrammarCase{"1 0%", {}, R"(waves "1 0%": "0%": P% must be 1% to 100%)"},
        GrammarCase{"101%", {}, R"(waves "101%": "101%": P% must be 1% to 100%)"},
        GrammarCase{
            "4294967296", {}, R"(waves "4294967296": "4294967296": the number is too large)"}));

struct SizesCase {
  std::string expression;
  uint64_t hosts;
  std::vector<uint64_t> sizes;
};

class WavesSizes : public testing::TestWithParam<SizesCase> {};

TEST_P(WavesSizes, Splits) {
  const SizesCase& c = GetParam();
  auto spec = ParseWaves(c.expression);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  auto sizes = WaveSizes(*spec, c.hosts);
  ASSERT_TRUE(sizes.ok()) << sizes.error().message;
  EXPECT_EQ(*sizes, c.sizes) << c.expression << " on " << c.hosts << " hosts";
}

INSTANTIATE_TEST_SUITE_P(
    Table, WavesSizes,
    testing::Values(
        // The header's example (Ansible's serial: [1, 5, "20%"]).
        SizesCase{"1 5 20%", 100, {1, 5, 20, 20, 20, 20, 14}},
        // Percentages round up and are never empty.
        SizesCase{"10%", 15, {2, 2, 2, 2, 2, 2, 2, 1}}, SizesCase{"33%", 10, {4, 4, 2}},
        SizesCase{"1%", 3, {1, 1, 1}}, SizesCase{"100%", 7, {7}},
        SizesCase{"1 10% 100%", 50, {1, 5, 44}}, SizesCase{"3 50%", 10, {3, 5, 2}},
        // A count repeats its size; a wave never holds more than the hosts left.
        SizesCase{"2 1", 5, {2, 1, 1, 1}}, SizesCase{"5", 3, {3}}, SizesCase{"1 10 100", 5, {1, 4}},
        SizesCase{"1 *2 5", 20, {1, 2, 5, 5, 5, 2}},
        // *F and +N keep progressing.
        SizesCase{"1 *2", 20, {1, 2, 4, 8, 5}}, SizesCase{"2 *3", 100, {2, 6, 18, 54, 20}},
        SizesCase{"1 +2", 20, {1, 3, 5, 7, 4}}, SizesCase{"1 +1", 10, {1, 2, 3, 4}},
        SizesCase{"50% *2", 10, {5, 5}}, SizesCase{"1 *2 +3", 30, {1, 2, 5, 8, 11, 3}},
        // One host.
        SizesCase{"1", 1, {1}}, SizesCase{"1 10% 100%", 1, {1}}, SizesCase{"10%", 1, {1}},
        SizesCase{"1 *2", 1, {1}}));

TEST(WavesSizes, ZeroHostsIsAnError) {
  auto sizes = WaveSizes(*ParseWaves("100%"), 0);
  ASSERT_FALSE(sizes.ok());
  EXPECT_EQ(sizes.error().message, "no hosts to split into waves");
}

TEST(WavesSizes, TenThousandHostsSumCorrectly) {
  for (const char* expression : {"1 5 20%", "1 *2", "1 +7", "1", "3%", "1 10% 100%", "2 *3 +5"}) {
    auto sizes = WaveSizes(*ParseWaves(expression), 10'000);
    ASSERT_TRUE(sizes.ok()) << expression;
    EXPECT_EQ(std::accumulate(sizes->begin(), sizes->end(), uint64_t{0}), 10'000u) << expression;
    EXPECT_TRUE(std::all_of(sizes->begin(), sizes->end(), [](uint64_t s) { return s >= 1; }));
  }
  auto sizes = WaveSizes(*ParseWaves("1 5 20%"), 10'000);
  EXPECT_EQ(sizes->size(), 7u);  // 1, 5, 2000 x 4, 1994
  EXPECT_EQ(sizes->back(), 1994u);
  EXPECT_EQ(WaveSizes(*ParseWaves("1"), 10'000)->size(), 10'000u);
}

TEST(WavesSizes, HugeFleetsTerminate) {
  const uint64_t hosts = UINT64_MAX;
  auto doubling = WaveSizes(*ParseWaves("1 *2"), hosts);
  ASSERT_TRUE(doubling.ok());
  EXPECT_EQ(doubling->size(), 64u);  // 1 + 2 + ... + 2^63 = 2^64 - 1
  EXPECT_EQ(WaveSizes(*ParseWaves("50% *1000"), hosts)->size(), 2u);  // no overflow
  // Plans of more than a million waves are refused rather than built.
  auto one_by_one = WaveSizes(*ParseWaves("1"), 2'000'000);
  ASSERT_FALSE(one_by_one.ok());
  EXPECT_EQ(one_by_one.error().message, "waves: more than 1000000 waves");
  EXPECT_FALSE(WaveSizes(*ParseWaves("1 +1"), hosts).ok());
}

TEST(WavesSizes, HandBuiltSpecsAreChecked) {
  EXPECT_EQ(WaveSizes(WaveSpec{}, 5).error().message, "waves: no terms");
  EXPECT_EQ(WaveSizes(WaveSpec{{{K::kCount, 0}}}, 5).error().message,
            R"(waves: "0": a wave holds at least 1 host)");
  EXPECT_EQ(WaveSizes(WaveSpec{{{K::kTimes, 2}}}, 5).error().message,
            R"(waves: "*2": the first term must be N or P%)");
  EXPECT_EQ(WaveSizes(WaveSpec{{{K::kCount, 1}, {K::kPlus, 0}}}, 5).error().message,
            R"(waves: "+0": N of +N must be at least 1)");
}

std::vector<HostRef> Fleet(int dcs, int per_dc) {
  std::vector<HostRef> hosts;
  for (int d = 0; d < dcs; ++d) {
    for (int h = 0; h < per_dc; ++h) {
      hosts.push_back(
          {"web-" + std::to_string(d) + "-" + std::to_string(h), "dc" + std::to_string(d)});
    }
  }
  return hosts;
}

std::map<std::string, std::string> DcOf(const std::vector<HostRef>& hosts) {
  std::map<std::string, std::string> dc;
  for (const HostRef& h : hosts) dc[h.name] = h.datacenter;
  return dc;
}

uint64_t Hash(std::string_view job, std::string_view name) {
  std::string key(job);
  key.push_back('\0');
  key.append(name);
  return XXH3_64bits(key.data(), key.size());
}

TEST(RolloutOrder, DeterministicAndIndependentOfInputOrder) {
  std::vector<HostRef> hosts = Fleet(4, 50);
  hosts.push_back({"odd-one", "dc9"});
  const std::vector<std::string> first = RolloutOrder("release-42", hosts);
  EXPECT_EQ(RolloutOrder("release-42", hosts), first);
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(hosts.begin(), hosts.end(), rng);
    EXPECT_EQ(RolloutOrder("release-42", hosts), first);
  }
  // Every host exactly once.
  std::set<std::string> unique(first.begin(), first.end());
  EXPECT_EQ(first.size(), hosts.size());
  EXPECT_EQ(unique.size(), hosts.size());
  // Another job orders the same fleet differently.
  EXPECT_NE(RolloutOrder("release-43", hosts), first);
}

TEST(RolloutOrder, FollowsTheDocumentedHash) {
  // One datacenter: hosts by XXH3(job '\0' host).
  std::vector<HostRef> hosts = Fleet(1, 30);
  std::vector<std::string> expected;
  for (const HostRef& h : hosts) expected.push_back(h.name);
  std::sort(expected.begin(), expected.end(), [](const std::string& a, const std::string& b) {
    return Hash("job-a", a) < Hash("job-a", b);
  });
  EXPECT_EQ(RolloutOrder("job-a", hosts), expected);

  // One host per datacenter: datacenters by XXH3(job '\0' dc).
  hosts = {{"h1", "east"}, {"h2", "west"}, {"h3", "north"}, {"h4", "south"}};
  std::vector<HostRef> by_dc = hosts;
  std::sort(by_dc.begin(), by_dc.end(), [](const HostRef& a, const HostRef& b) {
    return Hash("job-a", a.datacenter) < Hash("job-a", b.datacenter);
  });
  expected.clear();
  for (const HostRef& h : by_dc) expected.push_back(h.name);
  EXPECT_EQ(RolloutOrder("job-a", hosts), expected);
}

TEST(RolloutOrder, DatacentersTakeTurns) {
  const std::vector<HostRef> hosts = Fleet(3, 10);
  const auto dc = DcOf(hosts);
  const std::vector<std::string> order = RolloutOrder("release-42", hosts);
  // Each round of three takes one host from each datacenter, in the same rotation.
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(dc.at(order[i]), dc.at(order[i % 3])) << i;
  }
  std::set<std::string> first_round{dc.at(order[0]), dc.at(order[1]), dc.at(order[2])};
  EXPECT_EQ(first_round.size(), 3u);

  // The first wave of 3 over 3 datacenters takes one from each.
  auto waves = PlanWaves(*ParseWaves("3 100%"), "release-42", hosts);
  ASSERT_TRUE(waves.ok());
  ASSERT_EQ(waves->size(), 2u);
  std::set<std::string> wave_dcs;
  for (const std::string& h : (*waves)[0]) wave_dcs.insert(dc.at(h));
  EXPECT_EQ(wave_dcs.size(), 3u);
  EXPECT_EQ((*waves)[1].size(), 27u);
}

TEST(RolloutOrder, AnExhaustedDatacenterLeavesTheRotation) {
  std::vector<HostRef> hosts = {{"a1", "small"}, {"b1", "big"}, {"b2", "big"},
                                {"b3", "big"},   {"c1", "mid"}, {"c2", "mid"}};
  const auto dc = DcOf(hosts);
  const std::vector<std::string> order = RolloutOrder("job", hosts);
  ASSERT_EQ(order.size(), 6u);
  std::set<std::string> round1{dc.at(order[0]), dc.at(order[1]), dc.at(order[2])};
  std::set<std::string> round2{dc.at(order[3]), dc.at(order[4])};
  EXPECT_EQ(round1, (std::set<std::string>{"small", "big", "mid"}));
  EXPECT_EQ(round2, (std::set<std::string>{"big", "mid"}));
  EXPECT_EQ(dc.at(order[5]), "big");
}

TEST(RolloutOrder, CanaryDependsOnTheJobName) {
  const std::vector<HostRef> hosts = Fleet(3, 10);
  std::set<std::string> canaries, canary_dcs;
  const auto dc = DcOf(hosts);
  for (int i = 0; i < 20; ++i) {
    auto waves = PlanWaves(*ParseWaves("1 100%"), "job-" + std::to_string(i), hosts);
    ASSERT_TRUE(waves.ok());
    ASSERT_EQ((*waves)[0].size(), 1u);
    canaries.insert((*waves)[0][0]);
    canary_dcs.insert(dc.at((*waves)[0][0]));
  }
  EXPECT_GT(canaries.size(), 5u);
  EXPECT_EQ(canary_dcs.size(), 3u);  // the canary is not always from the same datacenter
}

TEST(PlanWaves, CutsTheOrderIntoWaves) {
  const std::vector<HostRef> hosts = Fleet(2, 50);
  auto waves = PlanWaves(*ParseWaves("1 5 20%"), "job", hosts);
  ASSERT_TRUE(waves.ok());
  std::vector<size_t> sizes;
  std::vector<std::string> flat;
  for (const auto& wave : *waves) {
    sizes.push_back(wave.size());
    flat.insert(flat.end(), wave.begin(), wave.end());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{1, 5, 20, 20, 20, 20, 14}));
  EXPECT_EQ(flat, RolloutOrder("job", hosts));

  auto none = PlanWaves(*ParseWaves("1"), "job", {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, "no hosts to split into waves");
}

TEST(Budget, ExceededMeansMoreThanNotEqual) {
  struct Case {
    Budget budget;
    uint64_t failed, hosts;
    bool exceeded;
  };
  const Budget none{Budget::Kind::kCount, 0}, one{Budget::Kind::kCount, 1};
  const Budget five_pct{Budget::Kind::kPercent, 5}, ten_pct{Budget::Kind::kPercent, 10};
  const Budget all{Budget::Kind::kPercent, 100}, zero_pct{Budget::Kind::kPercent, 0};
  for (const Case& c :
       std::vector<Case>{{none, 0, 10, false},
                         {none, 1, 10, true},
                         {one, 1, 10, false},
                         {one, 2, 10, true},
                         {ten_pct, 2, 20, false},
                         {ten_pct, 3, 20, true},
                         {ten_pct, 1, 10, false},
                         {ten_pct, 2, 10, true},
                         {five_pct, 0, 10, false},
                         {five_pct, 1, 10, true},  // 5% of 10 is 0.5: one failure is over it
                         {five_pct, 5, 100, false},
                         {five_pct, 6, 100, true},
                         {all, 10, 10, false},
                         {zero_pct, 0, 5, false},
                         {zero_pct, 1, 5, true}}) {
    EXPECT_EQ(c.budget.Exceeded(c.failed, c.hosts), c.exceeded)
        << c.budget.str() << ": " << c.failed << " of " << c.hosts;
  }
  EXPECT_EQ(ten_pct.str(), "10%");
  EXPECT_EQ(one.str(), "1");
}

}  // namespace
}  // namespace shoal::planner::jobs
