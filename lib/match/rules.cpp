#include "match/rules.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/units.hpp"

namespace gpukit {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::pass: return "pass";
    case Outcome::fail: return "fail";
    case Outcome::unknown: return "unknown";
  }
  return "?";
}

namespace {

RuleResult pass(std::string rule, std::string reason) { return {std::move(rule), Outcome::pass, std::move(reason)}; }
RuleResult fail(std::string rule, std::string reason) { return {std::move(rule), Outcome::fail, std::move(reason)}; }
RuleResult unknown(std::string rule, std::string reason) { return {std::move(rule), Outcome::unknown, std::move(reason)}; }

std::string cc_string(int major, int minor) { return std::to_string(major) + "." + std::to_string(minor); }

std::string tflops(double v) {
  std::ostringstream s;
  s.precision(v < 10 ? 3 : 4);
  s << v;
  return s.str() + " TFLOP/s";
}

std::string join(const std::vector<std::string>& parts, const std::string& sep = ", ") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string driver_words(const NodeFacts& node) {
  std::string s = "driver " + (node.nvidia_driver ? node.nvidia_driver->raw : std::string("(version unknown)"));
  if (node.nvidia_cuda)
    s += " provides CUDA " + node.nvidia_cuda->short_string() +
         (node.nvidia_cuda_source == "driver table" ? " (from the driver table)" : "");
  return s;
}

std::string ptx_isa_string(const CudaCodeEntry& e) {
  return std::to_string(e.ptx_isa_major.value_or(0)) + "." + std::to_string(e.ptx_isa_minor.value_or(0));
}

// Rules whose input the node lacks or whose driver is missing.
std::optional<RuleResult> nvidia_driver_problem(const NodeFacts& node, const std::string& rule) {
  if (node.nvidia_status.empty()) return unknown(rule, "the node document has no NVIDIA driver information");
  if (node.nvidia_status != "ok")
    return fail(rule, "NVIDIA driver " + node.nvidia_status + (node.nvidia_reason.empty() ? "" : ": " + node.nvidia_reason));
  if (!node.nvidia_cuda) return unknown(rule, "the driver's CUDA version is unknown");
  return std::nullopt;
}

}  // namespace

RuleResult rule_cuda_runtime(const Version& runtime, const std::string& what, const NodeFacts& node,
                             const CompatTables& tables, bool mvc) {
  const std::string rule = "cuda_runtime";
  if (auto problem = nvidia_driver_problem(node, rule)) return *problem;
  const Version& provided = *node.nvidia_cuda;
  bool minor_known = runtime.parts.size() >= 2;
  std::string runtime_words = what + " (CUDA " + (minor_known ? runtime.short_string() : std::to_string(runtime.major()) + ".x") + ")";
  if (minor_known && provided.major() > runtime.major())
    return pass(rule, driver_words(node) + ", enough for " + runtime_words);
  if (minor_known && provided.major() == runtime.major() && provided.minor() >= runtime.minor())
    return pass(rule, driver_words(node) + ", enough for " + runtime_words);
  if (!minor_known && provided.major() >= runtime.major())
    return pass(rule, driver_words(node) + ", enough for " + runtime_words);
  const MvcFloor* floor = tables.mvc_floor(runtime.major());
  const ToolkitRow* row = minor_known ? tables.toolkit(runtime) : nullptr;
  std::string full = row ? "CUDA " + runtime.short_string() + " needs driver >= " + row->min_driver.raw : "";
  if (floor && node.nvidia_driver && floor->covers(*node.nvidia_driver)) {
    if (mvc || !minor_known)
      return pass(rule, driver_words(node) + "; " + runtime_words + " runs by minor version compatibility (driver >= " +
                            floor->min_driver.raw + ", the CUDA " + std::to_string(runtime.major()) +
                            " floor), without features newer than the driver" + (full.empty() ? "" : "; " + full + " for all"));
    return fail(rule, driver_words(node) + ", older than " + runtime_words + "; the job does not accept minor version compatibility" +
                          (full.empty() ? "" : "; " + full));
  }
  std::string need = floor ? "needs driver >= " + floor->min_driver.raw + " (the CUDA " + std::to_string(runtime.major()) +
                                 " minor-version-compatibility floor)"
                           : "has no known driver floor";
  return fail(rule, driver_words(node) + "; " + runtime_words + " " + need + (full.empty() ? "" : "; " + full));
}

