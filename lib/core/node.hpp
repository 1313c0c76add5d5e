// The typed node model: gpuprobe's sections (host, cpu, memory, drivers, gpus,
// visible) and the bench section, read once and checked (ARCHITECTURE.md
// section 1, "One reader"). This is the only code that reads another tool's
// section; bench, match, account, cost and the probe formats take these types.
//
// The document stays the carrier: keys and sections the model does not know
// are kept there untouched, and a tool writes the document, never the model.
// Absent and null fields are nullopt ("unknown"); a present field of the
// wrong type or out of range is a usage error naming its JSON path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

using OptText = std::optional<std::string>;
using OptInt = std::optional<std::int64_t>;
using OptBytes = std::optional<std::uint64_t>;
using OptNumber = std::optional<double>;
using OptBool = std::optional<bool>;

struct NodeHost {
  OptText hostname, kernel, arch, batch_system;
  OptText os_pretty_name;     // host.os.pretty_name
  OptText container_runtime;  // host.container.runtime
};

struct NodeNumaNode {
  OptInt index;
  OptText cpus;  // a CPU list, "0-31,64-95"
  OptBytes memory_bytes;
};

struct NodeAllowedCpus {  // cpu.allowed: what this process may run on
  OptText cpus;
  OptInt count;
  OptNumber usable_cpus, cgroup_quota_cpus;
};

struct NodeCpu {
  OptText model;
  OptText vendor, architecture;   // "GenuineIntel", "x86_64"
  std::vector<std::string> isa;   // instruction-set extensions gpuprobe found ("avx2", ...)
  OptInt sockets, cores, threads;
  OptNumber max_clock_mhz;
  std::vector<NodeNumaNode> numa_nodes;
  bool has_numa_nodes = false;
  std::optional<NodeAllowedCpus> allowed;
};

struct NodeMemory {
  OptBytes total_bytes, available_bytes, cgroup_limit_bytes, memlock_limit_bytes;
};

struct NodeVersion {  // drivers.<vendor>.driver_version / cuda_version
  OptText raw;
  std::vector<std::int64_t> parts;
  OptInt value;  // CUDA: major*1000 + minor*10
};

struct NodeDriver {  // drivers.<vendor>
  std::string vendor;  // the key: "nvidia", "amd", ...
  OptText status, reason, source;
  OptInt gpu_count;
  std::optional<NodeVersion> driver_version, cuda_version;
  std::optional<NodeVersion> hip_version;  // AMD: the ROCm install's HIP ("6.2.41133")
};

struct NodeMigInstance {  // gpus[].mig.instances[]
  OptText uuid, profile;
  OptInt index, gpu_instance_id, compute_instance_id, gi_cap_minor, ci_cap_minor;
  OptBytes memory_bytes;
  OptInt multiprocessors;
};

// One check of gpus[].health.checks[] or health.checks[] (the node's own):
// written by gpuprobe --health (level 1) and gpubench --check (level 2).
struct NodeHealthCheck {
  std::string name;
  std::string status;     // pass, warn, fail, unsupported, timeout
  OptInt level;           // 1 or 2
  json value, threshold;  // as read and as compared (number, boolean, string, array, object or null)
  OptText source, reason, dcgm_code;

  bool failed() const { return status == "fail"; }
};

// gpus[].health, and the node summary (the top-level health section).
struct NodeHealth {
  OptInt level;    // the highest level that ran
  OptText status;  // the worst status of the checks
  std::vector<NodeHealthCheck> checks;

  std::vector<const NodeHealthCheck*> failures() const;
};

// "pass", "warn", "fail", "unsupported", "timeout".
bool is_health_status(std::string_view status);
// The worse of two statuses: fail > timeout > warn > pass > unsupported.
std::string_view worse_health_status(std::string_view a, std::string_view b);

