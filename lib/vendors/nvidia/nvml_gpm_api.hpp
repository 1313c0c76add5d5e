// NVML's GPU Performance Monitoring (GPM, Hopper and newer; nvml.h of CUDA 12.x
// and 13.x, "GPM Enums" and "GPM Structs"), declared here as the
// rest of NVML is (nvml_api.hpp). Layouts pinned by the static_asserts; the fake
// library shares them.
#pragma once

#include <cstddef>

#include "vendors/nvidia/nvml_api.hpp"

namespace gpukit::detail::nvml {

// nvmlGpmMetricId_t: the metrics gpukit reads, with DCGM's profiling field
// for each (man gpuaccount).
enum nvmlGpmMetricId_t : unsigned int {
  NVML_GPM_METRIC_SM_UTIL = 2,            // DCGM_FI_PROF_SM_ACTIVE
  NVML_GPM_METRIC_SM_OCCUPANCY = 3,       // DCGM_FI_PROF_SM_OCCUPANCY
  NVML_GPM_METRIC_ANY_TENSOR_UTIL = 5,    // DCGM_FI_PROF_PIPE_TENSOR_ACTIVE
  NVML_GPM_METRIC_DFMA_TENSOR_UTIL = 6,   // DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE
  NVML_GPM_METRIC_DRAM_BW_UTIL = 10,      // DCGM_FI_PROF_DRAM_ACTIVE
  NVML_GPM_METRIC_FP64_UTIL = 11,         // DCGM_FI_PROF_PIPE_FP64_ACTIVE
  NVML_GPM_METRIC_FP32_UTIL = 12,         // DCGM_FI_PROF_PIPE_FP32_ACTIVE
  NVML_GPM_METRIC_FP16_UTIL = 13,         // DCGM_FI_PROF_PIPE_FP16_ACTIVE
  NVML_GPM_METRIC_PCIE_TX_PER_SEC = 20,   // DCGM_FI_PROF_PCIE_TX_BYTES (NVML: MiB/s)
  NVML_GPM_METRIC_PCIE_RX_PER_SEC = 21,   // DCGM_FI_PROF_PCIE_RX_BYTES (NVML: MiB/s)
};

// NVML_GPM_METRIC_MAX of CUDA 12.x's nvml.h: the array's length in
// nvmlGpmMetricsGet_t. The library reads numMetrics entries only, so a newer
// header's larger maximum does not change what a caller passes.
constexpr unsigned int NVML_GPM_METRIC_MAX = 98;
constexpr unsigned int NVML_GPM_METRICS_GET_VERSION = 1;
constexpr unsigned int NVML_GPM_SUPPORT_VERSION = 1;

struct nvmlGpmSample_st;
using nvmlGpmSample_t = nvmlGpmSample_st*;

struct nvmlGpmMetric_t {
  unsigned int metricId;    // in
  nvmlReturn_t nvmlReturn;  // out: value is valid only when NVML_SUCCESS
  double value;             // out
  struct {
    char* shortName;
    char* longName;
    char* unit;
  } metricInfo;             // out; may be null
};

struct nvmlGpmMetricsGet_t {
  unsigned int version;     // NVML_GPM_METRICS_GET_VERSION
  unsigned int numMetrics;
  nvmlGpmSample_t sample1;  // the earlier
  nvmlGpmSample_t sample2;
  nvmlGpmMetric_t metrics[NVML_GPM_METRIC_MAX];
};

struct nvmlGpmSupport_t {
  unsigned int version;  // NVML_GPM_SUPPORT_VERSION
  unsigned int isSupportedDevice;
};

static_assert(sizeof(nvmlGpmMetric_t) == 40 && offsetof(nvmlGpmMetric_t, value) == 8);
static_assert(offsetof(nvmlGpmMetricsGet_t, sample1) == 8 && offsetof(nvmlGpmMetricsGet_t, metrics) == 24);
static_assert(sizeof(nvmlGpmSupport_t) == 8);

using nvmlGpmQueryDeviceSupport_fn = nvmlReturn_t(nvmlDevice_t, nvmlGpmSupport_t*);
using nvmlGpmSampleAlloc_fn = nvmlReturn_t(nvmlGpmSample_t*);
using nvmlGpmSampleFree_fn = nvmlReturn_t(nvmlGpmSample_t);
using nvmlGpmSampleGet_fn = nvmlReturn_t(nvmlDevice_t, nvmlGpmSample_t);
using nvmlGpmMigSampleGet_fn = nvmlReturn_t(nvmlDevice_t, unsigned int, nvmlGpmSample_t);  // the GPU, its GPU instance id
using nvmlGpmMetricsGet_fn = nvmlReturn_t(nvmlGpmMetricsGet_t*);

}  // namespace gpukit::detail::nvml
