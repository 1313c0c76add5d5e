// A job's requirements: what it needs from a node, its GPUs and the drivers.
// Read from JSON (keys in gpumatch(1)), completed by command-line shortcuts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"
#include "match/tables.hpp"

namespace gpukit {

enum class MigPolicy { allow, require, forbid };
const char* to_string(MigPolicy policy);

struct Requirements {
  std::string name;                            // a label for lists of jobs
  int gpus = 0;                                // GPUs or MIG instances; 0 = CPU-only job
  std::string vendor = "any";                  // "nvidia", "amd", "any"
  std::optional<Version> min_compute_capability, max_compute_capability;  // NVIDIA
  std::vector<std::string> amd_targets;        // accepted target ids ("gfx90a:xnack-", "gfx942")
  std::optional<std::uint64_t> gpu_memory_bytes;  // per GPU or MIG instance
  MigPolicy mig = MigPolicy::allow;
  std::vector<std::string> mig_profiles;       // accepted profiles ("3g.40gb")
  std::optional<int> mig_min_slice;            // minimum compute slices (the "3" of "3g.40gb")
  std::optional<Version> cuda_runtime;         // the CUDA runtime the payload was built with
  std::optional<Version> hip_runtime;
  bool minor_version_compatibility = true;     // accept a driver at the major's floor
  bool ptx_jit = true;                         // accept PTX that the driver must JIT-compile
  std::optional<double> min_fp64_tflops;       // per GPU or instance
  std::optional<double> min_fp64_fp32_ratio;
  std::optional<double> min_score;             // bench.devices[].score
  bool exclusive = false;                      // a whole, unshared GPU
  std::optional<int> cores_per_gpu;
  std::optional<int> cores;                    // CPU-only jobs, or a total minimum
  std::optional<std::uint64_t> memory_per_core_bytes;
  std::optional<std::uint64_t> memory_bytes;   // per job
  std::optional<std::uint64_t> pinned_memory_per_gpu_bytes;
  bool numa_local = false;                     // cores and memory on each GPU's NUMA node
  std::vector<std::string> payloads;           // files to inspect (paths)

  // The logical CPUs the job needs: cores_per_gpu x gpus, else cores, else 1.
  int total_cores() const;
  std::uint64_t pinned_total_bytes() const;
  // What the job's memory must hold: the largest of memory_bytes,
  // memory_per_core x cores and the pinned memory.
  std::uint64_t job_memory_bytes() const;
  bool gpu_job() const { return gpus > 0; }
};

// The keys a requirement object may have, in documentation order.
const std::vector<std::string>& requirement_keys();

// Parses one requirement object. Unknown keys and bad values are usage errors
// whose context is `origin: <pointer>/<key>` (the JSON pointer of the value;
// `pointer` locates the object inside a larger file, "" at the top).
Result<Requirements> parse_requirements(const json& object, const std::string& origin, const std::string& pointer = "");
// Parses JSON text; a usage error naming `origin` and the byte offset when invalid.
Result<json> parse_json_text(std::string_view text, const std::string& origin);
// Parses text holding one object.
Result<Requirements> parse_requirements_text(std::string_view text, const std::string& origin);
// A list of jobs: an array of requirement objects or {"jobs": [...]}. Names
// default to job1, job2, ...; duplicates are errors.
Result<std::vector<Requirements>> parse_jobs_text(std::string_view text, const std::string& origin);

// The normalized object (integers for sizes, strings for versions).
json to_json(const Requirements& requirements);

}  // namespace gpukit
