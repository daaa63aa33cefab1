@0xc3f5a1d2e4b60718;
# The control plane: nodes <-> shoal-planner, and the operator's CLI <-> shoal-planner.
# Every connection is TLS 1.3 with length-framed messages (core/framing.h). Nodes and admins
# are identified by their client certificate (CN = name, OU = role); a connection without one
# may only send `join`.
using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("shoal::proto");
using Common = import "common.capnp";

struct KeyValue {
  key @0 :Text;
  value @1 :Text;
}

# ---- node -> planner ------------------------------------------------------------------------

struct JoinRequest {
  token @0 :Text;     # "<id>.<secret>.<ca-sha256>" from `shoal join-token`; used once
  name @1 :Text;      # the node's name: becomes its certificate's CN
  csrPem @2 :Text;
}

struct Hello {
  # Registration, sent first on every mutually authenticated connection. `name` must equal the
  # certificate's CN.
  name @0 :Text;
  address @1 :Text;
  datacenter @2 :Text;
  rack @3 :Text;
  labels @4 :List(KeyValue);
  groups @5 :List(Text);
  version @6 :Text;
  uptimeSeconds @7 :UInt64;
  bootId @8 :Text;
}

struct Heartbeat {
  uptimeSeconds @0 :UInt64;
  runningTasks @1 :UInt32;
  outboxPending @2 :UInt64;
}

enum TaskEnd {
  exited @0;       # exitCode is set
  signaled @1;     # signal is set
  timedOut @2;     # the timeout killed the process group
  interrupted @3;  # the node restarted while the task ran
  rejected @4;     # policy refused it, or it could not start; `error` says why
  cancelled @5;
  offline @6;      # planner-side: the host was not connected when the run started
  skipped @7;      # planner-side: offline when its wave started and the job says `unreachable: skip`
  lost @8;         # planner-side: the host went offline with the task in flight and stayed away past --lost-after
}

struct FetchReport {
  # What a file task moved: the node's fetcher verified SHA-256 and MD5 before installing.
  bytesFromPeers @0 :UInt64;   # payload taken from other nodes
  bytesFromOrigin @1 :UInt64;  # payload taken from the seeder
  seconds @2 :Float64;         # request to verified and installed
  sha256 @3 :Text;
  md5 @4 :Text;
  size @5 :UInt64;
  fromCache @6 :Bool;          # the node held the artifact already (e.g. pre-staged): no transfer
}

struct TaskProgress {
  # Best effort, not through the outbox: a running file task's bytes so far.
  taskId @0 :UInt64;
  done @1 :UInt64;
  total @2 :UInt64;
  rate @3 :UInt64;             # bytes/s
}

struct TaskOutput {
  taskId @0 :UInt64;
  stream @1 :UInt8;   # 1 stdout, 2 stderr
  seq @2 :UInt64;     # chunk number across both streams, from 0
  data @3 :Data;
}

struct TaskResult {
  taskId @0 :UInt64;
  end @1 :TaskEnd;
  exitCode @2 :Int32;
  signal @3 :Int32;
  startedMs @4 :Int64;
  endedMs @5 :Int64;
  stdoutBytes @6 :UInt64;
  stderrBytes @7 :UInt64;
  error @8 :Text;
  fetch @9 :FetchReport;   # file tasks only
}

struct OutboxMessage {
  # What the node's LMDB outbox stores (encoded, without frame header), delivered at least once.
  union {
    output @0 :TaskOutput;
    result @1 :TaskResult;
    stats @2 :StatsReport;   # a stats sample and its alerts (when the planner takes them here)
  }
}

struct OutboxEnvelope {
  seq @0 :UInt64;      # the outbox sequence number; the planner acks cumulatively
  payload @1 :Data;    # an encoded OutboxMessage
}

struct Metric {
  name @0 :Text;
  value @1 :Float64;
  uom @2 :Text;
}

struct AlertInfo {
  name @0 :Text;
  from @1 :Text;       # OK, WARNING, CRITICAL, UNKNOWN
  to @2 :Text;
  value @3 :Float64;
  hasValue @4 :Bool;
  text @5 :Text;
}

struct StatsReport {
  unixMs @0 :Int64;
  source @1 :Text;     # "builtin" or a plugin's name
  state @2 :Text;      # OK, WARNING, CRITICAL, UNKNOWN
  text @3 :Text;
  metrics @4 :List(Metric);
  alerts @5 :List(AlertInfo);
}

struct NodeMessage {
  union {
    join @0 :JoinRequest;
    hello @1 :Hello;
    heartbeat @2 :Heartbeat;
    outbox @3 :OutboxEnvelope;
    stats @4 :StatsReport;
    progress @5 :TaskProgress;
  }
}

# ---- planner -> node ------------------------------------------------------------------------

struct JoinReply {
  certPem @0 :Text;
  caPem @1 :Text;
}

