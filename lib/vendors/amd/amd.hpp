// AMD: the KFD topology in sysfs (library-free) and amd_smi / rocm_smi when present.
#pragma once

#include <string>
#include <vector>

#include "vendors/gpu_info.hpp"

namespace gpukit {

// GPUs from /sys/class/kfd/kfd/topology/nodes (gfx_target_version -> gfx90a, target
// id with xnack/sramecc, compute units, VRAM), enriched by amd_smi
// (libamd_smi.so, override GPUKIT_AMDSMI_LIBRARY) when it loads. Calls into the
// library run under `timeout_s`.
VendorInventory probe_amd(double timeout_s);

// "gfx90a" from KFD's gfx_target_version (90010 -> gfx90a, 90402 -> gfx942, 110000 -> gfx1100).
std::string gfx_name_from_target_version(long long version);

// The generic targets (code object V6) whose code objects load on `gfx`
// ("gfx942" -> {"gfx9-4-generic"}), from share/gpukit/amd-targets.json; empty when
// none or when the table cannot be read.
std::vector<std::string> amdgpu_generic_targets(const std::string& gfx);

}  // namespace gpukit