RuleResult rule_cuda_code(const PayloadInfo& payload, const NodeDevice& device, const NodeFacts& node,
                          const CompatTables& tables, bool ptx_jit) {
  const std::string rule = "payload_code";
  const std::string file = payload.path;
  if (!device.cc_major || !device.cc_minor)
    return unknown(rule, file + ": the device's compute capability is unknown");
  int M = *device.cc_major, m = *device.cc_minor;
  std::string cc = cc_string(M, m);
  std::vector<std::string> sass_seen, ptx_problems;
  for (const auto& e : payload.cuda) {
    if (e.kind != "sass") continue;
    sass_seen.push_back(e.target());
    const SuffixRule* s = tables.suffix(e.suffix);
    ArchRule r = s ? s->sass : ArchRule::exact;
    if (arch_rule_allows(r, e.cc_major(), e.cc_minor(), M, m))
      return pass(rule, file + ": " + e.target() + " SASS runs on CC " + cc);
  }
  std::sort(sass_seen.begin(), sass_seen.end());
  sass_seen.erase(std::unique(sass_seen.begin(), sass_seen.end()), sass_seen.end());
  std::string no_sass = "no SASS for sm_" + std::to_string(M * 10 + m) +
                        (sass_seen.empty() ? "" : " (has " + join(sass_seen) + ")");
  // The driver JIT-compiles the newest PTX it accepts; try them all.
  std::optional<RuleResult> jit_ok;
  for (const auto& e : payload.cuda) {
    if (e.kind != "ptx") continue;
    const SuffixRule* s = tables.suffix(e.suffix);
    ArchRule r = s ? s->ptx : ArchRule::exact;
    if (!arch_rule_allows(r, e.cc_major(), e.cc_minor(), M, m)) {
      ptx_problems.push_back(e.target() + " cannot target CC " + cc);
      continue;
    }
    std::string isa = ptx_isa_string(e);
    const PtxRow* row = tables.ptx(*Version::parse(isa));
    if (!row) {
      ptx_problems.push_back(e.target() + " PTX is ISA " + isa + ", which the PTX table does not know");
      continue;
    }
    std::string ptx_words = "the payload's PTX " + e.target() + " is ISA " + isa + " (CUDA " + row->cuda.short_string() + ")";
    if (!node.nvidia_cuda) {
      ptx_problems.push_back(ptx_words + ", and the driver's CUDA version is unknown");
      continue;
    }
    if (*node.nvidia_cuda < row->cuda) {
      ptx_problems.push_back(driver_words(node) + "; " + ptx_words + ": JIT impossible");
      continue;
    }
    if (!ptx_jit) {
      ptx_problems.push_back(ptx_words + " would need JIT compilation, which the job does not accept (ptx_jit: false)");
      continue;
    }
    jit_ok = pass(rule, file + ": " + no_sass + "; " + ptx_words + " JIT-compiles under " + driver_words(node));
  }
  if (jit_ok) return *jit_ok;
  if (ptx_problems.empty()) ptx_problems.push_back("no PTX for CC <= " + cc);
  // Unknown PTX versions leave the question open rather than closed.
  bool only_unknown_isa = std::all_of(ptx_problems.begin(), ptx_problems.end(),
                                      [](const std::string& p) { return p.find("does not know") != std::string::npos; });
  std::string reason = file + ": " + join(ptx_problems, "; ") + "; " + no_sass;
  return only_unknown_isa ? unknown(rule, reason) : fail(rule, reason);
}

