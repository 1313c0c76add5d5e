// Slot planning: for one node and a GPU job profile, how many GPU jobs and
// CPU-only jobs fit, each GPU slot's share of cores, RAM and pinned memory, and
// where a per-core memory limit cannot hold a GPU job's pinned memory. Rendered
// as HTCondor partitionable-slot configuration or Slurm node and gres lines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"
#include "core/node.hpp"
#include "match/node.hpp"
#include "match/placement.hpp"
#include "match/requirements.hpp"
#include "match/rules.hpp"

namespace gpukit {

// condor_gpu_discovery -repeat N / -divide N: every device is offered N times
// (DetectedGPUs lists it N times), and under divide each share's
// GlobalMemoryMb is the device's divided by N (src/gpu/condor_gpu_discovery.cpp).
struct CondorShare {
  std::string mode;  // "repeat" or "divide"
  int ways = 2;
};

// "repeat:N" or "divide:N", N from 2 to 64.
Result<CondorShare> parse_condor_share(const std::string& text);

// The node as the startd sees it under `share`: each device that can be
// assigned (not a MIG parent) N times, the copies "<id>#2".."<id>#N", with the
// memory divided under divide. Plan on the result to size the slots.
void share_devices(NodeFacts& node, const CondorShare& share);

struct PlanOptions {
  int cpu_job_cores = 1;  // cores per CPU-only job
  // Memory per core of a CPU-only job; default: the profile's memory_per_core_bytes.
  std::optional<std::uint64_t> cpu_memory_per_core_bytes;
  std::optional<CondorShare> condor_share;  // the devices were shared with share_devices()
};

struct SlotPlan {
  Requirements gpu_job;
  std::vector<JobPlacement> gpu_slots;  // the GPU jobs that fit, each placed
  int cpu_slots = 0;
  int cpu_job_cores = 1;
  std::optional<std::uint64_t> cpu_job_memory_bytes;
  int cores_left = 0;                   // after GPU and CPU slots
  std::optional<std::uint64_t> memory_left_bytes;
  int idle_devices = 0;                 // fitting devices no GPU slot got
  std::vector<std::string> warnings;
  std::optional<CondorShare> condor_share;
};

SlotPlan plan_slots(const Requirements& gpu_job, const PlanOptions& options, const NodeFacts& node,
                    const std::vector<DeviceVerdict>& verdicts);

json to_json(const SlotPlan& plan);
std::string render_plan_condor(const SlotPlan& plan, const NodeFacts& node);
// gpumatch --plan --format slurm: --slurm-autodetect and --share.
struct SlurmPlanOptions {
  std::string autodetect = "off";  // "off" or "nvml" (rsmi on AMD nodes)
  std::string share_kind;          // "", "shard" or "mps"
  int share_per_gpu = 0;           // shards, or MPS count (a multiple of 100), per whole GPU
};
Result<SlurmPlanOptions> parse_slurm_options(const std::string& autodetect, const std::optional<std::string>& share);
// slurm.conf, gres.conf and cgroup.conf sections. `model` gives the hardware
// topology (the NodeName line) and the device files.
std::string render_plan_slurm(const SlotPlan& plan, const NodeFacts& node, const NodeModel& model,
                              const SlurmPlanOptions& options);

}  // namespace gpukit
