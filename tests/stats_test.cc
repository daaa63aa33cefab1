// Built-in stats from the real /proc, the /proc parsers on fixed text, the Nagios output and
// range parsers (including malformed lines and the fuzz corpus), threshold alerts, and the
// scheduler running real plugin scripts.
#include "node/agent/stats.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cmath>
#include <fstream>

#include "node/agent/nagios.h"
#include "node/agent/stats_scheduler.h"
#include "tests/support/process.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace shoal::node {
namespace {
namespace fs = std::filesystem;
using shoal::testing::TempDir;

// ---- built-ins ------------------------------------------------------------------------------

TEST(HostStatsTest, RealProcGivesSaneValues) {
  auto s = CollectHostStats();
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_GT(s->memory.total_bytes, 64u << 20);
  EXPECT_LE(s->memory.available_bytes, s->memory.total_bytes);
  EXPECT_LE(s->memory.swap_free_bytes, s->memory.swap_total_bytes);
  EXPECT_GE(s->load.one, 0);
  EXPECT_GT(s->uptime_seconds, 0u);
  EXPECT_GT(s->boot_time_unix_s, 1'000'000'000);
  EXPECT_EQ(s->boot_id.size(), 36u) << s->boot_id;
  auto root = std::find_if(s->mounts.begin(), s->mounts.end(),
                           [](const MountUsage& m) { return m.mount_point == "/"; });
  ASSERT_NE(root, s->mounts.end());
  EXPECT_GT(root->total_bytes, 0u);
  EXPECT_LE(root->available_bytes, root->total_bytes);
  for (const auto& m : s->mounts) EXPECT_FALSE(IsPseudoFilesystem(m.fs_type)) << m.mount_point;
  auto metrics = ToMetrics(*s);
  auto find = [&](const std::string& name) {
    return std::find_if(metrics.begin(), metrics.end(),
                        [&](const Metric& m) { return m.name == name; });
  };
  ASSERT_NE(find("mem_total_bytes"), metrics.end());
  EXPECT_EQ(find("mem_total_bytes")->value, static_cast<double>(s->memory.total_bytes));
  EXPECT_NE(find("disk_free_pct:/"), metrics.end());
  EXPECT_NE(find("load15"), metrics.end());
}

TEST(HostStatsTest, ParsersHandleFixedAndBrokenInput) {
  auto load = ParseLoadAvg("0.52 1.10 2.00 3/456 7890\n");
  ASSERT_TRUE(load.ok());
  EXPECT_DOUBLE_EQ(load->five, 1.10);
  EXPECT_FALSE(ParseLoadAvg("0.5 x 1").ok());
  EXPECT_FALSE(ParseLoadAvg("").ok());

  auto mem = ParseMeminfo(
      "MemTotal:       16000 kB\nMemFree:  100 kB\nMemAvailable:    8000 kB\n"
      "SwapTotal: 2048 kB\nSwapFree: 1024 kB\n");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->total_bytes, 16000u * 1024);
  EXPECT_EQ(mem->available_bytes, 8000u * 1024);
  EXPECT_EQ(mem->swap_free_bytes, 1024u * 1024);
  auto old_kernel =
      ParseMeminfo("MemTotal: 100 kB\nMemFree: 10 kB\nBuffers: 5 kB\nCached: 20 kB\n");
  EXPECT_EQ(old_kernel->available_bytes, 35u * 1024);
  EXPECT_FALSE(ParseMeminfo("garbage").ok());

  EXPECT_DOUBLE_EQ(*ParseUptime("12345.67 999.00\n"), 12345.67);
  EXPECT_FALSE(ParseUptime("-1 0").ok());
  EXPECT_EQ(*ParseBootTime("cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"), 1700000000);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n").ok());

  auto mounts = ParseMounts(
      "proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/my\\040disk xfs rw 0 0\n"
      "tmpfs /run tmpfs rw 0 0\nshort line\n/dev/sdc1 / ext4 rw 0 0\n");
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0].mount_point, "/mnt/my disk");
  EXPECT_EQ(mounts[1].mount_point, "/");
  EXPECT_EQ(mounts[1].device, "/dev/sdc1") << "the later mount over / wins";
}

