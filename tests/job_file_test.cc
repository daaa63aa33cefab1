// Job files: a complete file parses into the expected Job; every bad file gets one exact error,
// "<file>:<line>:<col>: <field>: <what>"; scalars (durations, budgets) on their own.
#include "planner/jobs/job_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace shoal::planner::jobs {
namespace {

using namespace std::chrono_literals;

const std::string kSha(64, 'a');
const std::string kArtifact = "sha256:" + kSha;

const std::string kGoodJob =
    R"(# A release, with every key.
name: web-release-42
targets: [role=web, dc=dc2]
exclude: [web-07]
waves: "1 10% 100%"
max_failed: 5%          # or an integer count
pause: manual
verify: {command: "curl -fsS localhost/health", timeout: 10s}
prestage: true
concurrency: 50
unreachable: skip
unreachable_wait: 2m
steps:
  - file: {source: ./build/app-42.tar.zst, dest: /srv/app/app.tar.zst, mode: "0644"}
  - command: {run: "tar -C /srv/app -xf /srv/app/app.tar.zst && systemctl restart app", timeout: 120s}
  - parallel:
      - file: {artifact: "sha256:)" +
    kSha + R"(", dest: /etc/app/a.conf, on: [group-a], mode: 0600, owner: "app:app"}
      - file: {artifact: "sha256:)" +
    kSha + R"(", dest: /etc/app/b.conf, on: group-b, mode: 755}
  - command: {run: "systemctl restart app", on_failure: continue, name: restart}
  - command:
      script: /usr/local/bin/migrate
      interpreter: exec
      args: [--to, 42, ""]
      run_as: app
      cwd: /srv/app
      env: {RELEASE: "42", MODE: fast, EMPTY: ""}
      timeout: 1h30m
  - command:
      run: |

        echo "a first line that is rather longer than forty characters"
        echo second
      interpreter: bash
)";