struct Welcome {
  heartbeatIntervalMs @0 :UInt32;
  ackedSeq @1 :UInt64;   # the highest outbox seq the planner holds durably for this node
  statsInOutbox @2 :Bool;  # the planner takes stats as OutboxMessage.stats (else: NodeMessage.stats)
}

struct TaskSpec {
  taskId @0 :UInt64;
  runId @1 :UInt64;
  body @2 :Text;           # the script text; empty when storedScript is set
  storedScript @3 :Text;   # absolute path of a script on the node
  interpreter @4 :Text;    # sh, bash, python3, exec
  args @5 :List(Text);
  runAs @6 :Text;
  workingDir @7 :Text;
  env @8 :List(KeyValue);
  timeoutMs @9 :UInt64;
  fetch @10 :FetchTask;    # set: a file task (the command fields are unused)
}

struct FetchTask {
  # Fetch an artifact through the swarm, verify it and install it at `dest` (empty: into the
  # node's cache only, which is what pre-staging asks for).
  artifact @0 :Text;       # "sha256:<hex>"
  dest @1 :Text;
  mode @2 :UInt32;
  owner @3 :Text;          # "user" or "user:group"; empty: the node's own account
}

struct PlannerMessage {
  union {
    joined @0 :JoinReply;
    welcome @1 :Welcome;
    task @2 :TaskSpec;
    ack @3 :UInt64;        # cumulative: every outbox seq <= this is stored
    cancel @4 :UInt64;     # task id
    failure @5 :Common.Failure;
  }
}

# ---- CLI <-> planner ------------------------------------------------------------------------

struct RunRequest {
  targets @0 :List(Text);  # host names, group names, or label selectors "key=value"
  task @1 :TaskSpec;       # taskId and runId ignored
  waitOfflineMs @2 :UInt64;  # > 0: offline hosts' tasks wait this long for them to register
}

struct HostResult {
  host @0 :Text;
  taskId @1 :UInt64;
  done @2 :Bool;
  result @3 :TaskResult;
  step @4 :UInt32;       # index into the job's steps (JobProgress.steps); verify is the last
  wave @5 :UInt32;       # 1-based
}

struct ArtifactPin {
  # A file step's artifact, resolved by the CLI: `ref` is what the job file says (a source path
  # or a digest), `id` the content address it was pinned to.
  ref @0 :Text;
  id @1 :Text;
  size @2 :UInt64;
  md5 @3 :Text;
}

struct JobRequest {
  fileName @0 :Text;     # labels errors
  yaml @1 :Text;         # the job file's text
  artifacts @2 :List(ArtifactPin);
}

struct RerunRequest {
  runId @0 :UInt64;
  failedOnly @1 :Bool;   # hosts that failed or never ran (never one that succeeded)
}

struct WavePlan {
  hosts @0 :List(Text);
}

struct PlanReply {
  name @0 :Text;
  waves @1 :List(WavePlan);
  steps @2 :List(Text);          # "stage.step name" lines, verify last
  artifacts @3 :List(ArtifactPin);
  prestage @4 :Bool;
  excluded @5 :List(Text);       # targets removed by `exclude`
  offline @6 :List(Text);        # planned hosts not connected now
}

struct JobProgress {
  name @0 :Text;
  phase @1 :Text;        # running, paused, halted, cancelled, succeeded, failed (done with failures in budget)
  wave @2 :UInt32;       # 1-based, the current (or last) wave
  waves @3 :UInt32;
  ok @4 :UInt32;         # hosts
  failed @5 :UInt32;
  running @6 :UInt32;
  waiting @7 :UInt32;    # not started yet (incl. later waves)
  skipped @8 :UInt32;
  hosts @9 :UInt32;
  neverStarted @10 :List(Text);  # once halted or cancelled
  why @11 :Text;                 # why halted/paused
  bytesMoved @12 :UInt64;        # payload fetched by file steps so far (finished + in flight)
  rate @13 :UInt64;              # bytes/s, in flight
  pauseUntilMs @14 :Int64;       # a timed pause: when the next wave starts
  steps @15 :List(Text);
  stepNow @16 :Text;             # the step most hosts of the current wave are on
}

struct RunStatus {
  runId @0 :UInt64;
  who @1 :Text;
  createdMs @2 :Int64;
  command @3 :Text;
  total @4 :UInt32;
  done @5 :UInt32;
  ok @6 :UInt32;
  failed @7 :UInt32;
  running @8 :UInt32;
  results @9 :List(HostResult);   # only when asked for
  job @10 :JobProgress;
}

struct LogsRequest {
  runId @0 :UInt64;
  host @1 :Text;
  fromSeq @2 :UInt64;
  taskId @3 :UInt64;     # nonzero: this task of the run (a job run has one per step and host)
}

struct LogChunk {
  stream @0 :UInt8;
  seq @1 :UInt64;
  data @2 :Data;
}

struct LogsReply {
  chunks @0 :List(LogChunk);
  nextSeq @1 :UInt64;
  more @2 :Bool;
}