TEST(HostStatsTest, AFakeProcRootShowsARebootAsUptimeDownAndNewBootId) {
  TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << text;
  };
  write("loadavg", "1 2 3 1/1 1\n");
  write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 500 kB\n");
  write("uptime", "86400.5 1.0\n");
  write("stat", "btime 1700000000\n");
  write("sys/kernel/random/boot_id", "aaaa\n");
  auto before = CollectHostStats(dir.path());
  ASSERT_TRUE(before.ok()) << before.error().message;
  write("uptime", "30.0 1.0\n");
  write("stat", "btime 1700086500\n");
  write("sys/kernel/random/boot_id", "bbbb\n");
  auto after = CollectHostStats(dir.path());
  ASSERT_TRUE(after.ok());
  EXPECT_LT(after->uptime_seconds, before->uptime_seconds);
  EXPECT_NE(after->boot_time_unix_s, before->boot_time_unix_s);
  EXPECT_EQ(before->boot_id, "aaaa");
  EXPECT_EQ(after->boot_id, "bbbb");
  fs::remove(dir / "meminfo");
  EXPECT_FALSE(CollectHostStats(dir.path()).ok());
}

// ---- Nagios output --------------------------------------------------------------------------

TEST(NagiosTest, ParsesStatusTextAndPerfData) {
  auto p = ParsePluginLine(
      "DISK WARNING - free space: / 3326 MB (8%) | /=30000MB;28000;30000;0;32000 "
      "inodes=12%;;;0;100",
      1);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->state, ServiceState::kWarning);
  EXPECT_EQ(p->state_source, StateSource::kText);
  EXPECT_EQ(p->text, "free space: / 3326 MB (8%)");
  ASSERT_EQ(p->perf.size(), 2u);
  EXPECT_EQ(p->perf[0].label, "/");
  EXPECT_EQ(p->perf[0].value, 30000);
  EXPECT_EQ(p->perf[0].uom, "MB");
  EXPECT_EQ(p->perf[0].warn, "28000");
  EXPECT_EQ(p->perf[0].crit, "30000");
  EXPECT_EQ(p->perf[0].min, 0);
  EXPECT_EQ(p->perf[0].max, 32000);
  EXPECT_EQ(p->perf[1].uom, "%");
  EXPECT_FALSE(p->perf[1].max == std::nullopt);

  auto colon = ParsePluginLine("OK: all good", 2);
  EXPECT_EQ(colon->state, ServiceState::kOk) << "the text wins over the exit code";
  EXPECT_EQ(colon->text, "all good");
  EXPECT_EQ(ParsePluginLine("CRITICAL", std::nullopt)->state, ServiceState::kCritical);
  EXPECT_EQ(ParsePluginLine("CRIT - x", std::nullopt)->state, ServiceState::kCritical);
  EXPECT_EQ(ParsePluginLine("UNKNOWN - x", 0)->state, ServiceState::kUnknown);

  auto quoted = ParsePluginLine("OK | 'load 1'=1.5;4;8 'it''s'=U time=1e-3s", 0);
  ASSERT_TRUE(quoted.ok()) << quoted.error().message;
  ASSERT_EQ(quoted->perf.size(), 3u);
  EXPECT_EQ(quoted->perf[0].label, "load 1");
  EXPECT_EQ(quoted->perf[1].label, "it's");
  EXPECT_FALSE(quoted->perf[1].value.has_value());
  EXPECT_DOUBLE_EQ(*quoted->perf[2].value, 0.001);
  EXPECT_EQ(quoted->perf[2].uom, "s");
}

TEST(NagiosTest, FallsBackToTheExitCodeWhenTheTextHasNoStatus) {
  for (int code : {0, 1, 2, 3}) {
    auto p = ParsePluginLine("42 widgets frobbed", code);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->state, static_cast<ServiceState>(code));
    EXPECT_EQ(p->state_source, StateSource::kExitCode);
    EXPECT_EQ(p->text, "42 widgets frobbed");
  }
  EXPECT_EQ(ParsePluginLine("x", 77)->state, ServiceState::kUnknown);
  auto none = ParsePluginLine("x", std::nullopt);
  EXPECT_EQ(none->state, ServiceState::kUnknown);
  EXPECT_EQ(none->state_source, StateSource::kNone);
  // "OKAY" and lowercase "ok" are not status words.
  EXPECT_EQ(ParsePluginLine("OKAY then", 2)->state, ServiceState::kCritical);
  EXPECT_EQ(ParsePluginLine("ok then", 1)->state, ServiceState::kWarning);
}

