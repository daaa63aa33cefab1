// Start-up validation of the daemons as real processes: a bad flag is refused at once with one
// line naming the flag and a non-zero exit, before any socket or state is touched; a relative
// --ready-file is resolved against the working directory the daemon was started in.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/ready_file.h"
#include "core/startup_checks.h"
#include "tests/support/process.h"

namespace shoal::testing {
namespace {
namespace fs = std::filesystem;

// Runs `binary args...` from `cwd` (through sh, so the daemon starts in that directory).
CommandResult RunIn(const fs::path& cwd, const std::string& binary,
                    const std::vector<std::string>& args) {
  std::string script = "cd \"$1\" && shift && exec \"$@\"";
  std::vector<std::string> sh_args{"-c", script, "sh", cwd.string(), (BinDir() / binary).string()};
  sh_args.insert(sh_args.end(), args.begin(), args.end());
  return RunCommand("/bin/sh", sh_args, std::chrono::seconds(30));
}

// Expects a refusal: exit 2 and exactly one log line, naming `flag`.
void ExpectRefused(const CommandResult& r, const std::string& flag) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(StartupChecksTest, TrackerUrls) {
  for (std::string ok : {"http://127.0.0.1:6969/announce", "https://tracker.example/announce",
                         "http://[::1]:80/a", "http://h/"}) {
    EXPECT_TRUE(CheckTrackerUrl("--tracker", ok).ok()) << ok;
  }
  for (std::string bad :
       {"", "127.0.0.1:6969", "udp://h:1/announce", "http://", "http:///x", "http://h:0/announce",
        "http://h:70000/a", "http://h:x/a", "http://h:6969", "http://h :1/a", "http://:80/a"}) {
    auto s = CheckTrackerUrl("--tracker", bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().message.rfind("--tracker '" + bad + "'", 0), 0u) << s.error().message;
  }
}

TEST(StartupChecksTest, AddressesAndDirectories) {
  EXPECT_TRUE(CheckConnectAddress("--origin", "10.0.0.1:7000").ok());
  EXPECT_TRUE(CheckConnectAddress("--origin", "seeder.example:7000").ok());
  for (std::string bad : {"", "10.0.0.1", "10.0.0.1:0", ":7000", "h:99999"}) {
    EXPECT_FALSE(CheckConnectAddress("--origin", bad).ok()) << bad;
  }
  EXPECT_TRUE(CheckListenAddress("--listen", "127.0.0.1:0").ok());
  EXPECT_FALSE(CheckListenAddress("--listen", "localhost:0").ok());

  TempDir dir;
  auto made = PrepareStateDir("--state-dir", dir / "a/b");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_TRUE(made->is_absolute());
  EXPECT_TRUE(fs::is_directory(*made));
  WriteRandomFile(dir / "file", 10);
  EXPECT_FALSE(PrepareStateDir("--state-dir", dir / "file").ok());
  EXPECT_FALSE(PrepareStateDir("--state-dir", "/proc/self/shoal-state").ok());

  EXPECT_TRUE(ResolveReadyFile("--ready-file", "").ok());
  EXPECT_TRUE(ResolveReadyFile("--ready-file", "").value().empty());
  auto rel = ResolveReadyFile("--ready-file", "x.ready");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(*rel, fs::current_path() / "x.ready");
  EXPECT_FALSE(ResolveReadyFile("--ready-file", dir / "missing/x.ready").ok());
  EXPECT_FALSE(ResolveReadyFile("--ready-file", dir.path()).ok());
}

TEST(StartupTest, ARelativeReadyFileIsWrittenInTheDaemonsWorkingDirectory) {
  TempDir dir;
  ChildProcess tracker(
      "/bin/sh",
      {"-c", "cd \"$1\" && exec \"$2\" --open --listen 127.0.0.1:0 --ready-file tr.ready", "sh",
       dir.path().string(), (BinDir() / "shoal-tracker").string()},
      dir / "tracker");
  auto values = WaitForReadyFile(dir / "tr.ready");
  EXPECT_FALSE(values["announce"].empty()) << tracker.Stderr();
}

TEST(StartupTest, DaemonsRefuseBadFlagsWithOneLineAndExitTwo) {
  TempDir dir;
  const std::string announce = "http://127.0.0.1:6969/announce";
  // Tracker: a ready file in a directory that does not exist.
  ExpectRefused(
      RunIn(dir.path(), "shoal-tracker",
            {"--open", "--listen", "127.0.0.1:0", "--ready-file", "no/such/dir/tr.ready"}),
      "--ready-file");
  // Tracker: neither closed (a key) nor explicitly open; a key file that is missing or weak.
  ExpectRefused(RunIn(dir.path(), "shoal-tracker", {"--listen", "127.0.0.1:0"}),
                "--register-key-file");
  ExpectRefused(RunIn(dir.path(), "shoal-tracker",
                      {"--listen", "127.0.0.1:0", "--register-key-file", "missing.key"}),
                "--register-key-file");
  { std::ofstream(dir / "weak.key") << "1234\n"; }
  ExpectRefused(RunIn(dir.path(), "shoal-tracker",
                      {"--listen", "127.0.0.1:0", "--register-key-file", "weak.key"}),
                "--register-key-file");
  // Seeder: empty and malformed tracker URLs, an unusable state directory.
  auto seeder = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"--state-dir", (dir / "seeder").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunIn(dir.path(), "shoal-seeder", args);
  };
  ExpectRefused(seeder({"--tracker", ""}), "--tracker");
  ExpectRefused(seeder({"--tracker", "127.0.0.1:6969"}), "--tracker");
  ExpectRefused(seeder({"--tracker", announce, "--listen", "nowhere"}), "--listen");
  ExpectRefused(RunIn(dir.path(), "shoal-seeder",
                      {"--state-dir", "/proc/self/seeder", "--tracker", announce}),
                "--state-dir");
  // Node: bad origin, tracker, state dir, ready file.
  auto node = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"--name", "n1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunIn(dir.path(), "shoal-node", args);
  };
  const std::string state = (dir / "node").string();
  ExpectRefused(node({"--state-dir", state, "--origin", "", "--tracker", announce}), "--origin");
  ExpectRefused(node({"--state-dir", state, "--origin", "127.0.0.1", "--tracker", announce}),
                "--origin");
  ExpectRefused(node({"--state-dir", state, "--origin", "127.0.0.1:7000", "--tracker", ""}),
                "--tracker");
  ExpectRefused(
      node({"--state-dir", "/proc/self/node", "--origin", "127.0.0.1:7000", "--tracker", announce}),
      "--state-dir");
  ExpectRefused(node({"--state-dir", state, "--origin", "127.0.0.1:7000", "--tracker", announce,
                      "--ready-file", "missing/n.ready"}),
                "--ready-file");
  ExpectRefused(node({"--state-dir", state, "--origin", "127.0.0.1:7000", "--tracker", announce,
                      "--planner", "nohost"}),
                "--planner");
}

}  // namespace
}  // namespace shoal::testing
