// The rollout engine: one job run's state machine. Hosts are split into waves; each host of a
// wave runs the job's stages in order (a stage's steps at once), then the job's `verify`; at
// most `concurrency` hosts of a wave work at once (a sliding window: one starts as one ends).
// A wave is done when all its hosts are; then the gate (`pause: manual` waits for Resume(),
// `pause: 5m` for the clock) opens the next wave. Failures are counted per wave and for the
// run; when either EXCEEDS the budget the run halts: nothing new starts, in-flight tasks finish,
// hosts that never started are listed.
//
// The engine does no I/O and reads no clock: the caller passes `now_ms` in and implements Env
// (the planner: durable tasks sent to nodes; tests: a fake). Its whole state can be rebuilt
// from the run's tasks and its small header (Restore), which is how a restarted planner carries
// on: a step that has a task is never started again.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "planner/jobs/job.h"

namespace shoal::planner::jobs {

// Step indexes beyond the job's own steps (0..n-1 in file order, flattening `parallel:`).
//   verify      = n (when the job has one)
//   kHostMarker = a planner-made outcome for a host that never ran (offline, skipped)
//   kPrestage+i = pre-staging artifact i into the host's cache (not a step of the job)
inline constexpr uint32_t kHostMarker = 0xFFFFFFFFu;
inline constexpr uint32_t kPrestage = 0x80000000u;

// What the planner decided before the run started, stored with it and never recomputed.
struct RolloutPlan {
  std::vector<std::string> hosts;  // every host of the run, in wave order
  std::vector<uint32_t> wave_sizes;
  // Per step (same indexes as above, verify included): for which hosts (indexes into `hosts`)
  // it runs; nullopt: all of them.
  std::vector<std::optional<std::vector<uint32_t>>> step_hosts;
  std::vector<std::string> artifacts;  // distinct artifact ids to pre-stage (empty: none)
};

enum class HostStatus { kWaiting, kUnreachable, kRunning, kOk, kFailed, kSkipped, kStopped };
const char* HostStatusName(HostStatus status);

// kCompleted: every wave ran, some hosts failed within the budget.
enum class Phase { kRunning, kPaused, kHalted, kCancelled, kSucceeded, kCompleted };
const char* PhaseName(Phase phase);
std::optional<Phase> ParsePhase(const std::string& name);
bool IsFinal(Phase phase);  // nothing new will start: succeeded, completed, halted, cancelled

// The part of a run's position that its tasks do not tell.
struct RolloutHeader {
  Phase phase = Phase::kRunning;
  uint32_t wave = 0;  // 0-based
  int64_t pause_until_ms = 0;
  int64_t wave_started_ms = 0;
  std::string why;  // why halted, paused or cancelled
};

// A task as the run store knows it, for Restore.
struct TaskFact {
  std::string host;
  uint32_t step = 0;
  bool done = false;
  bool ok = false;
  bool skipped = false;  // a kHostMarker that says skipped (else a marker is a failure)
};

class Rollout {
 public:
  class Env {
   public:
    virtual ~Env() = default;
    virtual bool Online(const std::string& host) = 0;
    // Start `step` on `host`: make its task durable, then send it. Its outcome comes back
    // through OnResult().
    virtual void StartStep(const std::string& host, uint32_t step) = 0;
    // Record that `host` never ran: failed as offline, or skipped (`unreachable: skip`).
    virtual void MarkHost(const std::string& host, bool skipped, const std::string& why) = 0;
    virtual void Prestage(const std::string& host, uint32_t artifact) = 0;
    // The header changed: persist it.
    virtual void HeaderChanged() = 0;
  };

  Rollout(Job job, RolloutPlan plan, Env& env);

  // A new run: pre-stages and starts the first wave.
  void Start(int64_t now_ms);
  // A run reloaded after a restart: rebuilds every host's position from its tasks, then
  // carries on (starting what the crash left unstarted, unless halted/paused/cancelled).
  void Restore(const RolloutHeader& header, const std::vector<TaskFact>& tasks, int64_t now_ms);

