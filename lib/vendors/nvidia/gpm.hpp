// NVML GPM for one device (a GPU, or a MIG instance through its GPU): two
// sample buffers used in turn, the metrics computed between the previous
// sample and this one. Kept per device across samples, shared with the
// deadline's worker thread (hence held by shared_ptr).
#pragma once

#include <optional>
#include <string>

#include "vendors/nvidia/nvml_gpm_api.hpp"
#include "vendors/nvidia/nvml_library.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit::detail {

struct GpmDevice {
  std::string label;             // "GPU 0", "GPU 0 MIG 1"
  nvml::nvmlDevice_t gpu = nullptr;  // the GPU (a MIG instance's parent)
  bool mig = false;
  unsigned int gpu_instance_id = 0;
};

class GpmState {
 public:
  // Reads this interval's activity into `activity` (empty at the first
  // sample). A status that is not ok names the call: the device or driver
  // has no GPM (remembered: not asked again), or this sample failed.
  CallStatus read(const NvmlLibrary& nvml, CallTracker& tracker, const GpmDevice& device,
                  std::optional<GpuActivity>& activity);
  // Frees the sample buffers (before nvmlShutdown).
  void release(const NvmlLibrary& nvml, CallTracker& tracker);

 private:
  CallStatus prepare(const NvmlLibrary& nvml, CallTracker& tracker, const GpmDevice& device);
  std::optional<CallStatus> unsupported_;
  bool prepared_ = false, have_previous_ = false;
  nvml::nvmlGpmSample_t previous_ = nullptr, current_ = nullptr;
};

}  // namespace gpukit::detail
