#include <algorithm>
#include <set>

#include "core/io.hpp"
#include "core/units.hpp"
#include "match/emit.hpp"
#include "match/emit_dra.hpp"
#include "match/match.hpp"
#include "match/node.hpp"
#include "match/payload.hpp"
#include "match/placement.hpp"
#include "match/plan.hpp"
#include "match/report.hpp"
#include "match/requirements.hpp"
#include "match/rules.hpp"
#include "match/tables.hpp"

namespace gpukit {

json RequirementFlags::to_object() const {
  json j = json::object();
  if (gpus) j["gpus"] = *gpus;
  if (vendor) j["vendor"] = *vendor;
  if (min_compute_capability) j["min_compute_capability"] = *min_compute_capability;
  if (max_compute_capability) j["max_compute_capability"] = *max_compute_capability;
  if (!amd_targets.empty()) j["amd_targets"] = amd_targets;
  if (gpu_memory) j["gpu_memory_bytes"] = *gpu_memory;
  if (mig) j["mig"] = *mig;
  if (!mig_profiles.empty()) j["mig_profiles"] = mig_profiles;
  if (mig_min_slice) j["mig_min_slice"] = *mig_min_slice;
  if (cuda_runtime) j["cuda_runtime"] = *cuda_runtime;
  if (hip_runtime) j["hip_runtime"] = *hip_runtime;
  if (no_minor_version_compatibility) j["minor_version_compatibility"] = false;
  if (no_ptx_jit) j["ptx_jit"] = false;
  if (min_fp64_tflops) j["min_fp64_tflops"] = *min_fp64_tflops;
  if (min_fp64_fp32_ratio) j["min_fp64_fp32_ratio"] = *min_fp64_fp32_ratio;
  if (min_score) j["min_score"] = *min_score;
  if (exclusive) j["exclusive"] = true;
  if (cores_per_gpu) j["cores_per_gpu"] = *cores_per_gpu;
  if (cores) j["cores"] = *cores;
  if (memory_per_core) j["memory_per_core_bytes"] = *memory_per_core;
  if (memory) j["memory_bytes"] = *memory;
  if (pinned_memory_per_gpu) j["pinned_memory_per_gpu_bytes"] = *pinned_memory_per_gpu;
  if (numa_local) j["numa_local"] = true;
  return j;
}

namespace {

constexpr const char* tool = "gpumatch";

Status check_combinations(const MatchOptions& o, bool have_flags) {
  const std::string& f = o.common.format;
  if (o.require && o.jobs) return usage_error("give --require or --jobs, not both", "--jobs");
  if (o.jobs && have_flags) return usage_error("requirement flags apply to --require, not to a --jobs list", "--jobs");
  if (o.plan && o.jobs) return usage_error("--plan takes one job profile (--require or flags), not --jobs", "--plan");
  if (!o.emit.empty() && o.jobs) return usage_error("--emit translates one requirement, not a --jobs list", "--emit");
  if (o.require && *o.require == "-" && (!o.common.input || *o.common.input == "-"))
    return usage_error("--require - reads standard input, so the node document must come from --input FILE", "--require");
  if ((f == "condor" || f == "slurm") && !o.plan)
    return usage_error("--format " + f + " writes slot configuration and needs --plan (for submit commands use --emit condor)",
                       "--format");
  if ((o.share || o.slurm_autodetect != "off") && f != "slurm")
    return usage_error("--share and --slurm-autodetect shape --plan --format slurm", o.share ? "--share" : "--slurm-autodetect");
  if (f == "env" && o.plan) return usage_error("--format env prints a placement, not a plan", "--format");
  if (o.job && !o.jobs) return usage_error("--job selects from a --jobs list", "--job");
  if (o.cpu_job_cores < 1) return usage_error("must be >= 1", "--cpu-job-cores");
  if (o.condor_share && (!o.plan || f != "condor"))
    return usage_error("--condor-share shapes an HTCondor slot plan: give it with --plan --format condor", "--condor-share");
  return {};
}

Result<std::vector<Requirements>> read_jobs(const MatchOptions& o, const json& flags,
                                            const std::vector<PayloadInfo>& cli_payloads) {
  if (o.jobs) {
    auto text = read_input_file(*o.jobs, o.common.limits.max_bytes);
    if (!text) return text.error();
    return parse_jobs_text(*text, *o.jobs);
  }
  json object = json::object();
  std::string origin = "command line";
  if (o.require) {
    origin = *o.require == "-" ? "<stdin>" : *o.require;
    auto text = read_input_file(*o.require, o.common.limits.max_bytes);
    if (!text) return text.error();
    auto parsed = parse_json_text(*text, origin);
    if (!parsed) return parsed.error();
    object = std::move(*parsed);
    if (!object.is_object()) return usage_error("a requirement must be a JSON object", origin + ": /");
  }
  for (const auto& [k, v] : flags.items()) object[k] = v;
  // A payload with GPU code implies a GPU job.
  bool gpu_code = std::any_of(cli_payloads.begin(), cli_payloads.end(),
                              [](const auto& p) { return p.has_cuda_code() || p.has_hip_code(); });
  if (!object.contains("gpus") && gpu_code) object["gpus"] = 1;
  auto r = parse_requirements(object, flags.empty() ? origin : (o.require ? origin + " + flags" : origin));
  if (!r) return r.error();
  return std::vector<Requirements>{std::move(*r)};
}

Result<std::vector<PayloadInfo>> inspect_all(const std::vector<std::string>& paths) {
  std::vector<PayloadInfo> out;
  std::set<std::string> seen;
  for (const auto& p : paths) {
    if (!seen.insert(p).second) continue;
    auto info = inspect_payload(p);
    if (!info) return info.error();
    out.push_back(std::move(*info));
  }
  return out;
}

std::vector<PayloadInfo> payloads_of(const Requirements& job, const std::vector<PayloadInfo>& cli,
                                     const std::vector<PayloadInfo>& all) {
  std::vector<PayloadInfo> out = cli;
  for (const auto& path : job.payloads)
    for (const auto& p : all)
      if (p.path == path && std::none_of(out.begin(), out.end(), [&](const auto& x) { return x.path == path; }))
        out.push_back(p);
  return out;
}

}  // namespace

Result<int> run_match(MatchOptions& o) {
  json flags = o.flags.to_object();
  if (auto st = check_combinations(o, !flags.empty()); !st) return st.error();
  auto tables = CompatTables::load_default();
  if (!tables) return tables.error();

  auto cli_payloads = inspect_all(o.payloads);
  if (!cli_payloads) return cli_payloads.error();

  bool inspect_only = !o.payloads.empty() && !o.require && !o.jobs && flags.empty() && !o.plan && o.emit.empty();

  if (!o.emit.empty()) {
    auto jobs = read_jobs(o, flags, *cli_payloads);
    if (!jobs) return jobs.error();
    std::string text;
    if (o.emit == "k8s-dra") {
      auto hardware = load_hardware_catalogue();
      if (!hardware) return hardware.error();
      auto claim = emit_k8s_dra(jobs->front(), *tables, *hardware);
      if (!claim) return claim.error();
      text = std::move(*claim);
    } else {
      text = o.emit == "condor"  ? emit_condor(jobs->front())
             : o.emit == "panda" ? emit_panda(jobs->front())
                                 : emit_k8s(jobs->front());
    }
    if (auto st = write_output(text, o.common.output); !st) return st.error();
    return 0;
  }

  auto doc = read_document(o.common.input, o.common.limits);
  if (!doc) return doc.error();
  if (inspect_only && !*doc) {
    json payloads = json::array();
    for (const auto& p : *cli_payloads) payloads.push_back(to_json(p));
    std::string text;
    if (o.common.format == "table") {
      text = render_payloads_table(payloads);
    } else if (o.common.format == "json") {
      json listing = {{"schema", "gpukit-payloads/1"}, {"generator", generator_stamp(tool)}, {"payloads", payloads}};
      text = dump_json(listing, 2) + "\n";
    } else {
      return usage_error("a payload listing is json or table", "--format");
    }
    if (auto st = write_output(text, o.common.output); !st) return st.error();
    return 0;
  }

  auto jobs = read_jobs(o, flags, *cli_payloads);
  if (!jobs) return jobs.error();
  std::vector<std::string> job_paths;
  for (const auto& j : *jobs) job_paths.insert(job_paths.end(), j.payloads.begin(), j.payloads.end());
  auto job_payloads = inspect_all(job_paths);
  if (!job_payloads) return job_payloads.error();

  Document document;
  if (*doc) {
    document = std::move(**doc);
  }
  if (!document.has("gpus") || !document.has("cpu")) {
    if (!o.probe)
      return environment_error("the node document lacks the gpuprobe sections and this build cannot probe; pipe gpuprobe into gpumatch or give --input");
    if (auto st = o.probe(document); !st) return st.error();
  }
  std::string origin = o.common.input ? (*o.common.input == "-" ? "<stdin>" : *o.common.input) : "<stdin>";
  auto node = read_node(document, *tables, origin);
  if (!node) return node.error();
  std::optional<CondorShare> condor_share;
  if (o.condor_share) {
    auto share = parse_condor_share(*o.condor_share);
    if (!share) return share.error();
    share_devices(*node, *share);
    condor_share = *share;
  }

  json match = json::object();
  match["generator"] = generator_stamp(tool);
  match["time"] = utc_timestamp();
  match["mode"] = o.plan ? "plan" : o.jobs ? "jobs" : "match";
  match["strict"] = o.strict;
  json all_payloads = json::array();
  for (const auto& p : *cli_payloads) all_payloads.push_back(to_json(p));
  for (const auto& p : *job_payloads) all_payloads.push_back(to_json(p));
  match["payloads"] = std::move(all_payloads);

  Placer placer(*node);
  json jobs_json = json::array();
  bool all_fit = true;
  std::vector<JobPlacement> placements;
  std::optional<SlotPlan> plan;
  for (const auto& job : *jobs) {
    auto payloads = payloads_of(job, *cli_payloads, *job_payloads);
    MatchContext ctx{*tables, *node, payloads, o.strict};
    std::vector<DeviceVerdict> verdicts;
    if (job.gpu_job()) verdicts = evaluate_devices(job, ctx);
    json j = json::object();
    j["requirements"] = to_json(job);
    json devices = json::array();
    for (const auto& v : verdicts) devices.push_back(to_json(v));
    j["devices"] = std::move(devices);
    if (o.plan) {
      PlanOptions po;
      po.cpu_job_cores = o.cpu_job_cores;
      po.condor_share = condor_share;
      if (o.cpu_memory_per_core) {
        auto b = parse_bytes(*o.cpu_memory_per_core);
        if (!b) return usage_error("\"" + *o.cpu_memory_per_core + "\" is not a size", "--cpu-memory-per-core");
        po.cpu_memory_per_core_bytes = *b;
      }
      plan = plan_slots(job, po, *node, verdicts);
      bool fits = job.gpu_job() ? !plan->gpu_slots.empty() : plan->cpu_slots > 0;
      j["fits"] = fits;
      j["placement"] = plan->gpu_slots.empty() ? json(nullptr) : to_json(plan->gpu_slots.front());
      all_fit = fits;
    } else {
      JobPlacement p = placer.place(job, verdicts);
      j["fits"] = p.placed;
      j["placement"] = to_json(p);
      all_fit = all_fit && p.placed;
      placements.push_back(std::move(p));
    }
    jobs_json.push_back(std::move(j));
  }
  match["jobs"] = std::move(jobs_json);
  match["fits"] = all_fit;
  if (plan) match["plan"] = to_json(*plan);

  std::string text;
  const std::string& f = o.common.format;
  if (f == "json") {
    document.set_section("match", match);
    text = document.dump();
  } else if (f == "table") {
    text = render_match_table(match);
  } else if (f == "env") {
    const JobPlacement* chosen = nullptr;
    if (o.job) {
      for (const auto& p : placements)
        if (p.job == *o.job) chosen = &p;
      if (!chosen) return usage_error("no job named \"" + *o.job + "\" in the list", "--job");
    } else if (placements.size() == 1) {
      chosen = &placements.front();
    } else {
      return usage_error("--format env prints one job: name it with --job", "--format");
    }
    if (chosen->placed) {
      text = render_env(*chosen);
    } else {
      text = "# gpumatch: " + (chosen->job.empty() ? std::string("the job") : chosen->job) + " does not fit this node\n";
      if (auto st = write_output(text, o.common.output); !st) return st.error();
      return static_cast<int>(ExitCode::negative);
    }
  } else if (f == "condor") {
    text = render_plan_condor(*plan, *node);
  } else if (f == "slurm") {
    auto slurm_options = parse_slurm_options(o.slurm_autodetect, o.share);
    if (!slurm_options) return slurm_options.error();
    auto model = read_node_model(document, "node document");
    if (!model) return model.error();
    text = render_plan_slurm(*plan, *node, *model, *slurm_options);
  }
  if (auto st = write_output(text, o.common.output); !st) return st.error();
  return all_fit ? 0 : static_cast<int>(ExitCode::negative);
}

}  // namespace gpukit