Outcome amd_target_loads(const std::string& code_target, const NodeDevice& device, const CompatTables& tables,
                         std::string& why) {
  auto code = parse_amd_target_id(code_target);
  if (!code) {
    why = code_target + " is not an AMD target id";
    return Outcome::fail;
  }
  if (!device.gfx) {
    why = "the device's gfx target is unknown";
    return Outcome::unknown;
  }
  std::string device_target = device.target_id.value_or(*device.gfx);
  auto dev = parse_amd_target_id(device_target);
  if (!dev) dev = parse_amd_target_id(*device.gfx);
  if (!dev) {
    why = "the device's target id " + device_target + " is not readable";
    return Outcome::unknown;
  }
  bool processor_ok = code->processor == dev->processor;
  std::string via;
  if (!processor_ok) {
    if (const GenericTarget* g = tables.generic(code->processor)) {
      processor_ok = std::find(g->processors.begin(), g->processors.end(), dev->processor) != g->processors.end();
      if (processor_ok) via = " (generic target " + code->processor + " covers " + dev->processor + ")";
      for (const auto& feature : code->features)
        if (processor_ok && !g->supports_feature(feature.first)) {
          why = code_target + " names " + feature.first + ", which the generic target " + code->processor +
                " does not support (LLVM AMDGPUUsage, generic processors)";
          return Outcome::fail;
        }
    }
    if (!processor_ok &&
        std::find(device.generic_targets.begin(), device.generic_targets.end(), code->processor) != device.generic_targets.end()) {
      processor_ok = true;
      via = " (the device lists generic target " + code->processor + ")";
    }
  }
  if (!processor_ok) {
    why = code_target + " is for " + code->processor + ", the device is " + dev->processor +
          " (AMD code objects load only on their exact processor or a covering generic target)";
    return Outcome::fail;
  }
  const AmdProcessor* proc = tables.amd_processor(dev->processor);
  for (const auto& [feature, setting] : code->features) {
    std::string device_setting = dev->setting(feature);
    if (device_setting == "any") {
      bool supported = proc && std::find(proc->features.begin(), proc->features.end(), feature) != proc->features.end();
      if (proc && !supported) {
        why = code_target + " names " + feature + ", which " + dev->processor + " does not have";
        return Outcome::fail;
      }
      why = code_target + " needs " + feature + (setting == "on" ? "+" : "-") + "; the device's " + feature +
            " mode is not reported (target id " + device_target + ")";
      return Outcome::unknown;
    }
    if (!tables.feature_loads(feature, setting, device_setting)) {
      why = code_target + " needs " + feature + (setting == "on" ? "+" : "-") + ", the device runs " + feature +
            (device_setting == "on" ? "+" : "-") + " (" + device_target + ")";
      return Outcome::fail;
    }
  }
  why = code_target + " loads on " + device_target + via;
  return Outcome::pass;
}

RuleResult rule_amd_code(const PayloadInfo& payload, const NodeDevice& device, const CompatTables& tables) {
  const std::string rule = "payload_code";
  std::vector<std::string> reasons;
  bool any_unknown = false;
  for (const auto& e : payload.hip) {
    if (e.triple.rfind("amdgcn", 0) != 0) continue;
    std::string why;
    Outcome o = amd_target_loads(e.target_id, device, tables, why);
    if (o == Outcome::pass) return pass(rule, payload.path + ": " + why);
    any_unknown = any_unknown || o == Outcome::unknown;
    reasons.push_back(why);
  }
  if (!payload.compressed_hip.empty()) {
    any_unknown = true;
    reasons.push_back(std::to_string(payload.compressed_hip.size()) +
                      " compressed offload bundle(s) whose targets gpumatch does not read");
  }
  if (reasons.empty()) reasons.push_back("no AMD GPU code");
  std::string reason = payload.path + ": " + join(reasons, "; ");
  return any_unknown ? unknown(rule, reason) : fail(rule, reason);
}