struct HostInfo {
  name @0 :Text;
  address @1 :Text;
  datacenter @2 :Text;
  rack @3 :Text;
  labels @4 :List(KeyValue);
  groups @5 :List(Text);
  online @6 :Bool;
  version @7 :Text;
  lastSeenMs @8 :Int64;
  uptimeSeconds @9 :UInt64;
  reboots @10 :UInt32;
  firstSeenMs @11 :Int64;
  ackedSeq @12 :UInt64;
  bootId @13 :Text;
  lastStats @14 :List(Metric);   # the latest built-in metrics
  problems @15 :List(Text);      # services/metrics not OK: "name STATE text"
}

struct CliRequest {
  union {
    hosts @0 :Void;
    run @1 :RunRequest;
    runStatus @2 :RunQuery;
    logs @3 :LogsRequest;
    stats @4 :Text;              # host name
    joinToken @5 :JoinTokenRequest;
    revoke @6 :Text;             # node name
    runs @7 :Void;               # recent runs, newest first
    plan @8 :JobRequest;         # expand a job against the fleet; touches nothing
    apply @9 :JobRequest;        # start a job run
    resume @10 :UInt64;          # a run paused at `pause: manual`
    cancel @11 :UInt64;
    rerun @12 :RerunRequest;
    audit @14 :AuditQuery;       # the audit log, oldest first
  }
  # run, apply, rerun: a key the client chose (at most 64 characters). The planner remembers it
  # durably with the run it started, so a client that lost its connection before the reply can
  # send the same request again and gets that run back instead of a second one.
  requestId @13 :Text;
}

struct AuditQuery {
  sinceMs @0 :Int64;         # entries at or after this (unix ms); 0: all kept
  who @1 :Text;              # only this certificate CN (empty: everyone)
  limit @2 :UInt32 = 100;    # the newest this many of those
}

struct RunQuery {
  runId @0 :UInt64;
  withResults @1 :Bool;
}

struct JoinTokenRequest {
  ttlSeconds @0 :UInt32 = 3600;
  uses @1 :UInt32 = 1;
}

struct CliReply {
  union {
    failure @0 :Common.Failure;
    hosts @1 :List(HostInfo);
    runStatus @2 :RunStatus;
    logs @3 :LogsReply;
    stats @4 :List(StatsReport);
    token @5 :Text;
    ok @6 :Void;
    runs @7 :List(RunStatus);
    plan @8 :PlanReply;
    audit @9 :List(AuditRecord);
  }
}

# ---- planner's LMDB records -----------------------------------------------------------------

struct HostRecord {
  info @0 :HostInfo;     # without lastStats/problems/online
}

struct RunRecord {
  runId @0 :UInt64;
  who @1 :Text;
  createdMs @2 :Int64;
  targets @3 :List(Text);
  task @4 :TaskSpec;     # the template (taskId 0)
  hosts @5 :List(Text);     # ad-hoc runs: the hosts; job runs: unused (see plan)
  taskIds @6 :List(UInt64);
  job @7 :JobRecord;        # set for job runs
  firstTaskId @8 :UInt64;   # no task of this run has a lower id (job runs add tasks later)
  waitOfflineUntilMs @9 :Int64;  # ad-hoc --wait-offline: offline hosts' tasks fail after this
  # Set once the run finished (then it lives only here, not in the planner's memory):
  finishedMs @10 :Int64;
  summary @11 :RunStatus;   # its final status, without per-host results
  dataBytes @12 :UInt64;    # about how many bytes of records and output it holds (retention)
}

struct JobRecord {
  fileName @0 :Text;
  yaml @1 :Text;
  artifacts @2 :List(ArtifactPin);
  hosts @3 :List(Text);            # every host of the run, in wave order
  datacenters @4 :List(Text);      # parallel to hosts (for the display)
  waveSizes @5 :List(UInt32);
  stepHosts @6 :List(StepHosts);   # per step: which hosts it applies to (`on:`)
  rerunOf @7 :UInt64;
  prestage @8 :Bool;
}

struct StepHosts {
  all @0 :Bool;
  indexes @1 :List(UInt32);        # into JobRecord.hosts, when not all
}

struct RunHeader {
  # A job run's mutable position, rewritten as it moves (key: "run-header" + run id in meta).
  phase @0 :Text;
  wave @1 :UInt32;                 # 0-based
  pauseUntilMs @2 :Int64;
  why @3 :Text;
  waveStartedMs @4 :Int64;
}

struct TaskRecord {
  taskId @0 :UInt64;
  runId @1 :UInt64;
  host @2 :Text;
  done @3 :Bool;
  result @4 :TaskResult;
  step @5 :UInt32;          # job runs: the step (see rollout.h for the special values)
  sent @6 :Bool;            # --wait-offline runs: the task reached its host (never "offline")
}

struct AuditRecord {
  unixMs @0 :Int64;
  who @1 :Text;
  action @2 :Text;
  detail @3 :Text;
}
