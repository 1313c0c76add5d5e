// The runner: each selected workload on each selected device (warm-up,
// repetitions, statistics, validation, peak fraction, energy), then all GPUs
// at once for the node figures; every workload under a deadline, the whole
// run under another.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/energy.hpp"
#include "bench/options.hpp"
#include "bench/peak.hpp"
#include "bench/workload.hpp"
#include "compute/backend.hpp"
#include "compute/host_memory.hpp"
#include "core/stats.hpp"

namespace gpukit {

// A device as the benchmark sees it: what gpuprobe says and what runs it.
struct BenchDevice {
  std::string id;                   // "GPU-…", "MIG-…", "cpu"
  std::string kind;                 // "gpu", "mig", "cpu"
  std::string parent_uuid;          // MIG: the GPU it is part of
  std::string name;
  std::string vendor;               // "nvidia", "amd"; "" for the CPU
  std::string backend;              // "cuda", "hip", "cpu", ... ("" when none can run it)
  std::shared_ptr<Device> device;   // null when nothing can run it
  std::string unusable;             // why every workload is skipped ("" when it can run)
  int numa_node = -1;
  DeviceFacts facts;
  json environment = json::object();  // driver, runtime, plugin, clocks
  std::shared_ptr<EnergyMeter> meter; // null: energy_reason says why
  std::string energy_reason;
};

struct ResultRecord {
  std::string workload, family, unit;
  std::optional<std::string> precision;
  std::string status = "ok";        // "ok", "failed", "skipped"
  std::string reason;               // for failed and skipped
  bool deadline = false;            // failed because it did not finish in time
  bool higher_is_better = true;
  std::vector<double> values;       // one per repetition
  Summary stats;
  Validation validation;
  bool validated = false;           // a validation ran
  PeakFigure peak;
  std::optional<double> power_w_mean, energy_j, per_watt;
  std::string energy_reason;
  json telemetry = nullptr;         // before / after readings
  json problem_size = nullptr;
  json details = nullptr;
  double duration_s = 0;
  bool concurrent = false;          // node figure measured with every device at once
  std::vector<std::string> devices; // node figure: the devices it sums

  std::optional<double> value() const {
    if (status != "ok" || values.empty()) return std::nullopt;
    return stats.median;
  }
};

struct DeviceReport {
  BenchDevice device;
  std::vector<ResultRecord> results;
};

struct RunReport {
  std::vector<DeviceReport> devices;
  std::vector<std::string> node_devices;
  std::vector<ResultRecord> node_results;
  bool deadline_hit = false;        // a workload or the run ran out of time
  double duration_s = 0;
  std::uint64_t statistical_checks = 0;  // planned: at most this many were made
};

// Reports progress: called before each step with (done, total, label).
using ProgressFn = std::function<void(int, int, const std::string&)>;

class Runner {
 public:
  Runner(RunConfig config, std::shared_ptr<HostMemory> host, PeakModel peaks, std::vector<int> numa_nodes);
  void on_progress(ProgressFn fn) { progress_ = std::move(fn); }

  // Runs `workloads` (registry entries, in order) on every device, then the node figures.
  RunReport run(const std::vector<BenchDevice>& devices, const std::vector<WorkloadEntry>& workloads);

 private:
  WorkloadContext context_for(const BenchDevice& d) const;
  ResultRecord measure_guarded(const BenchDevice& d, const WorkloadEntry& w, double limit_s);
  ResultRecord measure_node(const std::vector<const BenchDevice*>& devices, const WorkloadEntry& w, double limit_s);
  ResultRecord measure_node_only(const WorkloadEntry& w, double limit_s);
  void finish(ResultRecord& r, const DeviceFacts* facts) const;

  RunConfig config_;
  std::shared_ptr<HostMemory> host_;
  PeakModel peaks_;
  std::vector<int> numa_nodes_;
  ProgressFn progress_;
};

namespace detail {
// The statistical checks a run of `workloads` on `devices` makes at most: every
// validated run (warm-up and repetitions) on every device that can run, and
// again on each GPU of the all-at-once node run when there is one.
std::uint64_t planned_statistical_checks(const RunConfig& config, const std::vector<BenchDevice>& devices,
                                         const std::vector<WorkloadEntry>& workloads);
// One workload on one device, start to end, on the calling thread.
ResultRecord measure(const WorkloadEntry& entry, WorkloadContext ctx, std::shared_ptr<EnergyMeter> meter);
// The header of a result: names, unit, precision.
ResultRecord result_header(const Workload& w);
}  // namespace detail

}  // namespace gpukit
