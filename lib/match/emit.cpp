#include "match/emit.hpp"

#include <sstream>
#include <vector>

#include "core/classad.hpp"
#include "core/units.hpp"

namespace gpukit {

namespace {

std::uint64_t mib_ceil(std::uint64_t bytes) { return (bytes + (1ULL << 20) - 1) >> 20; }

// What the job needs of the driver's CUDA version: its runtime's major alone
// under minor version compatibility, else major.minor.
std::optional<Version> runtime_floor(const Requirements& job) {
  if (!job.cuda_runtime) return std::nullopt;
  if (job.minor_version_compatibility) return Version::of(job.cuda_runtime->major(), 0);
  return Version::of(job.cuda_runtime->major(), job.cuda_runtime->minor());
}

std::string not_expressible(const Requirements& job) {
  std::vector<std::string> left;
  if (!job.amd_targets.empty()) left.push_back("amd_targets");
  if (job.min_fp64_tflops) left.push_back("min_fp64_tflops");
  if (job.min_fp64_fp32_ratio) left.push_back("min_fp64_fp32_ratio");
  if (job.min_score) left.push_back("min_score");
  if (job.pinned_memory_per_gpu_bytes) left.push_back("pinned_memory_per_gpu_bytes");
  if (job.numa_local) left.push_back("numa_local");
  if (!job.payloads.empty()) left.push_back("payloads");
  if (left.empty()) return "";
  std::string s;
  for (const auto& k : left) s += (s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace

namespace {

// require_gpus terms for what the gpus_* commands cannot say, on the
// attributes condor_gpu_discovery advertises per device (DeviceUuid,
// DeviceName, NvidiaDriver, Rocm, ...). A MIG instance is the device whose
// DeviceUuid is NVML's "MIG-<uuid>"; its DeviceName is NVML's
// "<parent name> MIG <profile>" (htcondor/htcondor src/gpu/cuda_device_enumeration.cpp,
// nvml_getBasicProps and enumerateNVMLDevices).
std::vector<std::string> condor_gpu_terms(const Requirements& job, std::vector<std::string>& left) {
  const std::string is_mig = "(DeviceUuid =!= undefined && regexp(\"^MIG-\", DeviceUuid))";
  std::vector<std::string> terms;
  if (job.mig == MigPolicy::forbid) terms.push_back("!" + is_mig);
  if (job.mig == MigPolicy::require) terms.push_back(is_mig);
  // Profiles and slices bind MIG instances only; a whole GPU passes them unless MIG is required.
  std::string unless_whole = job.mig == MigPolicy::require ? "" : "!" + is_mig + " || ";
  if (job.mig != MigPolicy::forbid && !job.mig_profiles.empty()) {
    std::string alternatives;
    for (const auto& p : job.mig_profiles) alternatives += (alternatives.empty() ? "" : "|") + regex_literal(p);
    terms.push_back("(" + unless_whole + "regexp(" + classad_string(" MIG (" + alternatives + ")$") + ", DeviceName))");
  }
  if (job.mig != MigPolicy::forbid && job.mig_min_slice) {
    if (*job.mig_min_slice >= 1 && *job.mig_min_slice <= 9)
      terms.push_back("(" + unless_whole + "regexp(" +
                      classad_string(" MIG [" + std::to_string(*job.mig_min_slice) + "-9]g\\.") + ", DeviceName))");
    else
      left.push_back("mig_min_slice");
  }
  // condor_gpu_discovery's CUDA path sets NvidiaDriver and DriverVersion, its
  // HIP path Rocm and AmdDriverVersion; gpuprobe adds GfxTarget on AMD.
  if (job.vendor == "amd") terms.push_back("(Rocm =!= undefined || AmdDriverVersion =!= undefined || GfxTarget =!= undefined)");
  if (job.vendor == "nvidia") terms.push_back("(NvidiaDriver =!= undefined || DriverVersion =!= undefined)");
  return terms;
}

}  // namespace

std::string emit_condor(const Requirements& job) {
  std::string out = "# HTCondor submit commands written by gpumatch --emit condor\n";
  out += "request_cpus = " + std::to_string(job.total_cores()) + "\n";
  // Units written out: sites that set SUBMIT_REQUEST_MISSING_UNITS warn on or refuse bare numbers.
  if (std::uint64_t mem = job.job_memory_bytes(); mem > 0) out += "request_memory = " + std::to_string(mib_ceil(mem)) + "MB\n";
  std::vector<std::string> left;
  if (job.gpu_job()) {
    out += "request_gpus = " + std::to_string(job.gpus) + "\n";
    if (job.min_compute_capability) out += "gpus_minimum_capability = " + job.min_compute_capability->short_string() + "\n";
    if (job.max_compute_capability) out += "gpus_maximum_capability = " + job.max_compute_capability->short_string() + "\n";
    // Compared with GlobalMemoryMb (MiB; divided by N under condor_gpu_discovery -divide N).
    if (job.gpu_memory_bytes) out += "gpus_minimum_memory = " + std::to_string(mib_ceil(*job.gpu_memory_bytes)) + "MB\n";
    // Compared with the driver's MaxSupportedVersion (major*1000 + minor*10).
    if (auto floor = runtime_floor(job)) out += "gpus_minimum_runtime = " + floor->short_string() + "\n";
    auto terms = condor_gpu_terms(job, left);
    if (!terms.empty()) {
      std::string e;
      for (const auto& x : terms) e += (e.empty() ? "" : " && ") + x;
      out += "require_gpus = " + e + "\n";
    }
    if (job.hip_runtime) left.push_back("hip_runtime");
    if (job.exclusive) left.push_back("exclusive");
  }
  std::string all = not_expressible(job);
  for (const auto& k : left) all += (all.empty() ? "" : ", ") + k;
  if (!all.empty()) out += "# Not expressible in submit commands, checked on the node by gpumatch: " + all + "\n";
  return out;
}

std::string emit_k8s(const Requirements& job) {
  // Each term is a conjunction; terms are ORed. Ranges over two labels (major,
  // minor) need one term per branch, so terms multiply.
  using Expr = std::string;
  using Term = std::vector<Expr>;
  std::vector<Term> terms = {{}};
  auto expr = [](const std::string& key, const std::string& op, const std::vector<std::string>& values) {
    std::string e = "- key: " + key + "\n  operator: " + op;
    if (!values.empty()) {
      e += "\n  values: [";
      for (std::size_t i = 0; i < values.size(); ++i) e += (i ? ", " : "") + std::string("\"") + values[i] + "\"";
      e += "]";
    }
    return e;
  };
  auto and_all = [&](const Expr& e) {
    for (auto& t : terms) t.push_back(e);
  };
  // (label_major, label_minor) >= (M, m): major > M, or major == M and minor >= m.
  auto at_least = [&](const std::string& major_key, const std::string& minor_key, int M, int m) {
    if (m == 0) {
      and_all(expr(major_key, "Gt", {std::to_string(M - 1)}));
      return;
    }
    std::vector<Term> next;
    for (const auto& t : terms) {
      Term a = t;
      a.push_back(expr(major_key, "Gt", {std::to_string(M)}));
      next.push_back(a);
      Term b = t;
      b.push_back(expr(major_key, "In", {std::to_string(M)}));
      b.push_back(expr(minor_key, "Gt", {std::to_string(m - 1)}));
      next.push_back(b);
    }
    terms = std::move(next);
  };
  auto at_most = [&](const std::string& major_key, const std::string& minor_key, int M, int m) {
    std::vector<Term> next;
    for (const auto& t : terms) {
      Term a = t;
      a.push_back(expr(major_key, "Lt", {std::to_string(M)}));
      next.push_back(a);
      Term b = t;
      b.push_back(expr(major_key, "In", {std::to_string(M)}));
      b.push_back(expr(minor_key, "Lt", {std::to_string(m + 1)}));
      next.push_back(b);
    }
    terms = std::move(next);
  };

  bool nvidia = job.vendor != "amd";
  std::string resource = nvidia ? "nvidia.com/gpu" : "amd.com/gpu";
  if (nvidia && job.mig == MigPolicy::require && job.mig_profiles.size() == 1)
    resource = "nvidia.com/mig-" + job.mig_profiles.front();  // GFD "mixed" strategy resource
  if (job.gpu_job()) {
    if (nvidia) {
      and_all(expr("nvidia.com/gpu.count", "Gt", {std::to_string(job.gpus - 1)}));
      if (job.min_compute_capability)
        at_least("nvidia.com/gpu.compute.major", "nvidia.com/gpu.compute.minor", job.min_compute_capability->major(),
                 job.min_compute_capability->minor());
      if (job.max_compute_capability)
        at_most("nvidia.com/gpu.compute.major", "nvidia.com/gpu.compute.minor", job.max_compute_capability->major(),
                job.max_compute_capability->minor());
      // GFD's cuda.runtime-version is the driver's CUDA version (cuDriverGetVersion).
      if (auto floor = runtime_floor(job))
        at_least("nvidia.com/cuda.runtime-version.major", "nvidia.com/cuda.runtime-version.minor", floor->major(), floor->minor());
      // gpu.memory is in MiB; Gt is strict.
      if (job.gpu_memory_bytes && mib_ceil(*job.gpu_memory_bytes) > 0)
        and_all(expr("nvidia.com/gpu.memory", "Gt", {std::to_string(mib_ceil(*job.gpu_memory_bytes) - 1)}));
      // Under GFD's "single" strategy nvidia.com/gpu counts MIG instances.
      if (job.mig == MigPolicy::forbid) and_all(expr("nvidia.com/mig.strategy", "NotIn", {"single"}));
    } else {
      and_all(expr("amd.com/gpu.family", "Exists", {}));
    }
  }

  std::string out = "# Kubernetes pod spec fragment written by gpumatch --emit k8s\n";
  out += "# Labels: NVIDIA GPU Feature Discovery (nvidia.com/*), AMD node labeller (amd.com/*).\n";
  out += "resources:\n  requests:\n    cpu: \"" + std::to_string(job.total_cores()) + "\"\n";
  if (std::uint64_t mem = job.job_memory_bytes(); mem > 0) out += "    memory: \"" + std::to_string(mib_ceil(mem)) + "Mi\"\n";
  out += "  limits:\n    cpu: \"" + std::to_string(job.total_cores()) + "\"\n";
  if (std::uint64_t mem = job.job_memory_bytes(); mem > 0) out += "    memory: \"" + std::to_string(mib_ceil(mem)) + "Mi\"\n";
  if (job.gpu_job()) out += "    " + resource + ": " + std::to_string(job.gpus) + "\n";
  bool any = false;
  for (const auto& t : terms) any = any || !t.empty();
  if (any) {
    out += "affinity:\n  nodeAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n      nodeSelectorTerms:\n";
    for (const auto& t : terms) {
      out += "      - matchExpressions:\n";
      for (const auto& e : t) {
        std::istringstream lines(e);
        std::string line;
        while (std::getline(lines, line)) out += "        " + line + "\n";
      }
    }
  }
  std::string left = not_expressible(job);
  if (!nvidia && job.gpu_memory_bytes) left += (left.empty() ? "" : ", ") + std::string("gpu_memory_bytes");
  if (nvidia && job.mig == MigPolicy::require && job.mig_profiles.size() != 1)
    left += (left.empty() ? "" : ", ") + std::string("mig (name one profile for a nvidia.com/mig-<profile> resource)");
  if (!left.empty()) out += "# Not expressible as labels, checked on the node by gpumatch: " + left + "\n";
  return out;
}

}  // namespace gpukit
