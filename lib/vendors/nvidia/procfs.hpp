// /proc/driver/nvidia: what the kernel driver tells without NVML.
#pragma once

#include <string>

#include "vendors/gpu_info.hpp"

namespace gpukit::detail {

// The inventory when NVML cannot be opened (`nvml_error` is dlopen's text):
// library_absent with the driver version and GPUs from /proc/driver/nvidia (under
// GPUKIT_SYSFS_ROOT) when the driver is loaded, driver_absent when it is not.
VendorInventory probe_nvidia_procfs(const std::string& nvml_error);

}  // namespace gpukit::detail
