// Internals of the AMD layer, shared by kfd.cpp, amdsmi.cpp, probe_amd.cpp and the
// unit tests: the KFD sysfs topology, target IDs, and the amd_smi query.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpukit {
class DynamicLibrary;
}

namespace gpukit::detail {

// Bits of the KFD node `capability` property (Linux include/uapi/linux/kfd_sysfs.h).
// SRAM ECC moved from bit 19 to bit 26 in Linux 5.11; bit 19 now reads 0.
inline constexpr std::uint32_t kfd_cap_mem_edc_supported = 0x00100000;   // HSA_CAP_MEM_EDCSUPPORTED
inline constexpr std::uint32_t kfd_cap_sram_edc_supported = 0x04000000;  // HSA_CAP_SRAM_EDCSUPPORTED

// One GPU node of /sys/class/kfd/kfd/topology/nodes (CPU nodes are skipped).
struct KfdNode {
  int node = 0;                          // directory number
  int drm_render_minor = -1;             // -1: not reported
  long long gfx_target_version = 0;      // 90010
  int simd_count = 0, simd_per_cu = 0;
  std::uint32_t domain = 0, location_id = 0;
  std::uint64_t unique_id = 0;
  std::uint32_t capability = 0;
  int vendor_id = 0, device_id = 0;
  std::optional<int> max_engine_clock_mhz;     // max_engine_clk_fcompute
  std::optional<std::uint64_t> local_memory_bytes;  // sum of the frame-buffer heaps
  std::optional<int> memory_clock_mhz, memory_width_bits;
  std::string name;                      // nodes/N/name ("aldebaran")
};

// GPU nodes in node order; empty when the topology is absent.
std::vector<KfdNode> read_kfd_nodes();

// "GPU-<16 hex digits>" from KFD's unique_id: the UUID gpuprobe gives an AMD GPU
// (empty when unique_id is 0, i.e. not reported).
std::string kfd_gpu_uuid(std::uint64_t unique_id);

// "0000:c1:00.0" from the KFD domain and location_id (bus << 8 | device << 3 | function).
std::string kfd_bus_id(std::uint32_t domain, std::uint32_t location_id);

// What amd-targets.json says about one processor.
struct AmdTargetInfo {
  bool known = false;
  bool sramecc = false, xnack = false;   // target-ID features it takes
  bool xnack_per_process = false;
  std::optional<bool> noretry_default;
  std::vector<std::string> generic;      // generic targets that run on it
};
// Reads share/gpukit/amd-targets.json; an error when the file is missing or malformed.
Result<AmdTargetInfo> amd_target_info(const std::string& gfx);

// The process's XNACK mode as the ROCm runtime would set it: `hsa_xnack` is the
// HSA_XNACK environment value ("" when unset), `noretry` the amdgpu module
// parameter (-1 auto, 0, 1; nullopt when unreadable). nullopt: cannot tell.
std::optional<bool> xnack_enabled(const AmdTargetInfo& target, const std::string& hsa_xnack, std::optional<int> noretry);

// "gfx90a:sramecc+:xnack-": the canonical target ID (features in alphabetical
// order); a feature whose state is unknown is left out, which in a target ID
// means "any".
std::string make_target_id(const std::string& gfx, const AmdTargetInfo& target, bool sramecc_on,
                           std::optional<bool> xnack_on);

// What amd_smi reported for one GPU.
struct AmdSmiDevice {
  std::string bus_id;                    // "0000:c1:00.0"
  std::string market_name;
  std::optional<std::uint64_t> vram_bytes;
  std::string driver_version;
  std::optional<double> power_cap_w;
};

struct AmdSmiInventory {
  std::string library_path;
  std::vector<std::string> missing_symbols;
  std::vector<AmdSmiDevice> devices;
};

// Loads libamd_smi (GPUKIT_AMDSMI_LIBRARY overrides the search by SONAME).
Result<std::shared_ptr<DynamicLibrary>> open_amdsmi_library();

// Opens amd_smi (GPUKIT_AMDSMI_LIBRARY overrides), initialises it and reads every
// GPU, all under `timeout_s`. Errors: environment (library absent, init failed,
// with the amd_smi status text) or deadline.
Result<AmdSmiInventory> query_amdsmi(double timeout_s);

}  // namespace gpukit::detail
