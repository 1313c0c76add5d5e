// NVML opened at run time: libnvidia-ml.so.1 (or GPUKIT_NVML_LIBRARY), each entry
// point resolved to the newest version the library exports. A missing entry point
// is a missing feature: calls through it fail with a status that says so.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vendors/nvidia/nvml_api.hpp"
#include "vendors/nvidia/nvml_gpm_api.hpp"
#include "vendors/nvidia/vendor_call.hpp"

namespace gpukit::detail {

// Members are named after the entry points (without version suffix).
struct NvmlFunctions {
  VendorFunction<nvml::nvmlErrorString_fn> nvmlErrorString;
  VendorFunction<nvml::nvmlInit_fn> nvmlInit;
  VendorFunction<nvml::nvmlShutdown_fn> nvmlShutdown;
  VendorFunction<nvml::nvmlSystemGetString_fn> nvmlSystemGetDriverVersion;
  VendorFunction<nvml::nvmlSystemGetString_fn> nvmlSystemGetNVMLVersion;
  VendorFunction<nvml::nvmlSystemGetCudaDriverVersion_fn> nvmlSystemGetCudaDriverVersion;
  VendorFunction<nvml::nvmlDeviceGetCount_fn> nvmlDeviceGetCount;
  VendorFunction<nvml::nvmlDeviceGetHandleByIndex_fn> nvmlDeviceGetHandleByIndex;
  VendorFunction<nvml::nvmlDeviceGetString_fn> nvmlDeviceGetName;
  VendorFunction<nvml::nvmlDeviceGetString_fn> nvmlDeviceGetUUID;
  VendorFunction<nvml::nvmlDeviceGetPciInfo_fn> nvmlDeviceGetPciInfo;
  VendorFunction<nvml::nvmlDeviceGetMemoryInfo_fn> nvmlDeviceGetMemoryInfo;
  VendorFunction<nvml::nvmlDeviceGetCudaComputeCapability_fn> nvmlDeviceGetCudaComputeCapability;
  VendorFunction<nvml::nvmlDeviceGetClock_fn> nvmlDeviceGetMaxClockInfo;
  VendorFunction<nvml::nvmlDeviceGetClock_fn> nvmlDeviceGetClockInfo;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetMemoryBusWidth;
  VendorFunction<nvml::nvmlDeviceGetEccMode_fn> nvmlDeviceGetEccMode;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetEnforcedPowerLimit;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetPowerManagementLimit;
  VendorFunction<nvml::nvmlDeviceGetComputeMode_fn> nvmlDeviceGetComputeMode;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetMaxPcieLinkGeneration;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetMaxPcieLinkWidth;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetCurrPcieLinkGeneration;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetCurrPcieLinkWidth;
  VendorFunction<nvml::nvmlDeviceGetMigMode_fn> nvmlDeviceGetMigMode;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetMaxMigDeviceCount;
  VendorFunction<nvml::nvmlDeviceGetMigDeviceHandleByIndex_fn> nvmlDeviceGetMigDeviceHandleByIndex;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetGpuInstanceId;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetComputeInstanceId;
  VendorFunction<nvml::nvmlDeviceGetAttributes_fn> nvmlDeviceGetAttributes;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetPowerUsage;
  VendorFunction<nvml::nvmlDeviceGetULongLong_fn> nvmlDeviceGetTotalEnergyConsumption;
  VendorFunction<nvml::nvmlDeviceGetUtilizationRates_fn> nvmlDeviceGetUtilizationRates;
  VendorFunction<nvml::nvmlDeviceGetTemperature_fn> nvmlDeviceGetTemperature;
  VendorFunction<nvml::nvmlDeviceGetULongLong_fn> nvmlDeviceGetCurrentClocksEventReasons;
  VendorFunction<nvml::nvmlDeviceGetTotalEccErrors_fn> nvmlDeviceGetTotalEccErrors;
  VendorFunction<nvml::nvmlDeviceGetComputeRunningProcesses_fn> nvmlDeviceGetComputeRunningProcesses;
  VendorFunction<nvml::nvmlDeviceGetProcessUtilization_fn> nvmlDeviceGetProcessUtilization;
  // Health (gpuprobe --health).
  VendorFunction<nvml::nvmlDeviceGetRemappedRows_fn> nvmlDeviceGetRemappedRows;
  VendorFunction<nvml::nvmlDeviceGetRetiredPages_v2_fn> nvmlDeviceGetRetiredPages_v2;
  VendorFunction<nvml::nvmlDeviceGetRetiredPages_fn> nvmlDeviceGetRetiredPages;
  VendorFunction<nvml::nvmlDeviceGetEnableState_fn> nvmlDeviceGetRetiredPagesPendingStatus;
  VendorFunction<nvml::nvmlDeviceValidateInforom_fn> nvmlDeviceValidateInforom;
  VendorFunction<nvml::nvmlDeviceGetEnableState_fn> nvmlDeviceGetPersistenceMode;
  VendorFunction<nvml::nvmlDeviceGetUInt_fn> nvmlDeviceGetPcieReplayCounter;
  VendorFunction<nvml::nvmlDeviceGetGpuFabricInfoV_fn> nvmlDeviceGetGpuFabricInfoV;
  VendorFunction<nvml::nvmlDeviceGetGpuFabricInfo_fn> nvmlDeviceGetGpuFabricInfo;
  VendorFunction<nvml::nvmlEventSetCreate_fn> nvmlEventSetCreate;
  VendorFunction<nvml::nvmlDeviceRegisterEvents_fn> nvmlDeviceRegisterEvents;
  VendorFunction<nvml::nvmlEventSetWait_fn> nvmlEventSetWait;
  VendorFunction<nvml::nvmlEventSetFree_fn> nvmlEventSetFree;
  VendorFunction<nvml::nvmlDeviceGetULongLong_fn> nvmlDeviceGetSupportedEventTypes;  // gpuaccount's events
  // GPM (R520 and newer; nvml_gpm_api.hpp)
  VendorFunction<nvml::nvmlGpmQueryDeviceSupport_fn> nvmlGpmQueryDeviceSupport;
  VendorFunction<nvml::nvmlGpmSampleAlloc_fn> nvmlGpmSampleAlloc;
  VendorFunction<nvml::nvmlGpmSampleFree_fn> nvmlGpmSampleFree;
  VendorFunction<nvml::nvmlGpmSampleGet_fn> nvmlGpmSampleGet;
  VendorFunction<nvml::nvmlGpmMigSampleGet_fn> nvmlGpmMigSampleGet;
  VendorFunction<nvml::nvmlGpmMetricsGet_fn> nvmlGpmMetricsGet;
};

class NvmlLibrary {
 public:
  // Opens GPUKIT_NVML_LIBRARY or libnvidia-ml.so.1 and resolves every entry point.
  // The error carries dlerror()'s text.
  static Result<std::shared_ptr<NvmlLibrary>> open();