struct NodeGpu {  // gpus[]
  OptText vendor, name, uuid, pci_bus_id, pci_device_id, compute_mode, local_cpus;
  OptInt index, multiprocessors, numa_node, device_minor, drm_render_minor, memory_bus_width_bits;
  OptBytes memory_bytes;
  OptBool allocatable, driver_loaded, ecc_enabled;
  OptInt cc_major, cc_minor;            // compute_capability (NVIDIA)
  OptText gfx, target_id;               // amdgpu (AMD)
  std::vector<std::string> generic_targets;
  bool has_amdgpu = false, has_compute_capability = false;
  OptInt max_sm_mhz, max_memory_mhz;    // clocks
  OptInt pcie_current_generation, pcie_current_width, pcie_max_generation, pcie_max_width;
  bool has_pcie = false;
  OptText mig_mode;                     // mig.mode: "enabled", "disabled", "unsupported"
  std::vector<NodeMigInstance> mig_instances;
  json catalogue;  // gpuprobe's catalogue entry as it is (null when absent): its own data
  std::optional<NodeHealth> health;  // nullopt: no health data (matches as a healthy GPU)

  bool mig_enabled() const { return mig_mode && *mig_mode == "enabled"; }
  // No failed health check (a GPU without health data counts as healthy).
  bool healthy() const { return !health || health->failures().empty(); }
};

struct NodeVisibleDevice {  // visible.devices[]
  OptText kind, vendor, uuid, parent_uuid, selected_by;
  OptInt gpu_index, runtime_index;
};

struct NodeVisible {
  bool restricted = false;
  bool has_devices = false;  // the devices key is there (an older gpuprobe may not write it)
  std::vector<NodeVisibleDevice> devices;
  std::vector<std::string> problems;
  std::vector<std::pair<std::string, OptText>> environment;  // variable, value
};

struct NodeModel {
  std::optional<NodeHost> host;
  std::optional<NodeCpu> cpu;
  std::optional<NodeMemory> memory;
  std::optional<std::vector<NodeDriver>> drivers;  // in document order
  std::optional<std::vector<NodeGpu>> gpus;
  std::optional<NodeVisible> visible;
  std::optional<NodeHealth> health;  // the top-level health section: the node's own checks

  // drivers.<vendor>, or nullptr.
  const NodeDriver* driver(std::string_view vendor) const;
  const std::vector<NodeGpu>& gpu_list() const;  // empty when there is no gpus section
};

// Builds the model from gpuprobe's sections of `document`. Errors are usage
// errors "<origin>: /gpus/2/memory_bytes: expected an integer >= 0 or null,
// found a string".
Result<NodeModel> read_node_model(const Document& document, const std::string& origin);
// The same from a document's root object that did not pass through
// Document::parse (the sections' JSON types are checked here too).
Result<NodeModel> read_node_model(const json& root, const std::string& origin);

// One gpuprobe section on its own, as the tools that keep a section rather
// than a document hold it (gpuaccount's inventory).
Result<std::vector<NodeGpu>> read_gpus_section(const json& gpus, const std::string& origin);
Result<NodeVisible> read_visible_section(const json& visible, const std::string& origin);
// A health object (gpus[].health or the health section) at `path`.
Result<NodeHealth> read_health(const json& health, const std::string& path, const std::string& origin);

// gpubench's section as its consumers (gpumatch, gpucost) read it: one shared
// accessor set for the bench section, checked like the model.
struct BenchResultView {
  OptText workload, status, unit;
  OptNumber value;
};

struct BenchDeviceView {
  OptText id, kind;
  OptNumber score, power_w_mean;
  std::vector<BenchResultView> results;
};

struct BenchView {
  bool has_scores = false;
  OptNumber gpu_node, cpu_node, node;  // bench.scores
  OptText reference;                   // bench.scores.reference
  std::vector<BenchDeviceView> devices;
  std::vector<BenchResultView> node_results;  // bench.node.results: all-GPU figures and storage
};

// nullopt when the document has no bench section.
Result<std::optional<BenchView>> read_bench_view(const Document& document, const std::string& origin);

}  // namespace gpukit