TEST(JobFile, GoodFileParsesEveryField) {
  auto parsed = ParseJob(kGoodJob, "job.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const Job& job = *parsed;
  EXPECT_EQ(job.name, "web-release-42");
  EXPECT_EQ(job.targets, (std::vector<std::string>{"role=web", "dc=dc2"}));
  EXPECT_EQ(job.exclude, (std::vector<std::string>{"web-07"}));
  EXPECT_EQ(job.waves, "1 10% 100%");
  EXPECT_EQ(job.max_failed.kind, Budget::Kind::kPercent);
  EXPECT_EQ(job.max_failed.value, 5u);
  EXPECT_EQ(job.pause.kind, Pause::Kind::kManual);
  ASSERT_TRUE(job.verify.has_value());
  EXPECT_EQ(job.verify->run, "curl -fsS localhost/health");
  EXPECT_EQ(job.verify->script, "");
  EXPECT_EQ(job.verify->interpreter, "sh");
  EXPECT_EQ(job.verify->timeout, 10s);
  EXPECT_EQ(job.prestage, std::optional<bool>(true));
  EXPECT_EQ(job.concurrency, 50u);
  EXPECT_EQ(job.unreachable, Unreachable::kSkip);
  EXPECT_EQ(job.unreachable_wait, 2min);

  ASSERT_EQ(job.stages.size(), 6u);
  for (size_t i : {0, 1, 3, 4, 5}) EXPECT_EQ(job.stages[i].steps.size(), 1u) << i;
  ASSERT_EQ(job.stages[2].steps.size(), 2u);

  const Step& put = job.stages[0].steps[0];
  EXPECT_EQ(put.kind, Step::Kind::kFile);
  EXPECT_EQ(put.name, "file /srv/app/app.tar.zst");
  EXPECT_EQ(put.file.source, "./build/app-42.tar.zst");
  EXPECT_EQ(put.file.artifact, "");
  EXPECT_EQ(put.file.dest, "/srv/app/app.tar.zst");
  EXPECT_EQ(put.file.mode, 0644u);
  EXPECT_EQ(put.file.owner, "");
  EXPECT_TRUE(put.on.empty());
  EXPECT_EQ(put.on_failure, OnFailure::kStop);
  EXPECT_EQ(put.pos.line, 14);
  EXPECT_EQ(put.pos.column, 5);

  const Step& unpack = job.stages[1].steps[0];
  EXPECT_EQ(unpack.kind, Step::Kind::kCommand);
  EXPECT_EQ(unpack.name, "command tar -C /srv/app -xf /srv/app/app.tar.zst");
  EXPECT_EQ(unpack.command.run,
            "tar -C /srv/app -xf /srv/app/app.tar.zst && systemctl restart app");
  EXPECT_EQ(unpack.command.interpreter, "sh");
  EXPECT_EQ(unpack.command.timeout, 120s);
  EXPECT_EQ(unpack.pos.line, 15);

  const Step& a = job.stages[2].steps[0];
  const Step& b = job.stages[2].steps[1];
  EXPECT_EQ(a.kind, Step::Kind::kFile);
  EXPECT_EQ(a.file.artifact, kArtifact);
  EXPECT_EQ(a.file.source, "");
  EXPECT_EQ(a.file.dest, "/etc/app/a.conf");
  EXPECT_EQ(a.file.mode, 0600u);  // a YAML int written 0600, read as octal
  EXPECT_EQ(a.file.owner, "app:app");
  EXPECT_EQ(a.on, (std::vector<std::string>{"group-a"}));
  EXPECT_EQ(a.name, "file /etc/app/a.conf");
  EXPECT_EQ(a.pos.line, 17);
  EXPECT_EQ(a.pos.column, 9);
  EXPECT_EQ(b.file.mode, 0755u);                           // "755" is octal too
  EXPECT_EQ(b.on, (std::vector<std::string>{"group-b"}));  // one string is a list of one

  const Step& restart = job.stages[3].steps[0];
  EXPECT_EQ(restart.name, "restart");
  EXPECT_EQ(restart.on_failure, OnFailure::kContinue);
  EXPECT_EQ(restart.command.timeout, 0ms);

  const CommandStep& migrate = job.stages[4].steps[0].command;
  EXPECT_EQ(job.stages[4].steps[0].name, "command /usr/local/bin/migrate");
  EXPECT_EQ(migrate.run, "");
  EXPECT_EQ(migrate.script, "/usr/local/bin/migrate");
  EXPECT_EQ(migrate.interpreter, "exec");
  EXPECT_EQ(migrate.args, (std::vector<std::string>{"--to", "42", ""}));
  EXPECT_EQ(migrate.run_as, "app");
  EXPECT_EQ(migrate.cwd, "/srv/app");
  EXPECT_EQ(migrate.env, (std::vector<std::pair<std::string, std::string>>{
                             {"RELEASE", "42"}, {"MODE", "fast"}, {"EMPTY", ""}}));
  EXPECT_EQ(migrate.timeout, 90min);

  const Step& script = job.stages[5].steps[0];
  EXPECT_EQ(script.command.interpreter, "bash");
  EXPECT_EQ(script.name, "command echo \"a first line that is rather longer");  // 40 bytes
  EXPECT_EQ(script.command.run,
            "\necho \"a first line that is rather longer than forty characters\"\necho second\n");
}

TEST(JobFile, DefaultsForOmittedKeys) {
  auto parsed = ParseJob("name: j\ntargets: all\nsteps:\n  - command: {run: uptime}\n", "j.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  const Job& job = *parsed;
  EXPECT_EQ(job.targets, (std::vector<std::string>{"all"}));
  EXPECT_TRUE(job.exclude.empty());
  EXPECT_EQ(job.waves, "100%");
  EXPECT_EQ(job.max_failed.kind, Budget::Kind::kCount);
  EXPECT_EQ(job.max_failed.value, 0u);
  EXPECT_EQ(job.pause.kind, Pause::Kind::kNone);
  EXPECT_FALSE(job.verify.has_value());
  EXPECT_FALSE(job.prestage.has_value());
  EXPECT_EQ(job.concurrency, 0u);
  EXPECT_EQ(job.unreachable, Unreachable::kFail);
  EXPECT_EQ(job.unreachable_wait, 0ms);
  ASSERT_EQ(job.stages.size(), 1u);
  EXPECT_EQ(job.stages[0].steps[0].name, "command uptime");
}

TEST(JobFile, OtherForms) {
  auto parsed = ParseJob(R"(name: j
targets: [a]
max_failed: 3
pause: 5m
prestage: false
verify: {script: /usr/bin/check, interpreter: exec, run_as: nobody}
steps: [{file: {artifact: "sha256:)" +
                             kSha + R"(", dest: /x}}]
)",
                         "j.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->max_failed.kind, Budget::Kind::kCount);
  EXPECT_EQ(parsed->max_failed.value, 3u);
  EXPECT_EQ(parsed->pause.kind, Pause::Kind::kTimed);
  EXPECT_EQ(parsed->pause.duration, 5min);
  EXPECT_EQ(parsed->prestage, std::optional<bool>(false));
  EXPECT_EQ(parsed->verify->script, "/usr/bin/check");
  EXPECT_EQ(parsed->verify->interpreter, "exec");
  EXPECT_EQ(parsed->verify->run_as, "nobody");
  EXPECT_EQ(parsed->stages[0].steps[0].file.mode, 0644u);
}

struct BadCase {
  std::string text;
  std::string error;
};

class BadJobFile : public testing::TestWithParam<BadCase> {};

TEST_P(BadJobFile, ExactError) {
  auto parsed = ParseJob(GetParam().text, "job.yaml");
  ASSERT_FALSE(parsed.ok()) << GetParam().text;
  EXPECT_EQ(parsed.error().message, GetParam().error) << GetParam().text;
}

// Most cases share these two lines, so their steps start on line 3.
const std::string kHead = "name: j\ntargets: [a]\n";

INSTANTIATE_TEST_SUITE_P(
    Table, BadJobFile,
    testing::Values(
        // The document.
        BadCase{"", "job.yaml:1:1: the job file is empty"},
        BadCase{"# nothing but a comment\n", "job.yaml:1:1: the job file is empty"},
        BadCase{"- a\n- b\n",
                "job.yaml:1:1: a job file must be a map with name, targets and steps"},
        BadCase{"name: [a\n", "job.yaml:2:1: end of sequence flow not found"},
        BadCase{",", "job.yaml:1:1: unexpected \",\""},
        BadCase{kHead + "steps: [{command: {run: x}}]\n---\nname: k\n",
                "job.yaml:4:1: a job file holds one YAML document"},
        // Keys.
        BadCase{kHead + "steps: [{command: {run: x}}]\nnmae: x\n",
                "job.yaml:4:1: nmae: unknown key"},
        BadCase{kHead + "name: k\nsteps: [{command: {run: x}}]\n",
                "job.yaml:3:1: name: duplicate key"},
        BadCase{kHead + "[a]: b\n", "job.yaml:3:1: keys must be strings"},
        BadCase{"targets: [a]\nsteps: [{command: {run: x}}]\n", "job.yaml:1:1: name: is required"},
        BadCase{"name: j\nsteps: [{command: {run: x}}]\n", "job.yaml:1:1: targets: is required"},
        BadCase{kHead, "job.yaml:1:1: steps: is required"},
        // Top-level values.
        BadCase{"name: web release\n",
                "job.yaml:1:7: name: must be 1 to 64 characters of A-Z a-z 0-9 . _ -"},
        BadCase{"name: " + std::string(65, 'x') + "\n",
                "job.yaml:1:7: name: must be 1 to 64 characters of A-Z a-z 0-9 . _ -"},
        BadCase{"name:\ntargets: [a]\n", "job.yaml:1:1: name: must not be empty"},
        BadCase{"name: j\ntargets: []\n", "job.yaml:2:10: targets: must not be empty"},
        BadCase{"name: j\ntargets: [a, {b: c}]\n", "job.yaml:2:14: targets[1]: must be a string"},
        BadCase{"name: j\ntargets: {a: b}\n", "job.yaml:2:10: targets: must be a list of strings"},
        BadCase{kHead + "exclude: [a, \"\"]\n", "job.yaml:3:14: exclude[1]: must not be empty"},
        BadCase{kHead + "waves: \"1 x\"\n", "job.yaml:3:8: waves: \"x\" is not N, P%, *F or +N"},
        BadCase{kHead + "waves: \"*2\"\n",
                "job.yaml:3:8: waves: \"*2\": the first term must be N or P%"},
        BadCase{kHead + "max_failed: 101%\n",
                "job.yaml:3:13: max_failed: a percentage must be 0% to 100%"},
        BadCase{kHead + "max_failed: lots\n",
                "job.yaml:3:13: max_failed: must be a count like 5 or a percentage like 10%"},
        BadCase{kHead + "pause: later\n",
                "job.yaml:3:8: pause: must be manual or a duration like 5m"},
        BadCase{kHead + "pause: 5d\n",
                "job.yaml:3:8: pause: unknown unit \"d\" (use ms, s, m or h)"},
        BadCase{kHead + "prestage: yes\n", "job.yaml:3:11: prestage: must be true or false"},
        BadCase{kHead + "concurrency: 0\n", "job.yaml:3:14: concurrency: must be an integer >= 1"},
        BadCase{kHead + "concurrency: -3\n", "job.yaml:3:14: concurrency: must be an integer >= 1"},
        BadCase{kHead + "concurrency: [1]\n",
                "job.yaml:3:14: concurrency: must be an integer >= 1"},
        BadCase{kHead + "unreachable: wait\n", "job.yaml:3:14: unreachable: must be fail or skip"},
        BadCase{kHead + "unreachable_wait: -5s\n",
                "job.yaml:3:19: unreachable_wait: must not be negative"},
        BadCase{kHead + "unreachable_wait: 1m1h\n",
                "job.yaml:3:19: unreachable_wait: units must go from h to ms, each at most once"},
        // verify.
        BadCase{kHead + "verify: \"curl x\"\n", "job.yaml:3:9: verify: must be a map"},
        BadCase{kHead + "verify: {timeout: 5s}\n", "job.yaml:3:9: verify: needs command or script"},
        BadCase{kHead + "verify: {command: x, script: /y}\n",
                "job.yaml:3:22: verify.script: cannot be combined with command"},
        BadCase{kHead + "verify: {command: x, timeout: 10x}\n",
                "job.yaml:3:31: verify.timeout: unknown unit \"x\" (use ms, s, m or h)"},
        BadCase{kHead + "verify: {command: x, retries: 3}\n",
                "job.yaml:3:22: verify.retries: unknown key"},
        // steps.
        BadCase{kHead + "steps: []\n", "job.yaml:3:8: steps: must not be empty"},
        BadCase{kHead + "steps: run\n", "job.yaml:3:8: steps: must be a list of steps"},
        BadCase{kHead + "steps:\n  - uptime\n",
                "job.yaml:4:5: steps[0]: must be a map with one of file, command or parallel"},
        BadCase{kHead + "steps:\n  - {}\n",
                "job.yaml:4:5: steps[0]: must have one of file, command or parallel"},
        BadCase{kHead + "steps:\n  - run: x\n", "job.yaml:4:5: steps[0].run: unknown key"},
        BadCase{kHead + "steps:\n  - command: {run: x}\n    file: {source: a, dest: /b}\n",
                "job.yaml:5:5: steps[0].file: a step has exactly one of file, command or "
                "parallel"},
        BadCase{kHead + "steps:\n  - command: {run: x}\n  - template: {src: a.j2}\n",
                "job.yaml:5:5: steps[1].template: template steps are not supported yet"},
        BadCase{kHead + "steps:\n  - command:\n      run: x\n      tiemout: 5s\n",
                "job.yaml:6:7: steps[0].command.tiemout: unknown key"},
        BadCase{kHead + "steps:\n  - command: {timeout: 5s}\n",
                "job.yaml:4:14: steps[0].command: needs run or script"},
        BadCase{kHead + "steps:\n  - command: {script: /a, run: b}\n",
                "job.yaml:4:27: steps[0].command.run: cannot be combined with script"},
        BadCase{kHead + "steps:\n  - command: {script: bin/x}\n",
                "job.yaml:4:23: steps[0].command.script: must be an absolute path"},
        BadCase{kHead + "steps:\n  - command: {run: x, interpreter: exec}\n",
                "job.yaml:4:36: steps[0].command.interpreter: exec needs script, not run"},
        BadCase{kHead + "steps:\n  - command: {run: x, interpreter: perl}\n",
                "job.yaml:4:36: steps[0].command.interpreter: must be sh, bash, python3 or exec"},
        BadCase{kHead + "steps:\n  - command: {run: x, args: -v}\n",
                "job.yaml:4:29: steps[0].command.args: must be a list of strings"},
        BadCase{kHead + "steps:\n  - command: {run: x, env: {1A: b}}\n",
                "job.yaml:4:29: steps[0].command.env.1A: is not a valid environment variable name"},
        BadCase{kHead + "steps:\n  - command: {run: x, env: {A: [b]}}\n",
                "job.yaml:4:32: steps[0].command.env.A: must be a string"},
        BadCase{kHead + "steps:\n  - command: {run: x, on_failure: ignore}\n",
                "job.yaml:4:35: steps[0].command.on_failure: must be stop or continue"},
        BadCase{kHead + "steps:\n  - command: {run: x, on: []}\n",
                "job.yaml:4:27: steps[0].command.on: must not be empty"},
        BadCase{kHead + "steps:\n  - command: {run: x, timeout: 99999999999999999h}\n",
                "job.yaml:4:32: steps[0].command.timeout: is too large"},
        BadCase{kHead + "steps:\n  - file: {dest: /a}\n",
                "job.yaml:4:11: steps[0].file: needs artifact or source"},
        BadCase{kHead + "steps:\n  - file: {source: a}\n",
                "job.yaml:4:11: steps[0].file.dest: is required"},
        BadCase{kHead + "steps:\n  - file:\n      source: a\n      artifact: b\n      dest: /c\n",
                "job.yaml:6:7: steps[0].file.artifact: cannot be combined with source"},
        BadCase{kHead + "steps:\n  - file: {artifact: \"sha256:" + std::string(64, 'A') +
                    "\", dest: /a}\n",
                "job.yaml:4:22: steps[0].file.artifact: must be sha256: followed by 64 "
                "lowercase hex digits"},
        BadCase{kHead + "steps:\n  - file: {source: a, dest: srv/a}\n",
                "job.yaml:4:29: steps[0].file.dest: must be an absolute path"},
        BadCase{kHead + "steps:\n  - file: {source: a, dest: /srv/../etc/passwd}\n",
                "job.yaml:4:29: steps[0].file.dest: must not contain .. components"},
        BadCase{kHead + "steps:\n  - file: {source: a, dest: /srv/app/}\n",
                "job.yaml:4:29: steps[0].file.dest: must name a file, not end with /"},
        BadCase{kHead + "steps:\n  - file:\n      source: a\n      dest:\n",
                "job.yaml:6:7: steps[0].file.dest: must not be empty"},
        BadCase{kHead + "steps:\n  - file: {source: a, dest: \"/a\\0b\"}\n",
                "job.yaml:4:29: steps[0].file.dest: must not contain a NUL byte"},
        BadCase{kHead + "steps:\n  - file: {source: a, dest: /a, mode: \"0689\"}\n",
                "job.yaml:4:39: steps[0].file.mode: must be an octal mode like \"0644\", at most "
                "07777"},
        BadCase{kHead + "steps:\n  - file: {source: a, dest: /a, mode: 017777}\n",
                "job.yaml:4:39: steps[0].file.mode: must be an octal mode like \"0644\", at most "
                "07777"},
        BadCase{kHead + "steps:\n  - parallel: []\n",
                "job.yaml:4:15: steps[0].parallel: must not be empty"},
        BadCase{kHead + "steps:\n  - command: {run: x}\n  - parallel:\n      - command: {run: a}\n"
                        "      - file: {source: a, dest: /b, mode: rw}\n",
                "job.yaml:7:43: steps[1].parallel[1].file.mode: must be an octal mode like "
                "\"0644\", at most 07777"},
        BadCase{kHead + "steps:\n  - parallel:\n      - parallel: [{command: {run: a}}]\n",
                "job.yaml:5:9: steps[0].parallel[0].parallel: parallel steps cannot be nested"},
        BadCase{kHead + "steps:\n  - parallel:\n      - template: {src: a}\n",
                "job.yaml:5:9: steps[0].parallel[0].template: template steps are not supported "
                "yet"}));

TEST(JobFile, LoadJobFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("shoal-job-file-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "release.yaml";
  std::ofstream(path) << kGoodJob;
  auto loaded = LoadJobFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->name, "web-release-42");

  std::ofstream(path) << "name: x\nbogus: 1\n";
  auto bad = LoadJobFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path.string() + ":2:1: bogus: unknown key");

  auto missing = LoadJobFile(dir / "absent.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            (dir / "absent.yaml").string() + ": cannot open: No such file or directory");
  std::filesystem::remove_all(dir);
}

TEST(JobFile, NeverThrowsOnMangledInput) {
  // A quick in-test fuzz: byte flips, truncations and splices of a good file. (The throwaway
  // libFuzzer run that found yaml-cpp's "," hang was much longer.)
  std::mt19937 rng(42);
  const std::string alphabet = ":-[]{},&*!|>'\"#%@`?\n \t0123456789/.";
  for (int i = 0; i < 3000; ++i) {
    std::string text = kGoodJob;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 4) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.resize(at);
          break;
        case 2:
          text.insert(at, text.substr(rng() % text.size(), rng() % 40));
          break;
        default:
          text.erase(at, rng() % 20);
      }
      if (text.empty()) text = "x";
    }
    auto parsed = ParseJob(text, "f.yaml");
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().message.rfind("f.yaml:", 0), 0u) << text;
    }
  }
}

