// Device-node minors that batch systems and container runtimes bind: /dev/nvidiaN
// and /dev/nvidia-caps/nvidia-capN for MIG instances, read from the driver's
// /proc files (no library needed).
#pragma once

#include <optional>
#include <string>

namespace gpukit {

// N of /dev/nvidiaN for the GPU at `bus_id` ("Device Minor" in
// /proc/driver/nvidia/gpus/<bus_id>/information).
std::optional<int> nvidia_device_minor(const std::string& bus_id);

// The nvidia-cap minor of a MIG GPU instance (ci < 0) or compute instance, from
// /proc/driver/nvidia-caps/mig-minors ("gpu0/gi1/access 12", "gpu0/gi1/ci0/access 13").
std::optional<int> nvidia_mig_cap_minor(int device_minor, int gi, int ci = -1);

}  // namespace gpukit
