// Vendor-neutral description of what a vendor layer found. Only lib/vendors
// fills these; lib/probe turns them into the node document.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpukit {

// Per-vendor outcome of a probe, as reported in drivers.<vendor>.status.
enum class VendorState { ok, no_gpu, driver_absent, library_absent, init_failed, permission_denied, timeout };
const char* to_string(VendorState state);

struct VendorStatus {
  VendorState state = VendorState::no_gpu;
  std::string reason;  // empty for ok
};

struct VersionInfo {
  std::string raw;                 // "550.54.14", "12.4", "6.3.6"
  std::vector<int> parts;          // {550, 54, 14}
};
// Splits "550.54.14" into numbers; non-numeric tails are kept only in raw.
VersionInfo make_version(const std::string& raw);

struct MigInstance {
  std::string uuid;                // "MIG-…" (full)
  std::string profile;             // "1g.10gb"
  std::optional<std::uint64_t> memory_bytes;
  std::optional<int> multiprocessors;
  std::optional<int> gpu_instance_id, compute_instance_id;
  std::optional<int> index;        // NVML MIG device index under its parent
  // Minor numbers of /dev/nvidia-caps/nvidia-cap<N> for this GPU instance and
  // compute instance (from /proc/driver/nvidia-caps/mig-minors): what Slurm and
  // container runtimes bind.
  std::optional<int> gi_cap_minor, ci_cap_minor;
};

struct PcieLink {
  std::optional<int> max_generation, max_width, current_generation, current_width;
};

struct GpuRecord {
  std::string vendor;              // "nvidia", "amd", "intel"
  int index = 0;                   // the vendor's enumeration order (NVML index, KFD order)
  std::optional<int> cuda_index;   // NVIDIA: ordinal in the CUDA driver API's default (fastest-first) order
  std::string name;
  std::string uuid;                // "GPU-…" for NVIDIA; AMD: "GPU-<unique_id hex>" when known
  std::string pci_bus_id;          // "0000:17:00.0" (lowercase, 4-digit domain)
  std::optional<std::uint64_t> memory_bytes;
  std::optional<int> multiprocessors;     // SMs or CUs
  std::optional<int> cc_major, cc_minor;  // NVIDIA compute capability
  std::string gfx_target;                 // AMD: "gfx90a"
  std::string target_id;                  // AMD: "gfx90a:sramecc+:xnack-"
  std::optional<int> max_sm_clock_mhz, max_memory_clock_mhz;
  std::optional<int> memory_bus_width_bits;
  std::optional<bool> ecc_enabled;
  std::optional<double> power_limit_w;
  std::string compute_mode;               // "default", "exclusive_process", "prohibited"
  PcieLink pcie;
  std::optional<int> numa_node;
  std::string local_cpus;                 // "0-31,64-95"
  std::string mig_mode;                   // "enabled", "disabled", "unsupported", "" (unknown)
  std::vector<MigInstance> mig_instances;
  std::string pci_device_id;              // "0x2330"
  std::optional<int> device_minor;        // NVIDIA: N of /dev/nvidiaN
  std::optional<int> drm_render_minor;    // AMD: N of /dev/dri/renderD<N>
  std::string source;                     // "nvml", "nvml+cuda", "kfd", "kfd+amdsmi", "pci", "procfs"
  std::vector<std::string> notes;         // facts that could not be read and why
};

struct VendorInventory {
  std::string vendor;
  VendorStatus status;
  std::optional<VersionInfo> driver_version;   // kernel driver ("550.54.14")
  std::optional<VersionInfo> cuda_version;     // NVIDIA: the driver's CUDA version ("12.4")
  std::optional<VersionInfo> library_version;  // NVML / amd_smi version
  std::optional<VersionInfo> hip_version;      // AMD: HIP of the ROCm install ("6.2.41133"), as hipDriverGetVersion
  std::string source;                          // "nvml", "procfs", "kfd", ...
  std::vector<std::string> missing_symbols;
  std::vector<GpuRecord> gpus;
};

}  // namespace gpukit
