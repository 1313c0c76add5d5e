// Placement: give each job GPUs or MIG instances, NUMA-local cores and memory,
// without overlap between jobs; and the shell lines a pilot evaluates.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "match/node.hpp"
#include "match/requirements.hpp"
#include "match/rules.hpp"

namespace gpukit {

struct JobPlacement {
  std::string job;
  bool placed = false;
  std::vector<const NodeDevice*> devices;
  std::vector<int> cpus;
  std::vector<int> numa_nodes;        // of the CPUs given
  std::uint64_t memory_bytes = 0;     // what the job's memory must hold
  std::uint64_t pinned_bytes = 0;
  std::vector<RuleResult> rules;      // gpus, cores, memory, pinned_memory, numa_locality
};

// Holds what has been handed out on one node.
class Placer {
 public:
  explicit Placer(const NodeFacts& node);

  // Places one job given its device verdicts (from evaluate_devices on the same
  // node). On failure nothing is taken and the rules say why.
  JobPlacement place(const Requirements& job, const std::vector<DeviceVerdict>& verdicts);

  int free_cpus() const;
  std::optional<std::uint64_t> free_memory_bytes() const { return memory_left_; }
  bool device_free(const NodeDevice& device) const;

 private:
  std::string quota_words() const;
  bool take_cpus(const std::vector<int>& preferred, bool preferred_only, int count, std::set<int>& taken) const;

  const NodeFacts& node_;
  std::set<std::string> used_devices_;   // ids, parents of used instances included
  std::set<int> used_cpus_;
  int cpu_budget_left_ = 0;
  std::optional<std::uint64_t> memory_left_;
};

json to_json(const JobPlacement& placement);

// export lines for one placed job: CUDA_VISIBLE_DEVICES (full UUIDs) or
// ROCR_VISIBLE_DEVICES, GPUKIT_CPUS (for taskset -c / numactl -C),
// GPUKIT_MEMS (numactl -m), OMP_NUM_THREADS.
std::string render_env(const JobPlacement& placement);

}  // namespace gpukit
