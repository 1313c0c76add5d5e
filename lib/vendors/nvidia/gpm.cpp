#include "vendors/nvidia/gpm.hpp"

#include <utility>

namespace gpukit::detail {

namespace {

using namespace nvml;

struct GpmField {
  nvmlGpmMetricId_t id;
  std::optional<double> GpuActivity::*member;
  double scale;  // to gpukit's unit
};

// PCIe: NVML gives MiB/s; the record keeps bytes per second.
constexpr double mib = 1024.0 * 1024.0;
const GpmField gpm_fields[] = {
    {NVML_GPM_METRIC_SM_UTIL, &GpuActivity::sm_active_pct, 1},
    {NVML_GPM_METRIC_SM_OCCUPANCY, &GpuActivity::sm_occupancy_pct, 1},
    {NVML_GPM_METRIC_ANY_TENSOR_UTIL, &GpuActivity::tensor_active_pct, 1},
    {NVML_GPM_METRIC_DFMA_TENSOR_UTIL, &GpuActivity::tensor_dfma_active_pct, 1},
    {NVML_GPM_METRIC_FP64_UTIL, &GpuActivity::fp64_active_pct, 1},
    {NVML_GPM_METRIC_FP32_UTIL, &GpuActivity::fp32_active_pct, 1},
    {NVML_GPM_METRIC_FP16_UTIL, &GpuActivity::fp16_active_pct, 1},
    {NVML_GPM_METRIC_DRAM_BW_UTIL, &GpuActivity::dram_active_pct, 1},
    {NVML_GPM_METRIC_PCIE_TX_PER_SEC, &GpuActivity::pcie_tx_bytes_per_s, mib},
    {NVML_GPM_METRIC_PCIE_RX_PER_SEC, &GpuActivity::pcie_rx_bytes_per_s, mib},
};

}  // namespace

CallStatus GpmState::prepare(const NvmlLibrary& nvml, CallTracker& tracker, const GpmDevice& d) {
  const auto& api = nvml.api();
  nvmlGpmSupport_t support{NVML_GPM_SUPPORT_VERSION, 0};
  CallStatus st = nvml.check(tracker, api.nvmlGpmQueryDeviceSupport, d.label, d.gpu, &support);
  if (!st.ok()) return st;
  if (!support.isSupportedDevice) {
    st.code = NVML_ERROR_NOT_SUPPORTED;
    st.text = "GPM is not supported on this GPU (NVIDIA Hopper and newer have it)";
    return st;
  }
  for (nvmlGpmSample_t* buffer : {&previous_, &current_})
    if (CallStatus a = nvml.check(tracker, api.nvmlGpmSampleAlloc, d.label, buffer); !a.ok()) return a;
  prepared_ = true;
  return st;
}

CallStatus GpmState::read(const NvmlLibrary& nvml, CallTracker& tracker, const GpmDevice& d,
                          std::optional<GpuActivity>& activity) {
  const auto& api = nvml.api();
  if (unsupported_) return *unsupported_;
  if (!prepared_) {
    CallStatus st = prepare(nvml, tracker, d);
    // Anything but a device that failed means no GPM here, for the whole run.
    if (!st.ok()) {
      if (st.missing || st.code == NVML_ERROR_NOT_SUPPORTED || st.code == NVML_ERROR_NO_PERMISSION ||
          st.code == NVML_ERROR_FUNCTION_NOT_FOUND)
        unsupported_ = st;
      return st;
    }
  }
  CallStatus st = d.mig ? nvml.check(tracker, api.nvmlGpmMigSampleGet, d.label, d.gpu, d.gpu_instance_id, current_)
                        : nvml.check(tracker, api.nvmlGpmSampleGet, d.label, d.gpu, current_);
  if (!st.ok()) {
    have_previous_ = false;  // the next interval starts from a fresh sample
    return st;
  }
  if (have_previous_) {
    nvmlGpmMetricsGet_t get{};
    get.version = NVML_GPM_METRICS_GET_VERSION;
    get.numMetrics = static_cast<unsigned int>(std::size(gpm_fields));
    get.sample1 = previous_;
    get.sample2 = current_;
    for (unsigned int i = 0; i < get.numMetrics; ++i) get.metrics[i].metricId = gpm_fields[i].id;
    st = nvml.check(tracker, api.nvmlGpmMetricsGet, d.label, &get);
    if (st.ok()) {
      GpuActivity a;
      for (unsigned int i = 0; i < get.numMetrics; ++i)
        if (get.metrics[i].nvmlReturn == NVML_SUCCESS) a.*(gpm_fields[i].member) = get.metrics[i].value * gpm_fields[i].scale;
      activity = a;
    }
  }
  std::swap(previous_, current_);
  have_previous_ = true;
  return st;
}

void GpmState::release(const NvmlLibrary& nvml, CallTracker& tracker) {
  for (nvmlGpmSample_t* buffer : {&previous_, &current_})
    if (*buffer) {
      nvml.check(tracker, nvml.api().nvmlGpmSampleFree, "", *buffer);
      *buffer = nullptr;
    }
  prepared_ = false;
}

}  // namespace gpukit::detail
