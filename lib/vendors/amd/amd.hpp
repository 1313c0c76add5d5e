// AMD: the KFD topology in sysfs (library-free) and amd_smi / rocm_smi when present.
#pragma once

#include "vendors/gpu_info.hpp"

namespace gpukit {

// GPUs from /sys/class/kfd/kfd/topology/nodes (gfx_target_version -> gfx90a, target
// id with xnack/sramecc, compute units, VRAM), enriched by amd_smi
// (libamd_smi.so, override GPUKIT_AMDSMI_LIBRARY) when it loads. Calls into the
// library run under `timeout_s`.
VendorInventory probe_amd(double timeout_s);

// "gfx90a" from KFD's gfx_target_version (90010 -> gfx90a, 90402 -> gfx942, 110000 -> gfx1100).
std::string gfx_name_from_target_version(long long version);

}  // namespace gpukit
