// One micro-benchmark on one device: the interface every workload implements,
// and the registry of them (stream, fma, transfer, launch, memtest).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/options.hpp"
#include "compute/backend.hpp"
#include "compute/host_memory.hpp"
#include "core/document.hpp"

namespace gpukit {

struct WorkloadContext {
  std::shared_ptr<Device> device;
  std::shared_ptr<HostMemory> host;
  RunConfig config;
  std::string kind;                 // "cpu", "gpu", "mig"
  int numa_node = -1;               // the GPU's NUMA node (-1: unknown)
  std::vector<int> numa_nodes;      // the host's NUMA nodes
  std::uint64_t probed_memory_bytes = 0;  // gpuprobe's figure (0: unknown)
};

struct Validation {
  bool passed = true;
  std::optional<double> max_rel_error;
  std::optional<double> tolerance;
  std::uint64_t checked = 0;        // elements or words compared
  std::string method;               // how it was checked
  std::string detail;               // what was wrong, when it failed
};

// One repetition.
struct Measurement {
  double value = 0;                 // in the workload's unit
  double seconds = 0;               // the timed region (per operation)
  Validation validation;
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string name() const = 0;          // "stream_triad"
  virtual std::string family() const = 0;        // "stream", "fma", "transfer", "launch", "memtest"
  virtual std::optional<std::string> precision() const { return std::nullopt; }
  virtual std::string unit() const = 0;          // "GB/s", "TFLOP/s", "TOP/s", "us", "GB"
  // Whether device figures add up to a node figure (bandwidths and rates do).
  virtual bool additive() const { return true; }
  // Higher is better (false for latencies).
  virtual bool higher_is_better() const { return true; }
  // Statistical checks in one run()'s validation (0: compared with a
  // deterministic reference): what the run's false-alarm budget is shared over.
  virtual int statistical_checks() const { return 0; }

  // Why it cannot run in this context ("" when it can).
  virtual std::string unsupported(const WorkloadContext& ctx) const = 0;
  // Sizes the problem, allocates and calibrates the timed region.
  virtual Status prepare(WorkloadContext& ctx) = 0;
  // One repetition: fresh random inputs, poisoned outputs, the timed region,
  // validation against the host reference.
  virtual Result<Measurement> run(WorkloadContext& ctx, std::uint64_t seed) = 0;
  // Repeats the timed region for at least `seconds` (the power reading).
  virtual Status sustain(WorkloadContext& ctx, double seconds) = 0;
  virtual json problem_size() const = 0;
  // Per-workload details after the repetitions (the transfer size sweep), or null.
  virtual json details() const { return nullptr; }
  virtual void release(WorkloadContext& ctx) = 0;
};

struct WorkloadEntry {
  std::string name;
  std::string family;
  std::function<std::unique_ptr<Workload>()> make;
  // Runs once for the whole node, on no device (storage): its result goes to the
  // node section only.
  bool node_only = false;
};

// Every workload, in run order.
const std::vector<WorkloadEntry>& workload_registry();

// Expands names and families ("stream", "fma", "transfer", "launch", "memtest")
// into workload names in registry order; a usage error names an unknown one.
Result<std::vector<std::string>> select_workloads(const std::vector<std::string>& tokens);

}  // namespace gpukit