  const NvmlFunctions& api() const { return api_; }
  // Preferred names of the entry points the library lacks ("nvmlDeviceGetMemoryBusWidth").
  const std::vector<std::string>& missing_symbols() const { return missing_; }
  // Layouts that depend on the version resolved.
  bool pci_info_v1() const;
  bool process_info_v1() const;

  // The one checking helper: calls `f` for `device` ("GPU 2"; empty for system
  // calls), recording it in `tracker` first, and turns the nvmlReturn_t into a
  // CallStatus whose error()/note() name the call and the device.
  template <class F, class... Args>
  CallStatus check(CallTracker& tracker, const VendorFunction<F>& f, const std::string& device, Args... args) const {
    if (!f) return unavailable(f.name, device);
    tracker.current.store(f.name);
    nvml::nvmlReturn_t code = f.fn(args...);
    return status(code, f.name, device);
  }

 private:
  explicit NvmlLibrary(std::shared_ptr<DynamicLibrary> library);
  static void resolve_health(DynamicLibrary& library, NvmlFunctions& api, std::vector<std::string>& missing);
  CallStatus status(nvml::nvmlReturn_t code, const char* call, const std::string& device) const;
  CallStatus unavailable(const char* call, const std::string& device) const;

  std::shared_ptr<DynamicLibrary> library_;
  NvmlFunctions api_;
  std::vector<std::string> missing_;
};

}  // namespace gpukit::detail
