// The operator's requests (the `shoal` CLI, authenticated with an admin certificate whose CN
// is the "who" of every audit entry): hosts, run, run status, logs, stats, join tokens, revoke,
// the audit log.
#include <capnp/message.h>

#include <algorithm>

#include "core/log.h"
#include "planner/planner.h"

namespace shoal::planner {
namespace asio = boost::asio;

namespace {
constexpr size_t kLogPageBytes = 2u << 20;

void Fail(capnp::MallocMessageBuilder& reply, const std::string& why) {
  reply.initRoot<proto::CliReply>().initFailure().setMessage(why);
}
}  // namespace

Status Planner::FillRunStatus(uint64_t run_id, bool with_results, proto::RunStatus::Builder out) {
  if (const Run* run = runs_.FindRun(run_id)) {
    runs_.FillStatus(*run, with_results && !run->is_job(), out);
    job_runs_.FillStatus(*run, with_results, out);
    return Status::Ok();
  }
  // Finished: read back from LMDB.
  auto stored = runs_.ReadStored(run_id, with_results);
  if (!stored) return Error{"no such run"};
  if (with_results && stored->run.is_job()) return job_runs_.FillStored(*stored, true, out);
  RunStore::FillStatus(*stored, with_results, out);
  return Status::Ok();
}

asio::awaitable<void> Planner::ServeCli(net::FramedSessionPtr session, net::Identity id) {
  const std::string who = id.cn;
  for (;;) {
    auto frame = co_await session->Receive();
    if (!frame) break;
    // Some replies wait for a durable commit; they reply from the commit's callback.
    auto reply = std::make_shared<capnp::MallocMessageBuilder>();
    bool deferred = false;
    auto send = [session, reply] { (void)session->Send(*reply); };
    auto handled = ReadSafely([&] {
      auto req = (*frame)->Root<proto::CliRequest>();
      // run, apply, rerun with a request id already served: that run again, not a second one.
      const auto which = req.which();
      const bool starts = which == proto::CliRequest::RUN || which == proto::CliRequest::APPLY ||
                          which == proto::CliRequest::RERUN;
      const std::string request_id = starts ? std::string(req.getRequestId()) : std::string();
      if (request_id.size() > RequestIds::kMaxIdBytes) {
        Fail(*reply,
             "request id longer than " + std::to_string(RequestIds::kMaxIdBytes) + " characters");
        return true;
      }
      if (auto known = request_id.empty() ? std::nullopt : request_ids_.Find(request_id)) {
        // The run may have finished meanwhile: FillRunStatus reads it back from LMDB.
        if (FillRunStatus(*known, false, reply->initRoot<proto::CliReply>().initRunStatus())) {
          SHOAL_LOG(Info) << who << " repeated request " << request_id << ": run " << *known;
        } else {
          Fail(*reply, "this request started run " + std::to_string(*known) + ", which is gone");
        }
        // The first request's run may still wait for its commit: reply after the next one.
        store_->Write([](lmdb::Txn&) { return Status::Ok(); }, send);
        deferred = true;
        return true;
      }
      auto remember = [&](uint64_t run_id) {
        if (!request_id.empty()) request_ids_.Remember(request_id, run_id, NowMs());
      };
      switch (which) {
        case proto::CliRequest::HOSTS: {
          auto& hosts = registry_.hosts();
          auto list = reply->initRoot<proto::CliReply>().initHosts(hosts.size());
          size_t i = 0;
          for (auto& [name, h] : hosts) {
            auto info = list[i++];
            registry_.FillInfo(h, info);
            auto stats = info.initLastStats(h.last_stats.size());
            for (size_t k = 0; k < h.last_stats.size(); ++k) {
              stats[k].setName(h.last_stats[k].first);
              stats[k].setValue(h.last_stats[k].second);
            }
            auto problems = info.initProblems(h.problems.size());
            size_t k = 0;
            for (auto& [pname, what] : h.problems) problems.set(k++, pname + " " + what);
          }
          break;
        }
        case proto::CliRequest::RUN: {
          auto run = StartRun(who, req.getRun(), send);
          if (!run) {
            Fail(*reply, run.error().message);
          } else {
            remember(*run);
            (void)FillRunStatus(*run, false, reply->initRoot<proto::CliReply>().initRunStatus());
            deferred = true;
          }
          break;
        }
        case proto::CliRequest::RUN_STATUS: {
          auto q = req.getRunStatus();
          auto status = reply->initRoot<proto::CliReply>().initRunStatus();
          if (auto s = FillRunStatus(q.getRunId(), q.getWithResults(), status); !s) {
            Fail(*reply, s.error().message);
          }
          break;
        }
        case proto::CliRequest::PLAN: {
          auto q = req.getPlan();
          auto planned = job_runs_.Plan(q.getFileName(), q.getYaml(), ReadPins(q.getArtifacts()));
          if (!planned) {
            Fail(*reply, planned.error().message);
          } else {
            JobRuns::FillPlan(*planned, reply->initRoot<proto::CliReply>().initPlan());
          }
          break;
        }
        case proto::CliRequest::APPLY: {
          auto q = req.getApply();
          auto planned = job_runs_.Plan(q.getFileName(), q.getYaml(), ReadPins(q.getArtifacts()));
          Result<uint64_t> run = planned ? job_runs_.Apply(who, std::move(*planned), send)
                                         : Result<uint64_t>(planned.error());
          if (!run) {
            Fail(*reply, run.error().message);
            break;
          }
          remember(*run);
          audit_.Record(who, "apply",
                        "run " + std::to_string(*run) + ": job " + std::string(q.getFileName()));
          (void)FillRunStatus(*run, false, reply->initRoot<proto::CliReply>().initRunStatus());
          deferred = true;
          break;
        }
        case proto::CliRequest::RERUN: {
          auto q = req.getRerun();
          auto run = job_runs_.Rerun(who, q.getRunId(), q.getFailedOnly(), send);
          if (!run) {
            Fail(*reply, run.error().message);
            break;
          }
          remember(*run);
          audit_.Record(who, "rerun",
                        "run " + std::to_string(*run) + " reruns run " +
                            std::to_string(q.getRunId()) +
                            (q.getFailedOnly() ? " (failed hosts)" : ""));
          (void)FillRunStatus(*run, false, reply->initRoot<proto::CliReply>().initRunStatus());
          deferred = true;
          break;
        }
        case proto::CliRequest::RESUME:
        case proto::CliRequest::CANCEL: {
          bool resume = req.which() == proto::CliRequest::RESUME;
          uint64_t id = resume ? req.getResume() : req.getCancel();
          Status s = resume ? job_runs_.Resume(who, id) : job_runs_.Cancel(who, id);
          if (!s) {
            Fail(*reply, "run " + std::to_string(id) + ": " + s.error().message);
            break;
          }
          audit_.Record(who, resume ? "resume" : "cancel", "run " + std::to_string(id));
          reply->initRoot<proto::CliReply>().setOk();
          break;
        }
        case proto::CliRequest::RUNS: {
          auto ids = runs_.RecentIds(50);
          auto list = reply->initRoot<proto::CliReply>().initRuns(ids.size());
          for (size_t i = 0; i < ids.size(); ++i) (void)FillRunStatus(ids[i], false, list[i]);
          break;
        }
        case proto::CliRequest::LOGS: {
          auto q = req.getLogs();
          const std::string host = q.getHost();
          uint64_t task_id = 0;
          auto pick = [&](const Task& t) {
            if (t.host == host && (q.getTaskId() == 0 || q.getTaskId() == t.id)) task_id = t.id;
          };
          if (const Run* run = runs_.FindRun(q.getRunId())) {
            for (uint64_t t : run->task_ids) {
              if (const Task* cand = runs_.FindTask(t)) pick(*cand);
            }
          } else if (auto stored = runs_.ReadStored(q.getRunId(), true, host); stored) {
            for (const auto& [id, t] : stored->tasks) pick(t);  // a finished run's
          }
          if (task_id == 0) {
            Fail(*reply, "no task of that run on that host");
            break;
          }
          bool more = false;
          auto chunks = runs_.ReadOutput(task_id, q.getFromSeq(), kLogPageBytes, &more);
          if (!chunks) {
            Fail(*reply, chunks.error().message);
            break;
          }
          auto logs = reply->initRoot<proto::CliReply>().initLogs();
          auto list = logs.initChunks(chunks->size());
          uint64_t next = q.getFromSeq();
          for (size_t i = 0; i < chunks->size(); ++i) {
            auto& c = (*chunks)[i];
            list[i].setStream(c.stream);
            list[i].setSeq(c.seq);
            list[i].setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(c.data.data()),
                                                c.data.size()));
            next = c.seq + 1;
          }
          logs.setNextSeq(next);
          logs.setMore(more);
          break;
        }
        case proto::CliRequest::STATS: {
          std::string host = req.getStats();
          if (!registry_.Find(host)) {
            Fail(*reply, "unknown host " + host);
            break;
          }
          auto recent = stats_.Recent(host);
          if (!recent) {
            Fail(*reply, recent.error().message);
            break;
          }
          auto list = reply->initRoot<proto::CliReply>().initStats(recent->size());
          for (size_t i = 0; i < recent->size(); ++i) {
            auto f = FromBytes((*recent)[i]);
            if (f) list.setWithCaveats(i, (*f)->Root<proto::StatsReport>());
          }
          break;
        }
        case proto::CliRequest::AUDIT: {
          auto q = req.getAudit();
          auto entries =
              audit_.Read(q.getSinceMs(), q.getWho(), std::min<uint32_t>(q.getLimit(), 100'000));
          if (!entries) {
            Fail(*reply, entries.error().message);
            break;
          }
          auto list = reply->initRoot<proto::CliReply>().initAudit(entries->size());
          for (size_t i = 0; i < entries->size(); ++i) {
            auto f = FromBytes((*entries)[i]);
            if (f) list.setWithCaveats(i, (*f)->Root<proto::AuditRecord>());
          }
          break;
        }
        case proto::CliRequest::JOIN_TOKEN: {
          auto q = req.getJoinToken();
          audit_.Record(who, "join-token",
                        "uses=" + std::to_string(q.getUses()) +
                            " ttl=" + std::to_string(q.getTtlSeconds()) + "s");
          join_.CreateToken(q.getTtlSeconds(), q.getUses(), [reply, send](Result<std::string> t) {
            if (t) {
              reply->initRoot<proto::CliReply>().setToken(*t);
            } else {
              Fail(*reply, t.error().message);
            }
            send();
          });
          deferred = true;
          break;
        }
        case proto::CliRequest::REVOKE: {
          std::string name = req.getRevoke();
          audit_.Record(who, "revoke", name);
          reply->initRoot<proto::CliReply>().setOk();
          join_.Revoke(name, send);
          if (Host* h = registry_.Find(name); h && h->session) h->session->Close();
          deferred = true;
          break;
        }
        default:
          Fail(*reply, "unknown request");
      }
      return true;
    });
    if (!handled) {
      SHOAL_LOG(Warn) << "dropping admin " << who << ": " << handled.error().message;
      break;
    }
    if (!deferred) send();
  }
}

}  // namespace shoal::planner