  // A task's outcome. Returns false if the (host, step) is not one this run is waiting for.
  bool OnResult(const std::string& host, uint32_t step, bool ok, int64_t now_ms);
  // A host (re)connected: a host waiting as unreachable starts; pre-staging catches up.
  void OnOnline(const std::string& host, int64_t now_ms);
  // Timers: a timed pause ending, unreachable hosts giving up. Call at NextWakeMs() (or later).
  void Tick(int64_t now_ms);
  std::optional<int64_t> NextWakeMs() const;

  // Starts no new host before `ms` (hosts already running go on): after a planner restart,
  // nodes need a moment to reconnect before an offline one may be judged unreachable.
  void HoldNewHostsUntil(int64_t ms) { hold_until_ms_ = ms; }

  // Opens a `pause: manual` gate (or ends a timed pause early).
  Status Resume(int64_t now_ms);
  // Stops the run: nothing new starts. Returns the hosts with steps in flight (to cancel).
  std::vector<std::string> Cancel(const std::string& who);

  const RolloutHeader& header() const { return header_; }
  const Job& job() const { return job_; }
  const RolloutPlan& plan() const { return plan_; }
  uint32_t step_count() const { return static_cast<uint32_t>(step_on_failure_.size()); }
  bool has_verify() const { return job_.verify.has_value(); }
  std::string StepName(uint32_t step) const;

  struct Counts {
    uint32_t waiting = 0, running = 0, ok = 0, failed = 0, skipped = 0, stopped = 0;
  };
  Counts counts() const;
  HostStatus status(const std::string& host) const;
  uint32_t WaveOf(const std::string& host) const;  // 0-based; UINT32_MAX if not in the run
  // Hosts that never started (waiting, or stopped by a halt/cancel before they began).
  std::vector<std::string> NeverStarted() const;
  // The stage most running hosts of the current wave are on (for the progress line).
  std::string CurrentStepName() const;
  bool finished() const { return IsFinal(header_.phase) && running_ == 0; }

 private:
  struct Host {
    HostStatus status = HostStatus::kWaiting;
    uint32_t wave = 0;
    uint32_t stage = 0;  // index into stages_ (stages_.size(): past the last)
    uint32_t in_flight = 0;
    bool stage_failed = false;
    bool started = false;  // ran at least one step
    bool prestaged = false;
    int64_t unreachable_until_ms = 0;
  };

  void Pump(int64_t now_ms);
  void Begin(uint32_t index, int64_t now_ms);
  void Advance(uint32_t index);  // start the host's next stage with steps for it, or finish it
  void Finish(uint32_t index, HostStatus status);
  void GiveUp(uint32_t index);  // unreachable past its wait
  void CheckBudget();
  void WaveMaybeDone(int64_t now_ms);
  void OpenNextWave(int64_t now_ms);
  void PrestageLaterWaves();
  bool Applies(uint32_t step, uint32_t host) const;
  void SetPhase(Phase phase, std::string why);

  Job job_;
  RolloutPlan plan_;
  Env& env_;
  RolloutHeader header_;
  std::vector<std::vector<uint32_t>> stages_;  // step indexes per stage; verify is its own last
  std::vector<OnFailure> step_on_failure_;
  std::vector<std::string> step_names_;
  std::vector<Host> hosts_;
  std::map<std::string, uint32_t> index_;
  std::vector<uint32_t> wave_begin_;  // first host index of each wave (+ end sentinel)
  std::vector<uint32_t> wave_failed_, wave_done_;
  std::set<uint32_t> unreachable_;   // hosts waiting for a reconnect
  std::deque<uint32_t> back_online_;  // unreachable hosts that reconnected, to start first
  uint32_t next_in_wave_ = 0;  // next host index of the current wave to consider starting
  uint32_t active_ = 0;        // hosts of the current wave running (the concurrency window)
  uint32_t running_ = 0;       // hosts with steps in flight, any wave
  uint32_t failed_ = 0;
  int64_t hold_until_ms_ = 0;
};

}  // namespace shoal::planner::jobs
