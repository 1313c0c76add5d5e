// gpumatch --emit panda: the requirement as a PanDA task's `architecture`,
// in the JSON form ({"gpu_spec": {"vendor", "model", "version"}}) and the old
// string form (prun --architecture "&vendor<-model>"), as PanDA's brokerage
// reads them (PanDAWMS/panda-docs docs/source/advanced/brokerage.rst;
// panda-server JediTaskSpec.get_host_gpu_spec). Cores and memory are task
// parameters (coreCount, ramCount), not part of the architecture.
#include "match/emit.hpp"

#include "core/document.hpp"

namespace gpukit {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& k : items) s += (s.empty() ? "" : ", ") + k;
  return s;
}

// What a gpu_spec cannot say: PanDA matches vendor, model and one version.
std::vector<std::string> left_for_panda(const Requirements& job) {
  std::vector<std::string> left;
  if (job.min_compute_capability) left.push_back("min_compute_capability");
  if (job.max_compute_capability) left.push_back("max_compute_capability");
  if (!job.amd_targets.empty()) left.push_back("amd_targets");
  if (job.gpu_memory_bytes) left.push_back("gpu_memory_bytes");
  if (job.mig != MigPolicy::allow) left.push_back("mig");
  if (!job.mig_profiles.empty()) left.push_back("mig_profiles");
  if (job.mig_min_slice) left.push_back("mig_min_slice");
  if (job.cuda_runtime && job.hip_runtime) left.push_back("hip_runtime (one version per gpu_spec: the CUDA one is written)");
  if (job.min_fp64_tflops) left.push_back("min_fp64_tflops");
  if (job.min_fp64_fp32_ratio) left.push_back("min_fp64_fp32_ratio");
  if (job.min_score) left.push_back("min_score");
  if (job.exclusive) left.push_back("exclusive");
  if (job.pinned_memory_per_gpu_bytes) left.push_back("pinned_memory_per_gpu_bytes");
  if (job.numa_local) left.push_back("numa_local");
  if (!job.payloads.empty()) left.push_back("payloads");
  return left;
}

// The version the queue's "version" (the driver's CUDA version, or HIP on
// AMD queues) must reach: the runtime's major alone under CUDA minor version
// compatibility, else major.minor.
std::string version_floor(const Requirements& job) {
  if (job.cuda_runtime) {
    auto minor = job.minor_version_compatibility ? 0 : job.cuda_runtime->minor();
    return ">=" + std::to_string(job.cuda_runtime->major()) + "." + std::to_string(minor);
  }
  if (job.hip_runtime) return ">=" + std::to_string(job.hip_runtime->major()) + "." + std::to_string(job.hip_runtime->minor());
  return "";
}

}  // namespace

std::string emit_panda(const Requirements& job) {
  std::string out = "# PanDA task architecture written by gpumatch --emit panda\n";
  json architecture = json::object();
  std::string old_form;
  if (job.gpu_job()) {
    json spec = json::object();
    // An absent vendor is PanDA's "*": any queue with a GPU entry that is not vendor-exclusive.
    if (job.vendor != "any") spec["vendor"] = job.vendor;
    if (auto v = version_floor(job); !v.empty()) spec["version"] = v;
    architecture["gpu_spec"] = spec;
    // "&" alone would be no GPU check at all; "&*" asks for a queue with a GPU entry.
    old_form = "&" + (job.vendor != "any" ? job.vendor : std::string("*"));
  }
  out += "# The task's architecture field, JSON form (gpu_spec.version is compared with the queue's GPU version):\n";
  out += dump_json(architecture) + "\n";
  if (!old_form.empty()) out += "# Old form, for prun --architecture (it carries no version): " + old_form + "\n";
  else out += "# No GPU: no gpu_spec, and nothing for prun --architecture.\n";
  int cores = job.total_cores();
  out += "# Task parameters beside the architecture: coreCount = " + std::to_string(cores);
  if (std::uint64_t mem = job.job_memory_bytes(); mem > 0 && cores > 0)
    out += ", ramCount = " + std::to_string((mem / static_cast<std::uint64_t>(cores) + (1ULL << 20) - 1) >> 20) +
           " (MB per core)";
  out += "\n";
  if (auto left = left_for_panda(job); !left.empty())
    out += "# Not expressible in a PanDA gpu_spec, checked on the node by gpumatch: " + join(left) + "\n";
  return out;
}

}  // namespace gpukit