DeviceVerdict evaluate_device(const Requirements& job, const NodeDevice& d, const MatchContext& ctx) {
  DeviceVerdict v;
  v.device = &d;
  auto& out = v.rules;
  const NodeFacts& node = ctx.node;
  const std::string vendor = d.vendor;

  // Vendor: asked for, or implied by the payloads' code.
  auto an = [](const std::string& name) {
    return name == "nvidia" ? std::string("an NVIDIA") : name == "amd" ? std::string("an AMD") : name == "intel" ? std::string("an Intel") : "a " + name;
  };
  if (job.vendor != "any")
    out.push_back(job.vendor == vendor ? pass("vendor", "the job asks for " + job.vendor + " and this is " + an(vendor) + " GPU")
                                       : fail("vendor", "the job asks for " + job.vendor + ", this is " + an(vendor) + " GPU"));

  // Availability.
  if (d.has_mig_instances)
    out.push_back(fail("available", "MIG is enabled with " + std::string("instances: the instances are the devices")));
  else if (!d.allocatable)
    out.push_back(fail("available", "gpuprobe marks this GPU not allocatable (driver missing or MIG parent)"));
  else if (!d.visible)
    out.push_back(fail("available", "hidden from this process by the visible-devices variables"));
  else if (d.compute_mode == "prohibited")
    out.push_back(fail("available", "compute mode is prohibited"));
  else
    out.push_back(pass("available", d.kind == "mig" ? "MIG instance " + d.mig_profile.value_or("?") + " of " + d.parent_id.value_or("?")
                                                    : "allocatable"));

  // Health (gpuprobe --health): each failed check is a failed rule; no data, no rule.
  for (const auto& why : d.health_failures) out.push_back(fail("health", "health: " + why));
  if (d.has_health && d.health_failures.empty()) out.push_back(pass("health", "no health check failed"));

  // Architecture.
  if (vendor == "nvidia" && (job.min_compute_capability || job.max_compute_capability)) {
    if (!d.cc_major || !d.cc_minor) {
      out.push_back(unknown("compute_capability", "the device's compute capability is unknown"));
    } else {
      Version cc = Version::of(*d.cc_major, *d.cc_minor);
      bool low = job.min_compute_capability && cc < *job.min_compute_capability;
      bool high = job.max_compute_capability && *job.max_compute_capability < cc;
      std::string range = "[" + (job.min_compute_capability ? job.min_compute_capability->short_string() : std::string("any")) +
                          ", " + (job.max_compute_capability ? job.max_compute_capability->short_string() : std::string("any")) + "]";
      out.push_back(low || high ? fail("compute_capability", "CC " + cc.short_string() + " is outside " + range)
                                : pass("compute_capability", "CC " + cc.short_string() + " is within " + range));
    }
  }
  if (vendor == "amd" && !job.amd_targets.empty()) {
    std::vector<std::string> whys;
    Outcome best = Outcome::fail;
    for (const auto& t : job.amd_targets) {
      std::string why;
      Outcome o = amd_target_loads(t, d, ctx.tables, why);
      if (o == Outcome::pass) {
        best = Outcome::pass;
        whys = {why};
        break;
      }
      if (o == Outcome::unknown) best = Outcome::unknown;
      whys.push_back(why);
    }
    out.push_back({"amd_target", best, join(whys, "; ")});
  }

  // Memory.
  if (job.gpu_memory_bytes) {
    if (!d.memory_bytes)
      out.push_back(unknown("gpu_memory", "the device's memory size is unknown"));
    else
      out.push_back(*d.memory_bytes >= *job.gpu_memory_bytes
                        ? pass("gpu_memory", format_bytes(*d.memory_bytes) + " >= " + format_bytes(*job.gpu_memory_bytes))
                        : fail("gpu_memory", format_bytes(*d.memory_bytes) + " < " + format_bytes(*job.gpu_memory_bytes) + " needed"));
  }

  // MIG.
  bool is_mig = d.kind == "mig";
  if (job.mig == MigPolicy::forbid && is_mig) out.push_back(fail("mig", "the job does not accept MIG instances"));
  if (job.mig == MigPolicy::require && !is_mig) out.push_back(fail("mig", "the job needs a MIG instance, this is a whole GPU"));
  if (is_mig && !job.mig_profiles.empty()) {
    std::string p = d.mig_profile.value_or("");
    bool ok = std::find(job.mig_profiles.begin(), job.mig_profiles.end(), p) != job.mig_profiles.end();
    out.push_back(ok ? pass("mig", "profile " + p + " is accepted")
                     : fail("mig", "profile " + (p.empty() ? std::string("(unknown)") : p) + " is not one of " + join(job.mig_profiles)));
  }
  if (is_mig && job.mig_min_slice) {
    if (!d.mig_slices)
      out.push_back(unknown("mig", "the instance's slice count is unknown"));
    else
      out.push_back(*d.mig_slices >= *job.mig_min_slice
                        ? pass("mig", std::to_string(*d.mig_slices) + " compute slices >= " + std::to_string(*job.mig_min_slice))
                        : fail("mig", std::to_string(*d.mig_slices) + " compute slices < " + std::to_string(*job.mig_min_slice) + " needed"));
  }
  if (job.exclusive) {
    if (is_mig)
      out.push_back(fail("exclusive", "the job wants an unshared GPU; a MIG instance shares its GPU"));
    else if (d.compute_mode == "exclusive_process")
      out.push_back(pass("exclusive", "whole GPU in exclusive-process compute mode"));
    else
      out.push_back(pass("exclusive", "whole GPU, given to this job alone"));
  }

  // Drivers and runtimes.
  if (vendor == "nvidia") {
    if (job.cuda_runtime) {
      out.push_back(rule_cuda_runtime(*job.cuda_runtime, "the job's runtime", node, ctx.tables, job.minor_version_compatibility));
      bool payload_has_code = std::any_of(ctx.payloads.begin(), ctx.payloads.end(), [](const auto& p) { return p.has_cuda_code(); });
      if (!payload_has_code && d.cc_major && d.cc_minor) {
        if (const ArchRow* a = ctx.tables.arch(*d.cc_major, *d.cc_minor)) {
          std::string cc = cc_string(*d.cc_major, *d.cc_minor);
          if (a->removed_in_cuda && *a->removed_in_cuda <= *job.cuda_runtime)
            out.push_back(fail("toolkit_architecture", "CUDA " + job.cuda_runtime->short_string() + " cannot build for CC " + cc +
                                                           " (removed in CUDA " + a->removed_in_cuda->short_string() + ")"));
          else if (a->first_cuda && *job.cuda_runtime < *a->first_cuda)
            out.push_back(unknown("toolkit_architecture", "CUDA " + job.cuda_runtime->short_string() + " predates CC " + cc +
                                                              " (first in CUDA " + a->first_cuda->short_string() +
                                                              "): only embedded PTX could run, by JIT"));
          else
            out.push_back(pass("toolkit_architecture", "CUDA " + job.cuda_runtime->short_string() + " builds for CC " + cc));
        }
      }
    }
    for (const auto& p : ctx.payloads)
      for (const auto& r : p.runtimes) {
        if (r.api != "cuda") continue;
        std::string what = p.path + ": " + (r.linkage == "shared" ? r.library : std::string("static CUDA runtime"));
        if (r.version) {
          out.push_back(rule_cuda_runtime(*r.version, what, node, ctx.tables, job.minor_version_compatibility));
          continue;
        }
        // A static runtime of unknown version is at least as new as its newest PTX.
        std::optional<Version> floor;
        for (const auto& e : p.cuda)
          if (e.kind == "ptx")
            if (const PtxRow* row = ctx.tables.ptx(Version::of(e.ptx_isa_major.value_or(0), e.ptx_isa_minor.value_or(0))))
              if (!floor || *floor < row->cuda) floor = row->cuda;
        if (floor)
          out.push_back(rule_cuda_runtime(Version{{floor->major()}, std::to_string(floor->major())},
                                          what + ", at least as new as its PTX", node, ctx.tables,
                                          job.minor_version_compatibility));
        else
          out.push_back(unknown("cuda_runtime", what + " of a version the binary does not record"));
      }
    for (const auto& p : ctx.payloads) {
      if (p.has_cuda_code())
        out.push_back(rule_cuda_code(p, d, node, ctx.tables, job.ptx_jit));
      else if (p.has_hip_code())
        out.push_back(fail("payload_code", p.path + ": carries only AMD GPU code"));
    }
    if (job.gpu_job() && !node.nvidia_status.empty() && node.nvidia_status != "ok")
      out.push_back(fail("driver", "NVIDIA driver " + node.nvidia_status +
                                       (node.nvidia_reason.empty() ? "" : ": " + node.nvidia_reason)));
  } else if (vendor == "amd") {
    bool wants_hip = job.hip_runtime || std::any_of(ctx.payloads.begin(), ctx.payloads.end(), [](const auto& p) {
                       return p.runtime("hip") != nullptr;
                     });
    if (job.gpu_job() && !node.amd_status.empty() && node.amd_status != "ok")
      out.push_back(fail("driver", "AMD driver " + node.amd_status + (node.amd_reason.empty() ? "" : ": " + node.amd_reason)));
    else if (wants_hip) {
      std::string what = job.hip_runtime ? "HIP " + job.hip_runtime->raw : std::string("the payload's HIP runtime");
      for (const auto& p : ctx.payloads)
        if (const RuntimeNeed* r = p.runtime("hip")) what = r->evidence;
      out.push_back(unknown("hip_runtime", what + ": the node document does not report the ROCm user-space version; the job "
                                                  "must bring libamdhip64 (container, CVMFS) matching the amdgpu driver"));
    }
    for (const auto& p : ctx.payloads) {
      if (p.has_hip_code())
        out.push_back(rule_amd_code(p, d, ctx.tables));
      else if (p.has_cuda_code())
        out.push_back(fail("payload_code", p.path + ": carries only NVIDIA GPU code"));
    }
  } else if (!ctx.payloads.empty()) {
    for (const auto& p : ctx.payloads)
      if (p.has_cuda_code() || p.has_hip_code())
        out.push_back(fail("payload_code", p.path + ": no rule for " + (vendor.empty() ? "unknown" : vendor) + " GPUs"));
  }

  // Precision.
  if (job.min_fp64_tflops) {
    std::optional<double> value = d.bench_fp64_tflops ? d.bench_fp64_tflops : d.catalogue_fp64_tflops;
    std::string from = d.bench_fp64_tflops ? "measured" : "catalogue peak";
    if (!value)
      out.push_back(fail("fp64", "no FP64 rate for this device (not in the catalogue, no fma_fp64 result in bench)"));
    else
      out.push_back(*value >= *job.min_fp64_tflops
                        ? pass("fp64", "FP64 " + tflops(*value) + " (" + from + ") >= " + tflops(*job.min_fp64_tflops))
                        : fail("fp64", "FP64 " + tflops(*value) + " (" + from + ") < " + tflops(*job.min_fp64_tflops) + " needed"));
  }
  if (job.min_fp64_fp32_ratio) {
    bool measured = d.bench_fp64_tflops && d.bench_fp32_tflops && *d.bench_fp32_tflops > 0;
    std::optional<double> ratio;
    if (measured) ratio = *d.bench_fp64_tflops / *d.bench_fp32_tflops;
    else if (d.catalogue_fp64_tflops && d.catalogue_fp32_tflops && *d.catalogue_fp32_tflops > 0)
      ratio = *d.catalogue_fp64_tflops / *d.catalogue_fp32_tflops;
    std::ostringstream want, have;
    want.precision(3);
    want << *job.min_fp64_fp32_ratio;
    if (!ratio) {
      out.push_back(fail("fp64_fp32_ratio", "no FP64 and FP32 rates for this device"));
    } else {
      have.precision(3);
      have << *ratio;
      std::string from = measured ? "measured" : "catalogue";
      out.push_back(*ratio + 1e-9 >= *job.min_fp64_fp32_ratio
                        ? pass("fp64_fp32_ratio", "FP64/FP32 " + have.str() + " (" + from + ") >= " + want.str())
                        : fail("fp64_fp32_ratio", "FP64/FP32 " + have.str() + " (" + from + ") < " + want.str()));
    }
  }
  if (job.min_score) {
    std::ostringstream want;
    want << *job.min_score;
    if (!d.score) {
      out.push_back(fail("score", node.has_bench ? "no benchmark score for this device in the bench section"
                                                 : "no bench section in the document (run gpubench first)"));
    } else {
      std::ostringstream have;
      have << *d.score;
      out.push_back(*d.score >= *job.min_score ? pass("score", "score " + have.str() + " >= " + want.str())
                                               : fail("score", "score " + have.str() + " < " + want.str()));
    }
  }

  v.fits = std::none_of(out.begin(), out.end(), [&](const RuleResult& r) {
    return r.outcome == Outcome::fail || (ctx.strict && r.outcome == Outcome::unknown);
  });
  return v;
}

std::vector<DeviceVerdict> evaluate_devices(const Requirements& job, const MatchContext& context) {
  std::vector<DeviceVerdict> out;
  for (const auto& d : context.node.devices) out.push_back(evaluate_device(job, d, context));
  return out;
}

json to_json(const RuleResult& r) {
  return {{"rule", r.rule}, {"outcome", to_string(r.outcome)}, {"reason", r.reason}};
}

json to_json(const DeviceVerdict& v) {
  const NodeDevice& d = *v.device;
  json j = {{"id", d.id}, {"kind", d.kind}, {"gpu_index", d.gpu_index}, {"vendor", d.vendor}, {"name", d.name}};
  j["mig_profile"] = d.mig_profile ? json(*d.mig_profile) : json(nullptr);
  j["fits"] = v.fits;
  json rules = json::array();
  for (const auto& r : v.rules) rules.push_back(to_json(r));
  j["rules"] = std::move(rules);
  return j;
}

}  // namespace gpukit