TEST(NagiosTest, RejectsMalformedLinesWithClearErrors) {
  auto error = [](std::string_view line) {
    auto p = ParsePluginLine(line, 0);
    return p.ok() ? std::string("ok") : p.error().message;
  };
  EXPECT_NE(error("").find("empty line"), std::string::npos);
  EXPECT_NE(error("   \t ").find("empty line"), std::string::npos);
  EXPECT_NE(error(std::string("OK \0 x", 6)).find("control byte 0 at offset 3"), std::string::npos);
  EXPECT_NE(error("OK | novalue").find("'novalue' lacks '='"), std::string::npos);
  EXPECT_NE(error("OK | =5").find("empty label"), std::string::npos);
  EXPECT_NE(error("OK | a=").find("bad value ''"), std::string::npos);
  EXPECT_NE(error("OK | a=abc").find("bad value 'abc'"), std::string::npos);
  EXPECT_NE(error("OK | a=1e999").find("bad value"), std::string::npos);
  EXPECT_NE(error("OK | a=nan").find("bad value"), std::string::npos);
  EXPECT_NE(error("OK | a=1;2;3;4;5;6").find("more than 5 fields"), std::string::npos);
  EXPECT_NE(error("OK | a=1;x").find("in warn of 'a'"), std::string::npos);
  EXPECT_NE(error("OK | a=1;;20:10").find("start is greater than end"), std::string::npos);
  EXPECT_NE(error("OK | a=1;;;zero").find("bad min"), std::string::npos);
  EXPECT_NE(error("OK | 'open=1").find("unterminated quoted label"), std::string::npos);
  EXPECT_NE(error("OK | 'q'x=1").find("expected '=' after quoted label"), std::string::npos);
  EXPECT_NE(error("OK | good=1 bad").find("at offset 12"), std::string::npos)
      << error("OK | good=1 bad");
  EXPECT_EQ(error("OK |"), "ok");
  EXPECT_EQ(error("OK | a=1;;;;"), "ok");
}

TEST(NagiosTest, LastLineSkipsTrailingBlankLinesAndCarriageReturns) {
  EXPECT_EQ(LastLine("a\nb\n\n  \n"), "b");
  EXPECT_EQ(LastLine("one\r\ntwo\r\n"), "two");
  EXPECT_EQ(LastLine("only"), "only");
  EXPECT_EQ(LastLine("\n\n"), "");
  EXPECT_EQ(LastLine(""), "");
}

TEST(NagiosTest, RangesFollowTheNagiosConventions) {
  auto alerts = [](std::string_view range, double v) {
    auto r = Range::Parse(range);
    EXPECT_TRUE(r.ok()) << range;
    return r.ok() && r->Alerts(v);
  };
  // "10": alert outside 0..10.
  EXPECT_FALSE(alerts("10", 0));
  EXPECT_FALSE(alerts("10", 10));
  EXPECT_TRUE(alerts("10", 10.5));
  EXPECT_TRUE(alerts("10", -1));
  // "10:": alert below 10.
  EXPECT_TRUE(alerts("10:", 9.9));
  EXPECT_FALSE(alerts("10:", 1e12));
  // "~:10": alert above 10.
  EXPECT_FALSE(alerts("~:10", -1e12));
  EXPECT_TRUE(alerts("~:10", 11));
  // "10:20": alert outside 10..20.
  EXPECT_TRUE(alerts("10:20", 9));
  EXPECT_FALSE(alerts("10:20", 15));
  EXPECT_TRUE(alerts("10:20", 21));
  // "@10:20": alert inside 10..20.
  EXPECT_TRUE(alerts("@10:20", 10));
  EXPECT_TRUE(alerts("@10:20", 20));
  EXPECT_FALSE(alerts("@10:20", 21));
  EXPECT_TRUE(alerts("-5:-1", 0));
  for (std::string_view bad : {"", "@", "x", "1:x", "20:10", "~", "1::2", "inf", "10:nan"}) {
    EXPECT_FALSE(Range::Parse(bad).ok()) << bad;
  }
}

