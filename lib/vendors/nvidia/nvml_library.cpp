#include "vendors/nvidia/nvml_library.hpp"

#include <cctype>
#include <cstring>

namespace gpukit::detail {

std::string cuda_version_string(int encoded) {
  return std::to_string(encoded / 1000) + "." + std::to_string(encoded % 1000 / 10);
}

Result<std::shared_ptr<NvmlLibrary>> NvmlLibrary::open() {
  auto library = DynamicLibrary::open({"libnvidia-ml.so.1"}, "GPUKIT_NVML_LIBRARY");
  if (!library) return library.error();
  return std::shared_ptr<NvmlLibrary>(new NvmlLibrary(*library));
}

NvmlLibrary::NvmlLibrary(std::shared_ptr<DynamicLibrary> library) : library_(std::move(library)) {
  DynamicLibrary& l = *library_;
  auto& a = api_;
  auto& m = missing_;
  a.nvmlErrorString = resolve<nvml::nvmlErrorString_fn>(l, {"nvmlErrorString"}, m);
  a.nvmlInit = resolve<nvml::nvmlInit_fn>(l, {"nvmlInit_v2", "nvmlInit"}, m);
  a.nvmlShutdown = resolve<nvml::nvmlShutdown_fn>(l, {"nvmlShutdown"}, m);
  a.nvmlSystemGetDriverVersion = resolve<nvml::nvmlSystemGetString_fn>(l, {"nvmlSystemGetDriverVersion"}, m);
  a.nvmlSystemGetNVMLVersion = resolve<nvml::nvmlSystemGetString_fn>(l, {"nvmlSystemGetNVMLVersion"}, m);
  a.nvmlSystemGetCudaDriverVersion = resolve<nvml::nvmlSystemGetCudaDriverVersion_fn>(
      l, {"nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"}, m);
  a.nvmlDeviceGetCount = resolve<nvml::nvmlDeviceGetCount_fn>(l, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"}, m);
  a.nvmlDeviceGetHandleByIndex = resolve<nvml::nvmlDeviceGetHandleByIndex_fn>(
      l, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"}, m);
  a.nvmlDeviceGetName = resolve<nvml::nvmlDeviceGetString_fn>(l, {"nvmlDeviceGetName"}, m);
  a.nvmlDeviceGetUUID = resolve<nvml::nvmlDeviceGetString_fn>(l, {"nvmlDeviceGetUUID"}, m);
  a.nvmlDeviceGetPciInfo = resolve<nvml::nvmlDeviceGetPciInfo_fn>(
      l, {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo"}, m);
  a.nvmlDeviceGetMemoryInfo = resolve<nvml::nvmlDeviceGetMemoryInfo_fn>(l, {"nvmlDeviceGetMemoryInfo"}, m);
  a.nvmlDeviceGetCudaComputeCapability =
      resolve<nvml::nvmlDeviceGetCudaComputeCapability_fn>(l, {"nvmlDeviceGetCudaComputeCapability"}, m);
  a.nvmlDeviceGetMaxClockInfo = resolve<nvml::nvmlDeviceGetClock_fn>(l, {"nvmlDeviceGetMaxClockInfo"}, m);
  a.nvmlDeviceGetClockInfo = resolve<nvml::nvmlDeviceGetClock_fn>(l, {"nvmlDeviceGetClockInfo"}, m);
  a.nvmlDeviceGetMemoryBusWidth = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetMemoryBusWidth"}, m);
  a.nvmlDeviceGetEccMode = resolve<nvml::nvmlDeviceGetEccMode_fn>(l, {"nvmlDeviceGetEccMode"}, m);
  a.nvmlDeviceGetEnforcedPowerLimit = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetEnforcedPowerLimit"}, m);
  a.nvmlDeviceGetPowerManagementLimit =
      resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetPowerManagementLimit"}, m);
  a.nvmlDeviceGetComputeMode = resolve<nvml::nvmlDeviceGetComputeMode_fn>(l, {"nvmlDeviceGetComputeMode"}, m);
  a.nvmlDeviceGetMaxPcieLinkGeneration =
      resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetMaxPcieLinkGeneration"}, m);
  a.nvmlDeviceGetMaxPcieLinkWidth = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetMaxPcieLinkWidth"}, m);
  a.nvmlDeviceGetCurrPcieLinkGeneration =
      resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetCurrPcieLinkGeneration"}, m);
  a.nvmlDeviceGetCurrPcieLinkWidth = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetCurrPcieLinkWidth"}, m);
  a.nvmlDeviceGetMigMode = resolve<nvml::nvmlDeviceGetMigMode_fn>(l, {"nvmlDeviceGetMigMode"}, m);
  a.nvmlDeviceGetMaxMigDeviceCount = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetMaxMigDeviceCount"}, m);
  a.nvmlDeviceGetMigDeviceHandleByIndex =
      resolve<nvml::nvmlDeviceGetMigDeviceHandleByIndex_fn>(l, {"nvmlDeviceGetMigDeviceHandleByIndex"}, m);
  a.nvmlDeviceGetGpuInstanceId = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetGpuInstanceId"}, m);
  a.nvmlDeviceGetComputeInstanceId = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetComputeInstanceId"}, m);
  a.nvmlDeviceGetAttributes =
      resolve<nvml::nvmlDeviceGetAttributes_fn>(l, {"nvmlDeviceGetAttributes_v2", "nvmlDeviceGetAttributes"}, m);
  a.nvmlDeviceGetPowerUsage = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetPowerUsage"}, m);
  a.nvmlDeviceGetTotalEnergyConsumption =
      resolve<nvml::nvmlDeviceGetULongLong_fn>(l, {"nvmlDeviceGetTotalEnergyConsumption"}, m);
  a.nvmlDeviceGetUtilizationRates =
      resolve<nvml::nvmlDeviceGetUtilizationRates_fn>(l, {"nvmlDeviceGetUtilizationRates"}, m);
  a.nvmlDeviceGetTemperature = resolve<nvml::nvmlDeviceGetTemperature_fn>(l, {"nvmlDeviceGetTemperature"}, m);
  a.nvmlDeviceGetCurrentClocksEventReasons = resolve<nvml::nvmlDeviceGetULongLong_fn>(
      l, {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"}, m);
  a.nvmlDeviceGetTotalEccErrors = resolve<nvml::nvmlDeviceGetTotalEccErrors_fn>(l, {"nvmlDeviceGetTotalEccErrors"}, m);
  a.nvmlDeviceGetComputeRunningProcesses = resolve<nvml::nvmlDeviceGetComputeRunningProcesses_fn>(
      l,
      {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
       "nvmlDeviceGetComputeRunningProcesses"},
      m);
  a.nvmlDeviceGetProcessUtilization =
      resolve<nvml::nvmlDeviceGetProcessUtilization_fn>(l, {"nvmlDeviceGetProcessUtilization"}, m);
  a.nvmlGpmQueryDeviceSupport = resolve<nvml::nvmlGpmQueryDeviceSupport_fn>(l, {"nvmlGpmQueryDeviceSupport"}, m);
  a.nvmlGpmSampleAlloc = resolve<nvml::nvmlGpmSampleAlloc_fn>(l, {"nvmlGpmSampleAlloc"}, m);
  a.nvmlGpmSampleFree = resolve<nvml::nvmlGpmSampleFree_fn>(l, {"nvmlGpmSampleFree"}, m);
  a.nvmlGpmSampleGet = resolve<nvml::nvmlGpmSampleGet_fn>(l, {"nvmlGpmSampleGet"}, m);
  a.nvmlGpmMigSampleGet = resolve<nvml::nvmlGpmMigSampleGet_fn>(l, {"nvmlGpmMigSampleGet"}, m);
  a.nvmlGpmMetricsGet = resolve<nvml::nvmlGpmMetricsGet_fn>(l, {"nvmlGpmMetricsGet"}, m);
  resolve_health(l, a, m);
}

// Newer calls: an older driver lacks some, and the health check that needs one says unsupported.
void NvmlLibrary::resolve_health(DynamicLibrary& l, NvmlFunctions& a, std::vector<std::string>& m) {
  a.nvmlDeviceGetRemappedRows = resolve<nvml::nvmlDeviceGetRemappedRows_fn>(l, {"nvmlDeviceGetRemappedRows"}, m);
  // The two versions differ in their arguments, so each has its own member; one missing is no loss.
  std::vector<std::string> either;
  a.nvmlDeviceGetRetiredPages_v2 =
      resolve<nvml::nvmlDeviceGetRetiredPages_v2_fn>(l, {"nvmlDeviceGetRetiredPages_v2"}, either);
  a.nvmlDeviceGetRetiredPages = resolve<nvml::nvmlDeviceGetRetiredPages_fn>(l, {"nvmlDeviceGetRetiredPages"}, either);
  if (!a.nvmlDeviceGetRetiredPages_v2 && !a.nvmlDeviceGetRetiredPages) m.emplace_back("nvmlDeviceGetRetiredPages");
  a.nvmlDeviceGetRetiredPagesPendingStatus =
      resolve<nvml::nvmlDeviceGetEnableState_fn>(l, {"nvmlDeviceGetRetiredPagesPendingStatus"}, m);
  a.nvmlDeviceValidateInforom = resolve<nvml::nvmlDeviceValidateInforom_fn>(l, {"nvmlDeviceValidateInforom"}, m);
  a.nvmlDeviceGetPersistenceMode = resolve<nvml::nvmlDeviceGetEnableState_fn>(l, {"nvmlDeviceGetPersistenceMode"}, m);
  a.nvmlDeviceGetPcieReplayCounter = resolve<nvml::nvmlDeviceGetUInt_fn>(l, {"nvmlDeviceGetPcieReplayCounter"}, m);
  either.clear();
  a.nvmlDeviceGetGpuFabricInfoV =
      resolve<nvml::nvmlDeviceGetGpuFabricInfoV_fn>(l, {"nvmlDeviceGetGpuFabricInfoV"}, either);
  a.nvmlDeviceGetGpuFabricInfo = resolve<nvml::nvmlDeviceGetGpuFabricInfo_fn>(l, {"nvmlDeviceGetGpuFabricInfo"}, either);
  if (!a.nvmlDeviceGetGpuFabricInfoV && !a.nvmlDeviceGetGpuFabricInfo) m.emplace_back("nvmlDeviceGetGpuFabricInfoV");
  a.nvmlEventSetCreate = resolve<nvml::nvmlEventSetCreate_fn>(l, {"nvmlEventSetCreate"}, m);
  a.nvmlDeviceRegisterEvents = resolve<nvml::nvmlDeviceRegisterEvents_fn>(l, {"nvmlDeviceRegisterEvents"}, m);
  a.nvmlEventSetWait = resolve<nvml::nvmlEventSetWait_fn>(l, {"nvmlEventSetWait_v2", "nvmlEventSetWait"}, m);
  a.nvmlEventSetFree = resolve<nvml::nvmlEventSetFree_fn>(l, {"nvmlEventSetFree"}, m);
  a.nvmlDeviceGetSupportedEventTypes =
      resolve<nvml::nvmlDeviceGetULongLong_fn>(l, {"nvmlDeviceGetSupportedEventTypes"}, m);
}

bool NvmlLibrary::pci_info_v1() const { return std::strcmp(api_.nvmlDeviceGetPciInfo.name, "nvmlDeviceGetPciInfo") == 0; }

bool NvmlLibrary::process_info_v1() const {
  return std::strcmp(api_.nvmlDeviceGetComputeRunningProcesses.name, "nvmlDeviceGetComputeRunningProcesses") == 0;
}

CallStatus NvmlLibrary::status(nvml::nvmlReturn_t code, const char* call, const std::string& device) const {
  CallStatus s{static_cast<int>(code), false, call, device, {}};
  if (code == nvml::NVML_SUCCESS) return s;
  const char* text = api_.nvmlErrorString ? api_.nvmlErrorString.fn(code) : nullptr;
  s.text = text && *text ? text : "NVML error " + std::to_string(static_cast<int>(code));
  return s;
}

CallStatus NvmlLibrary::unavailable(const char* call, const std::string& device) const {
  return {nvml::NVML_ERROR_FUNCTION_NOT_FOUND, true, call, device, "not exported by " + library_->name()};
}

}  // namespace gpukit::detail
