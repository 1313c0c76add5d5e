// The gpumatch tool: can this job, or this payload, run on this node, on which
// device, with which cores.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/cli.hpp"
#include "core/document.hpp"
#include "core/error.hpp"
#include "match/plan.hpp"

namespace gpukit {

// The requirement shortcuts of the command line, each set only when given.
struct RequirementFlags {
  std::optional<int> gpus, mig_min_slice, cores_per_gpu, cores;
  std::optional<std::string> vendor, min_compute_capability, max_compute_capability, gpu_memory, mig, cuda_runtime,
      hip_runtime, memory_per_core, memory, pinned_memory_per_gpu;
  std::vector<std::string> amd_targets, mig_profiles;
  std::optional<double> min_fp64_tflops, min_fp64_fp32_ratio, min_score;
  bool exclusive = false, numa_local = false, no_minor_version_compatibility = false, no_ptx_jit = false;

  // The flags as requirement keys ({"gpus": 2, "gpu_memory_bytes": "40GiB", ...}).
  json to_object() const;
};

struct MatchOptions {
  CommonOptions common;
  std::optional<std::string> require;  // FILE or "-"
  std::optional<std::string> jobs;     // FILE
  std::vector<std::string> payloads;
  RequirementFlags flags;
  bool plan = false;
  std::string emit;                    // "", "condor", "k8s", "panda"
  std::optional<std::string> job;      // which job --format env prints
  bool strict = false;                 // unknown outcomes fail
  int cpu_job_cores = 1;
  std::optional<std::string> cpu_memory_per_core;
  std::string slurm_autodetect = "off";  // --format slurm: off or nvml
  std::optional<std::string> share;      // --format slurm: shard:N or mps:N
  std::optional<std::string> condor_share;  // "repeat:N" or "divide:N"
  // Completes a document that lacks the gpuprobe sections (the tool passes
  // ensure_probed; tests may pass nothing and always give --input).
  std::function<Status(Document&)> probe;
};

inline const std::vector<std::string>& match_formats() {
  static const std::vector<std::string> f = {"json", "table", "env", "condor", "slurm"};
  return f;
}

Result<int> run_match(MatchOptions& options);

}  // namespace gpukit
