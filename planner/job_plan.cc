#include "planner/job_plan.h"

#include <algorithm>
#include <set>

#include "core/framing.h"
#include "planner/jobs/job_file.h"
#include "planner/jobs/waves.h"

namespace shoal::planner {

std::vector<ArtifactPin> ReadPins(capnp::List<proto::ArtifactPin>::Reader pins) {
  std::vector<ArtifactPin> out;
  for (auto p : pins) out.push_back({p.getRef(), p.getId(), p.getMd5(), p.getSize()});
  return out;
}

void WritePins(const std::vector<ArtifactPin>& pins,
               capnp::List<proto::ArtifactPin>::Builder out) {
  for (size_t i = 0; i < pins.size(); ++i) {
    out[i].setRef(pins[i].ref);
    out[i].setId(pins[i].id);
    out[i].setMd5(pins[i].md5);
    out[i].setSize(pins[i].size);
  }
}

namespace {

// Sets every file step's artifact from the pins; errors name the step.
Status ResolveArtifacts(const std::string& file_name, jobs::Job& job,
                        const std::vector<ArtifactPin>& pins) {
  for (size_t s = 0; s < job.stages.size(); ++s) {
    for (auto& step : job.stages[s].steps) {
      if (step.kind != jobs::Step::Kind::kFile) continue;
      const std::string& ref = step.file.source.empty() ? step.file.artifact : step.file.source;
      auto pin = std::find_if(pins.begin(), pins.end(), [&](auto& p) { return p.ref == ref; });
      if (pin != pins.end()) {
        step.file.artifact = pin->id;
      } else if (!step.file.source.empty()) {
        return Error{file_name + ":" + std::to_string(step.pos.line) + ":" +
                     std::to_string(step.pos.column) + ": " + step.name + ": source " + ref +
                     " was not put to the seeder (`shoal apply` puts it)"};
      }
    }
  }
  return Status::Ok();
}

Result<std::set<std::string>> Names(Registry& registry, const std::vector<std::string>& targets,
                                    const std::string& field) {
  std::set<std::string> out;
  for (size_t i = 0; i < targets.size(); ++i) {
    auto hosts = registry.Select({targets[i]});
    if (!hosts) return Error{field + "[" + std::to_string(i) + "]: " + hosts.error().message};
    for (Host* h : *hosts) out.insert(h->name);
  }
  return out;
}

}  // namespace

Result<PlannedJob> PlanJob(Registry& registry, const std::string& file_name,
                           const std::string& yaml, std::vector<ArtifactPin> pins,
                           const std::optional<std::vector<std::string>>& only_hosts) {
  auto job = jobs::ParseJob(yaml, file_name);
  if (!job) return job.error();
  PlannedJob out;
  out.file_name = file_name;
  out.yaml = yaml;
  out.pins = std::move(pins);
  if (auto s = ResolveArtifacts(file_name, *job, out.pins); !s) return s.error();
  out.job = std::move(*job);
  const jobs::Job& j = out.job;

  auto targets = Names(registry, j.targets, file_name + ": targets");
  if (!targets) return targets.error();
  auto excluded = Names(registry, j.exclude, file_name + ": exclude");
  if (!excluded) return excluded.error();
  std::vector<jobs::HostRef> refs;
  if (only_hosts) {  // a rerun: exactly these hosts, whatever the targets select today
    for (const auto& name : *only_hosts) {
      if (Host* h = registry.Find(name)) refs.push_back({name, h->datacenter});
    }
  } else {
    for (const auto& name : *targets) {
      if (excluded->count(name)) {
        out.excluded.push_back(name);
        continue;
      }
      refs.push_back({name, registry.Find(name)->datacenter});
    }
  }
  if (refs.empty()) return Error{file_name + ": no hosts left to run on"};
  auto spec = jobs::ParseWaves(j.waves);
  if (!spec) return Error{file_name + ": waves: " + spec.error().message};
  auto waves = jobs::PlanWaves(*spec, j.name, refs);
  if (!waves) return Error{file_name + ": waves: " + waves.error().message};
  std::map<std::string, uint32_t> index;
  for (const auto& wave : *waves) {
    out.plan.wave_sizes.push_back(static_cast<uint32_t>(wave.size()));
    for (const auto& name : wave) {
      index[name] = static_cast<uint32_t>(out.plan.hosts.size());
      out.plan.hosts.push_back(name);
      Host* h = registry.Find(name);
      out.datacenters.push_back(h ? h->datacenter : "");
      if (h && !h->online) out.offline.push_back(name);
    }
  }

  // Which hosts each step runs on (`on:` narrows the job's hosts); verify runs everywhere.
  bool big = false;
  std::set<std::string> artifacts;
  for (size_t s = 0; s < j.stages.size(); ++s) {
    for (const auto& step : j.stages[s].steps) {
      if (step.on.empty()) {
        out.plan.step_hosts.push_back(std::nullopt);
      } else {
        auto on = Names(registry, step.on, file_name + ": " + step.name + ": on");
        if (!on) return on.error();
        std::vector<uint32_t> list;
        for (const auto& name : *on) {
          if (auto it = index.find(name); it != index.end()) list.push_back(it->second);
        }
        std::sort(list.begin(), list.end());
        out.plan.step_hosts.push_back(std::move(list));
      }
      if (step.kind == jobs::Step::Kind::kFile && !step.file.artifact.empty()) {
        artifacts.insert(step.file.artifact);
        for (const auto& p : out.pins) {
          if (p.id == step.file.artifact && p.size > jobs::kPrestageDefaultBytes) big = true;
        }
      }
    }
  }
  if (j.verify) out.plan.step_hosts.push_back(std::nullopt);
  out.prestage = j.prestage.value_or(big) && !artifacts.empty() && out.plan.wave_sizes.size() > 1;
  if (out.prestage) out.plan.artifacts.assign(artifacts.begin(), artifacts.end());
  return out;
}

void ToRecord(const PlannedJob& p, proto::JobRecord::Builder r) {
  r.setFileName(p.file_name);
  r.setYaml(p.yaml);
  WritePins(p.pins, r.initArtifacts(p.pins.size()));
  auto hosts = r.initHosts(p.plan.hosts.size());
  auto dcs = r.initDatacenters(p.datacenters.size());
  for (size_t i = 0; i < p.plan.hosts.size(); ++i) hosts.set(i, p.plan.hosts[i]);
  for (size_t i = 0; i < p.datacenters.size(); ++i) dcs.set(i, p.datacenters[i]);
  auto sizes = r.initWaveSizes(p.plan.wave_sizes.size());
  for (size_t i = 0; i < p.plan.wave_sizes.size(); ++i) sizes.set(i, p.plan.wave_sizes[i]);
  auto steps = r.initStepHosts(p.plan.step_hosts.size());
  for (size_t i = 0; i < p.plan.step_hosts.size(); ++i) {
    const auto& on = p.plan.step_hosts[i];
    steps[i].setAll(!on.has_value());
    if (on) {
      auto list = steps[i].initIndexes(on->size());
      for (size_t k = 0; k < on->size(); ++k) list.set(k, (*on)[k]);
    }
  }
  r.setRerunOf(p.rerun_of);
  r.setPrestage(p.prestage);
}

Result<PlannedJob> FromRecord(proto::JobRecord::Reader r) {
  PlannedJob p;
  p.file_name = r.getFileName();
  p.yaml = r.getYaml();
  p.pins = ReadPins(r.getArtifacts());
  auto job = jobs::ParseJob(p.yaml, p.file_name);
  if (!job) return job.error();
  if (auto s = ResolveArtifacts(p.file_name, *job, p.pins); !s) return s.error();
  p.job = std::move(*job);
  for (auto h : r.getHosts()) p.plan.hosts.emplace_back(h);
  for (auto d : r.getDatacenters()) p.datacenters.emplace_back(d);
  for (auto s : r.getWaveSizes()) p.plan.wave_sizes.push_back(s);
  for (auto s : r.getStepHosts()) {
    if (s.getAll()) {
      p.plan.step_hosts.push_back(std::nullopt);
    } else {
      std::vector<uint32_t> list;
      for (uint32_t i : s.getIndexes()) list.push_back(i);
      p.plan.step_hosts.push_back(std::move(list));
    }
  }
  p.rerun_of = r.getRerunOf();
  p.prestage = r.getPrestage();
  if (p.prestage) {
    std::set<std::string> artifacts;
    for (const auto& stage : p.job.stages) {
      for (const auto& step : stage.steps) {
        if (step.kind == jobs::Step::Kind::kFile) artifacts.insert(step.file.artifact);
      }
    }
    p.plan.artifacts.assign(artifacts.begin(), artifacts.end());
  }
  return p;
}

namespace {
void FillCommand(const jobs::CommandStep& c, proto::TaskSpec::Builder t) {
  t.setBody(c.run);
  t.setStoredScript(c.script);
  t.setInterpreter(c.interpreter.empty() ? "sh" : c.interpreter);
  auto args = t.initArgs(c.args.size());
  for (size_t i = 0; i < c.args.size(); ++i) args.set(i, c.args[i]);
  t.setRunAs(c.run_as);
  t.setWorkingDir(c.cwd);
  auto env = t.initEnv(c.env.size());
  for (size_t i = 0; i < c.env.size(); ++i) {
    env[i].setKey(c.env[i].first);
    env[i].setValue(c.env[i].second);
  }
  t.setTimeoutMs(static_cast<uint64_t>(c.timeout.count()));
}

std::string Encode(const std::function<void(proto::TaskSpec::Builder)>& fill) {
  capnp::MallocMessageBuilder message;
  fill(message.initRoot<proto::TaskSpec>());
  return FlatMessageBytes(message);
}
}  // namespace

std::map<uint32_t, std::string> StepSpecs(const PlannedJob& p) {
  std::map<uint32_t, std::string> specs;
  uint32_t index = 0;
  for (const auto& stage : p.job.stages) {
    for (const auto& step : stage.steps) {
      specs[index++] = Encode([&](proto::TaskSpec::Builder t) {
        if (step.kind == jobs::Step::Kind::kCommand) {
          FillCommand(step.command, t);
          return;
        }
        auto f = t.initFetch();
        f.setArtifact(step.file.artifact);
        f.setDest(step.file.dest);
        f.setMode(step.file.mode);
        f.setOwner(step.file.owner);
      });
    }
  }
  if (p.job.verify) {
    specs[index] = Encode([&](proto::TaskSpec::Builder t) { FillCommand(*p.job.verify, t); });
  }
  for (uint32_t a = 0; a < p.plan.artifacts.size(); ++a) {
    specs[jobs::kPrestage + a] = Encode([&](proto::TaskSpec::Builder t) {
      t.initFetch().setArtifact(p.plan.artifacts[a]);  // no dest: into the cache only
    });
  }
  return specs;
}

}  // namespace shoal::planner
