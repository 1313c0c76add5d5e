// NVIDIA: NVML and the CUDA driver API, opened at run time (never linked).
#pragma once

#include "vendors/gpu_info.hpp"

namespace gpukit {

// Inventory through NVML (libnvidia-ml.so.1, override GPUKIT_NVML_LIBRARY) and the
// CUDA driver API (libcuda.so.1, override GPUKIT_CUDA_LIBRARY) for what NVML lacks;
// /proc/driver/nvidia when NVML is absent. Every vendor call runs under
// `timeout_s` (run_with_deadline): a hung driver gives status timeout, never a hang.
VendorInventory probe_nvidia(double timeout_s);

}  // namespace gpukit
