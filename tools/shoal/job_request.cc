#include "tools/shoal/job_request.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "core/admin_client.h"
#include "core/ingest.h"
#include "planner/jobs/job_file.h"
#include "proto/seeder.capnp.h"
#include "tools/shoal/progress_line.h"

namespace shoal::cli {
namespace fs = std::filesystem;

namespace {

// Runs `attempt` (one call to the seeder) again while it fails on the transport (the seeder is
// restarting: its socket refuses, or the connection drops mid-put) for up to `retry_s` seconds,
// with backoff and full jitter. An answer from the seeder, even a refusal, is final. Putting
// twice is safe: artifacts are stored by content, so a repeated put of the same file is one.
template <typename Attempt>
Result<Pin> RetryWhileUnreachable(const std::string& socket, double retry_s, Attempt attempt) {
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(retry_s * 1000));
  std::mt19937_64 rng(std::random_device{}());
  int64_t cap_ms = 250;
  for (bool told = false;;) {
    bool answered = false;
    Result<Pin> pin = attempt(&answered);
    if (pin || answered || Clock::now() >= deadline) return pin;
    if (!told) {
      std::fprintf(stderr, "shoal: seeder unreachable (%s); retrying for up to %.0f s\n",
                   pin.error().message.c_str(), retry_s);
      told = true;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(50, cap_ms)(rng)));
    cap_ms = std::min<int64_t>(cap_ms * 2, 5000);
  }
}

Result<Pin> PutToSeeder(const fs::path& file, const std::string& socket, bool* answered) {
  capnp::MallocMessageBuilder request;
  auto put = request.initRoot<proto::SeederRequest>().initPut();
  put.setPath(fs::absolute(file).string());
  put.setName(file.filename().string());
  ProgressLine progress;
  Pin pin;
  auto status = AdminCall(socket, request, [&](Frame& frame) -> Result<bool> {
    auto reply = frame.Root<proto::SeederReply>();
    if (reply.isProgress()) {
      auto p = reply.getProgress();
      // Progress alone is not an answer: a put cut off mid-way is tried again.
      progress.Update("put " + file.filename().string() + ": " + p.getPhase().cStr(), p.getDone(),
                      p.getTotal());
      return false;
    }
    progress.Finish();
    *answered = true;
    if (reply.isFailure()) return Error{reply.getFailure().getMessage().cStr()};
    if (!reply.isArtifact()) return Error{"unexpected reply from the seeder"};
    auto a = reply.getArtifact();
    pin = Pin{"", a.getId(), a.getMd5(), a.getSize()};
    return true;
  });
  if (!status) return Error::of("seeder " + socket, status.error().message);
  return pin;
}

Result<Pin> LookUp(const std::string& id, const std::string& socket, bool* answered) {
  capnp::MallocMessageBuilder request;
  request.initRoot<proto::SeederRequest>().setGet(id);
  Pin pin;
  auto status = AdminCall(socket, request, [&](Frame& frame) -> Result<bool> {
    auto reply = frame.Root<proto::SeederReply>();
    *answered = true;
    if (reply.isFailure()) return Error{reply.getFailure().getMessage().cStr()};
    if (!reply.isArtifact()) return false;
    auto a = reply.getArtifact();
    pin = Pin{id, a.getId(), a.getMd5(), a.getSize()};
    return true;
  });
  if (!status) return status.error();
  return pin;
}

Result<Pin> HashLocally(const fs::path& file) {
  ProgressLine progress;
  auto digests = HashFile(file, 0, [&](uint64_t done, uint64_t total) {
    progress.Update("hash " + file.filename().string(), done, total);
  });
  progress.Finish();
  if (!digests) return digests.error();
  return Pin{"", ArtifactId{digests->sha256}.str(), digests->md5.hex(), digests->size};
}

}  // namespace

Result<std::vector<Pin>> PinArtifacts(const std::string& job_path, const std::string& yaml,
                                      PinMode mode, const std::string& seeder_socket,
                                      double seeder_retry_s) {
  auto job = planner::jobs::ParseJob(yaml, job_path);
  if (!job) return job.error();
  const fs::path base = fs::path(job_path).parent_path();
  std::vector<Pin> pins;
  std::set<std::string> seen;
  for (const auto& stage : job->stages) {
    for (const auto& step : stage.steps) {
      if (step.kind != planner::jobs::Step::Kind::kFile) continue;
      const bool from_source = !step.file.source.empty();
      const std::string& ref = from_source ? step.file.source : step.file.artifact;
      if (!seen.insert(ref).second) continue;
      Result<Pin> pin = Error{""};
      if (from_source) {
        fs::path file = fs::path(ref).is_absolute() ? fs::path(ref) : base / ref;
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) {
          return Error{job_path + ":" + std::to_string(step.pos.line) + ":" +
                       std::to_string(step.pos.column) + ": " + step.name + ": source " +
                       file.string() + " is not a readable file"};
        }
        if (mode == PinMode::kPutToSeeder) {
          pin = RetryWhileUnreachable(seeder_socket, seeder_retry_s, [&](bool* answered) {
            return PutToSeeder(file, seeder_socket, answered);
          });
        } else {
          pin = HashLocally(file);
        }
      } else {
        pin = RetryWhileUnreachable(seeder_socket, seeder_retry_s, [&](bool* answered) {
          return LookUp(ref, seeder_socket, answered);
        });
        if (!pin && mode == PinMode::kHashLocally) pin = Pin{ref, ref, "", 0};  // size unknown
      }
      if (!pin) {
        return Error{job_path + ":" + std::to_string(step.pos.line) + ":" +
                     std::to_string(step.pos.column) + ": " + step.name + ": " +
                     pin.error().message};
      }
      pin->ref = ref;
      pins.push_back(std::move(*pin));
    }
  }
  return pins;
}

void FillJobRequest(const std::string& job_path, const std::string& yaml,
                    const std::vector<Pin>& pins, proto::JobRequest::Builder out) {
  out.setFileName(job_path);
  out.setYaml(yaml);
  auto list = out.initArtifacts(pins.size());
  for (size_t i = 0; i < pins.size(); ++i) {
    list[i].setRef(pins[i].ref);
    list[i].setId(pins[i].id);
    list[i].setMd5(pins[i].md5);
    list[i].setSize(pins[i].size);
  }
}

}  // namespace shoal::cli