TEST(NagiosTest, ThresholdsRaiseAlertsOnStateChangesOnly) {
  AlertTracker tracker;
  auto t = Threshold::Parse("80", "90");
  ASSERT_TRUE(t.ok());
  tracker.SetThreshold("disk_used_pct", *t);
  std::vector<std::pair<double, std::optional<ServiceState>>> steps = {
      {50, std::nullopt},           {85, ServiceState::kWarning},
      {86, std::nullopt},           {95, ServiceState::kCritical},
      {87, ServiceState::kWarning}, {10, ServiceState::kOk},
      {11, std::nullopt},           {99, ServiceState::kCritical},
  };
  ServiceState previous = ServiceState::kOk;
  for (auto [value, expected] : steps) {
    auto alert = tracker.ObserveValue("disk_used_pct", value);
    ASSERT_EQ(alert.has_value(), expected.has_value()) << value;
    if (alert) {
      EXPECT_EQ(alert->from, previous);
      EXPECT_EQ(alert->to, *expected);
      EXPECT_EQ(alert->value, value);
      previous = *expected;
    }
  }
  EXPECT_FALSE(tracker.ObserveValue("no_threshold", 1e9).has_value());
  EXPECT_FALSE(Threshold::Parse("x", "").ok());
  auto state = tracker.ObserveState("svc", ServiceState::kUnknown, "timed out");
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->text, "timed out");
}

TEST(NagiosTest, FuzzCorpusReplaysWithoutCrashing) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(SHOAL_NAGIOS_CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), {});
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    ++files;
  }
  EXPECT_GE(files, 10);
}

// ---- scheduler ------------------------------------------------------------------------------

// Writes an executable plugin that prints the next line of `lines` on each run (the last one
// forever after), exiting with the code given before a tab.
fs::path WritePlugin(const TempDir& dir, const std::string& name,
                     const std::vector<std::string>& lines) {
  fs::path path = dir / name;
  std::ofstream out(path);
  out << "#!/bin/sh\nn=$(cat \"$0.count\" 2>/dev/null || echo 0)\necho $((n + 1)) > \"$0.count\"\n"
      << "case $n in\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    auto tab = lines[i].find('\t');
    std::string code = lines[i].substr(0, tab), text = lines[i].substr(tab + 1);
    out << (i + 1 == lines.size() ? std::string("*") : std::to_string(i)) << ") echo 'noise line';"
        << " printf '%s\\n' '" << text << "'; exit " << code << ";;\n";
  }
  out << "esac\n";
  out.close();
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  return path;
}

TEST(StatsSchedulerTest, RunsPluginsOnTheirIntervalAndRaisesAlerts) {
  TempDir dir;
  StatsScheduler::Options options;
  options.builtin_interval = std::chrono::milliseconds(0);
  PluginSpec plugin;
  plugin.name = "queue";
  plugin.path = WritePlugin(
      dir, "check_queue",
      {"0\tOK - queue fine | depth=1;5;10;0", "1\tWARNING - queue growing | depth=7;5;10;0",
       "2\tCRITICAL - queue stuck | depth=12;5;10;0", "0\tqueue drained | depth=0;5;10;0"});
  plugin.interval = std::chrono::milliseconds(20);
  options.plugins = {plugin};
  options.thresholds["queue/depth"] = *Threshold::Parse("5", "10");
  boost::asio::io_context io;
  std::vector<StatsSample> samples;
  StatsScheduler scheduler(io, options, [&](const StatsSample& s) {
    samples.push_back(s);
    if (samples.size() == 4) io.stop();
  });
  ASSERT_TRUE(scheduler.Start().ok());
  io.run_for(std::chrono::seconds(60));
  ASSERT_EQ(samples.size(), 4u);
  std::vector<ServiceState> states;
  for (const auto& s : samples) states.push_back(s.state);
  EXPECT_EQ(states, (std::vector<ServiceState>{ServiceState::kOk, ServiceState::kWarning,
                                               ServiceState::kCritical, ServiceState::kOk}));
  EXPECT_EQ(samples[3].text, "queue drained") << "status from the exit code";
  EXPECT_EQ(samples[0].exit_code, 0);
  ASSERT_EQ(samples[1].metrics.size(), 1u);
  EXPECT_EQ(samples[1].metrics[0].name, "queue/depth");
  EXPECT_EQ(samples[1].metrics[0].value, 7);
  EXPECT_TRUE(samples[0].alerts.empty());
  // Sample 2: the metric and the service both went OK -> WARNING.
  ASSERT_EQ(samples[1].alerts.size(), 2u);
  EXPECT_EQ(samples[1].alerts[0].name, "queue/depth");
  EXPECT_EQ(samples[1].alerts[0].to, ServiceState::kWarning);
  EXPECT_EQ(samples[1].alerts[1].name, "queue");
  ASSERT_EQ(samples[2].alerts.size(), 2u);
  EXPECT_EQ(samples[2].alerts[0].from, ServiceState::kWarning);
  EXPECT_EQ(samples[2].alerts[0].to, ServiceState::kCritical);
  ASSERT_EQ(samples[3].alerts.size(), 2u);
  EXPECT_EQ(samples[3].alerts[1].to, ServiceState::kOk);
}