TEST(Duration, Forms) {
  struct Case {
    std::string text;
    Millis ms;
  };
  for (const Case& c : std::vector<Case>{{"500ms", 500ms},
                                         {"10s", 10s},
                                         {"5m", 5min},
                                         {"2h", 2h},
                                         {"1h30m", 90min},
                                         {"1h0m5s250ms", 1h + 5s + 250ms},
                                         {"10", 10s},
                                         {"0", 0ms},
                                         {"0s", 0ms}}) {
    auto d = ParseDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.error().message;
    EXPECT_EQ(*d, c.ms) << c.text;
  }
}

TEST(Duration, Errors) {
  for (const auto& [text, error] : std::vector<std::pair<std::string, std::string>>{
           {"", "duration \"\": must not be empty"},
           {"-5s", "duration \"-5s\": must not be negative"},
           {"5d", "duration \"5d\": unknown unit \"d\" (use ms, s, m or h)"},
           {"5 s", "duration \"5 s\": is not a duration like 500ms, 10s, 5m, 2h or 1h30m"},
           {"1.5h", "duration \"1.5h\": is not a duration like 500ms, 10s, 5m, 2h or 1h30m"},
           {"h", "duration \"h\": is not a duration like 500ms, 10s, 5m, 2h or 1h30m"},
           {"1h30", "duration \"1h30\": is not a duration like 500ms, 10s, 5m, 2h or 1h30m"},
           {"30m1h", "duration \"30m1h\": units must go from h to ms, each at most once"},
           {"5s5s", "duration \"5s5s\": units must go from h to ms, each at most once"},
           {"9223372036854776s", "duration \"9223372036854776s\": is too large"},
           {"99999999999999999999", "duration \"99999999999999999999\": is too large"},
           {"2562047788016h", "duration \"2562047788016h\": is too large"},
       }) {
    auto d = ParseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.error().message, error);
  }
}

TEST(Budget, Parse) {
  auto count = ParseBudget("2");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->kind, Budget::Kind::kCount);
  EXPECT_EQ(count->value, 2u);
  auto percent = ParseBudget("10%");
  ASSERT_TRUE(percent.ok());
  EXPECT_EQ(percent->kind, Budget::Kind::kPercent);
  EXPECT_EQ(percent->value, 10u);
  EXPECT_EQ(ParseBudget("0%")->value, 0u);
  EXPECT_EQ(ParseBudget("100%")->value, 100u);
  EXPECT_EQ(ParseBudget("101%").error().message,
            "max_failed \"101%\": a percentage must be 0% to 100%");
  EXPECT_EQ(ParseBudget("-1").error().message,
            "max_failed \"-1\": must be a count like 5 or a percentage like 10%");
  EXPECT_EQ(ParseBudget("%").error().message,
            "max_failed \"%\": must be a count like 5 or a percentage like 10%");
  EXPECT_EQ(ParseBudget("4294967296").error().message, "max_failed \"4294967296\": is too large");
}

}  // namespace
}  // namespace shoal::planner::jobs
