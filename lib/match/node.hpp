// What the matcher needs from a node document, read once and checked: the
// devices a job may get (whole GPUs and MIG instances), drivers, CPUs, NUMA,
// memory limits and benchmark results.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"
#include "match/tables.hpp"

namespace gpukit {

struct NodeDevice {
  std::string id;     // full UUID ("GPU-…", "MIG-…"), or "gpu<index>" when the document has none
  std::string kind;   // "gpu" or "mig"
  std::string vendor;
  std::string name;
  int gpu_index = 0;  // position in the gpus section
  int vendor_index = 0;  // gpus[].index: NVML / KFD enumeration order
  std::optional<std::string> uuid;
  std::optional<std::string> parent_id;   // MIG: the GPU's id
  std::optional<int> cc_major, cc_minor;  // NVIDIA (MIG: the parent's)
  std::optional<std::string> gfx, target_id;  // AMD
  std::vector<std::string> generic_targets;   // AMD, as gpuprobe reports them
  std::optional<std::uint64_t> memory_bytes;
  std::optional<int> multiprocessors;
  std::optional<std::string> mig_profile;  // MIG
  std::optional<int> mig_slices;           // the "3" of "3g.40gb"
  std::string mig_mode;                    // of the physical GPU
  bool has_mig_instances = false;          // a MIG parent with instances
  bool allocatable = true;
  bool visible = true;                     // not hidden by CUDA_VISIBLE_DEVICES & co.
  std::string compute_mode;
  std::optional<int> numa_node;
  std::vector<int> local_cpus;
  std::optional<double> catalogue_fp64_tflops, catalogue_fp32_tflops;  // MIG: scaled by its share of SMs
  std::optional<double> bench_fp64_tflops, bench_fp32_tflops;          // measured (bench section)
  std::optional<double> score;                                         // bench.devices[].score
  // gpuprobe --health: the failed checks' reasons ("row remap pending ..."), the
  // node's own failed checks included; MIG instances share their GPU's.
  bool has_health = false;
  std::vector<std::string> health_failures;
};

struct NumaNode {
  int index = 0;
  std::vector<int> cpus;
  std::optional<std::uint64_t> memory_bytes;
};

struct NodeFacts {
  std::string hostname;
  std::vector<NodeDevice> devices;  // GPUs in document order, each followed by its MIG instances

  std::string nvidia_status;        // drivers.nvidia.status, "" when absent
  std::string nvidia_reason;
  std::optional<Version> nvidia_driver;  // "535.54.03"
  std::optional<Version> nvidia_cuda;    // the driver's CUDA version, "12.2"
  std::string nvidia_cuda_source;        // "document" or "driver table"
  std::string amd_status, amd_reason;
  std::optional<Version> amd_driver;

  bool has_cpu = false;
  std::vector<int> allowed_cpus;         // cpu.allowed.cpus
  std::optional<double> usable_cpus;     // cgroup quota bound
  int cores = 0, threads = 0;
  std::vector<NumaNode> numa_nodes;

  bool has_memory = false;
  std::uint64_t memory_total_bytes = 0;
  std::optional<std::uint64_t> cgroup_limit_bytes;  // null: no limit
  std::optional<std::uint64_t> memlock_limit_bytes; // null: unlimited

  bool has_bench = false;
  std::optional<double> node_score;  // bench.scores.gpu_node

  // The memory a job may use on this node: the cgroup limit or the total.
  std::optional<std::uint64_t> usable_memory_bytes() const;
  // The number of CPUs jobs may be given: the affinity set, bounded by the quota.
  int cpu_budget() const;
  const NodeDevice* device(const std::string& id) const;
  // The NUMA node holding `cpu`, or nullopt.
  std::optional<int> numa_of_cpu(int cpu) const;
};

// Reads the sections gpuprobe (and optionally gpubench) wrote. A section of the
// wrong shape is a usage error naming its JSON path; a missing section leaves
// its facts unknown. `tables` derives the driver's CUDA version when the
// document does not carry it.
Result<NodeFacts> read_node(const Document& document, const CompatTables& tables,
                            const std::string& origin = "node document");

}  // namespace gpukit