TEST(StatsSchedulerTest, BrokenPluginsYieldUnknownAndBuiltinsKeepComing) {
  TempDir dir;
  StatsScheduler::Options options;
  options.builtin_interval = std::chrono::milliseconds(20);
  PluginSpec garbage{"garbage",
                     WritePlugin(dir, "check_garbage", {"0\tOK | =oops"}),
                     {},
                     std::chrono::milliseconds(20),
                     std::chrono::seconds(30),
                     ""};
  PluginSpec slow{
      "slow", dir / "check_slow", {}, std::chrono::milliseconds(20), std::chrono::milliseconds(100),
      ""};
  std::ofstream(slow.path) << "#!/bin/sh\nsleep 1000\n";
  fs::permissions(slow.path, fs::perms::owner_all);
  PluginSpec missing{
      "missing", dir / "no_such_plugin", {}, std::chrono::milliseconds(20), std::chrono::seconds(1),
      ""};
  options.plugins = {garbage, slow, missing};
  boost::asio::io_context io;
  std::map<std::string, std::vector<StatsSample>> by_source;
  StatsScheduler scheduler(io, options, [&](const StatsSample& s) {
    by_source[s.source].push_back(s);
    if (by_source["builtin"].size() >= 2 && by_source["slow"].size() >= 1 &&
        by_source["garbage"].size() >= 1 && by_source["missing"].size() >= 1) {
      io.stop();
    }
  });
  ASSERT_TRUE(scheduler.Start().ok());
  io.run_for(std::chrono::seconds(60));
  ASSERT_GE(by_source["builtin"].size(), 2u);
  EXPECT_GT(by_source["builtin"][0].host.memory.total_bytes, 0u);
  EXPECT_FALSE(by_source["builtin"][0].metrics.empty());
  ASSERT_GE(by_source["garbage"].size(), 1u);
  EXPECT_EQ(by_source["garbage"][0].state, ServiceState::kUnknown);
  EXPECT_NE(by_source["garbage"][0].text.find("empty label"), std::string::npos);
  ASSERT_GE(by_source["slow"].size(), 1u);
  EXPECT_TRUE(by_source["slow"][0].timed_out);
  EXPECT_EQ(by_source["slow"][0].state, ServiceState::kUnknown);
  EXPECT_NE(by_source["slow"][0].text.find("timed out"), std::string::npos);
  ASSERT_GE(by_source["missing"].size(), 1u);
  EXPECT_NE(by_source["missing"][0].text.find("did not start"), std::string::npos);
  ASSERT_EQ(by_source["missing"][0].alerts.size(), 1u);
  EXPECT_EQ(by_source["missing"][0].alerts[0].to, ServiceState::kUnknown);

  StatsScheduler::Options dup;
  dup.plugins = {garbage, garbage};
  StatsScheduler bad(io, dup, [](const StatsSample&) {});
  EXPECT_FALSE(bad.Start().ok());
}

}  // namespace
}  // namespace shoal::node
