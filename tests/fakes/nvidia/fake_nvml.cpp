// A fake libnvidia-ml.so.1 playing the machine GPUKIT_FAKE_MACHINE describes
// (README.md). Built twice: the current library, and with GPUKIT_FAKE_NVML_OLD an
// old one without the versioned entry points and without the newer queries.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "fake_nvml_entry.hpp"
#include "machine.hpp"
#include "vendors/nvidia/nvml_api.hpp"

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

using namespace gpukit::detail::nvml;
using gpukit::fake::Device;
using gpukit::fake::Machine;
using gpukit::fake::ProcessSpec;

namespace {

struct State {
  std::mutex mutex;
  // Machines are never freed: handles from an earlier nvmlInit stay valid.
  std::vector<std::unique_ptr<Machine>> machines;
  const Machine* current = nullptr;
  int refcount = 0;
  std::map<std::string, int> calls;
  std::set<const Device*> handles;
};

State& state() {
  // Leaked on purpose: a scripted hang may still be inside the library at exit.
  static State* s = new State;
  return *s;
}

nvmlReturn_t status_of(const std::string& name) { return static_cast<nvmlReturn_t>(gpukit::fake::nvml_status(name)); }

// The checks every entry point starts with.
struct Call {
  nvmlReturn_t status = NVML_SUCCESS;
  const Machine* machine = nullptr;
  const Device* device = nullptr;
  double t = 0;  // seconds since the machine was loaded
};

// Entry points that work on a MIG instance's handle; the others answer NOT_SUPPORTED.
bool works_on_mig(const std::string& base) {
  static const std::set<std::string> names = {
      "nvmlDeviceGetName",          "nvmlDeviceGetUUID",          "nvmlDeviceGetMemoryInfo",
      "nvmlDeviceGetAttributes",    "nvmlDeviceGetGpuInstanceId", "nvmlDeviceGetComputeInstanceId",
      "nvmlDeviceIsMigDeviceHandle", "nvmlDeviceGetComputeRunningProcesses",
      "nvmlDeviceGetCudaComputeCapability"};
  return names.count(base) > 0;
}

Call enter(const std::string& name, nvmlDevice_t handle = nullptr, bool device_call = false) {
  Call c;
  bool hang = false;
  {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    ++s.calls[name];
    if (s.refcount == 0 || !s.current) {
      c.status = NVML_ERROR_UNINITIALIZED;
      return c;
    }
    c.machine = s.current;
    if (device_call) {
      auto* d = reinterpret_cast<const Device*>(handle);
      if (!s.handles.count(d)) {
        c.status = NVML_ERROR_INVALID_ARGUMENT;
        return c;
      }
      c.device = d;
      c.machine = d->machine;
    }
    hang = c.machine->hang == name || c.machine->hang == gpukit::fake::base_name(name);
  }
  if (hang) gpukit::fake::hang_forever();
  c.t = c.machine->elapsed_s();
  if (auto e = gpukit::fake::find_error(c.machine->errors, name)) {
    c.status = status_of(*e);
    return c;
  }
  if (c.device) {
    const auto& lost = c.device->gpu->telemetry.lost_at_s;
    if (lost && c.t >= *lost) {
      c.status = NVML_ERROR_GPU_IS_LOST;
      return c;
    }
    const auto& errors = c.device->mig ? c.device->mig->errors : c.device->gpu->errors;
    if (auto e = gpukit::fake::find_error(errors, name)) {
      c.status = status_of(*e);
      return c;
    }
    if (c.device->mig && !works_on_mig(gpukit::fake::base_name(name))) c.status = NVML_ERROR_NOT_SUPPORTED;
  }
  return c;
}

Call enter_device(const std::string& name, nvmlDevice_t handle) { return enter(name, handle, true); }

nvmlReturn_t copy_string(const std::string& text, char* out, unsigned int length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (text.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, text.c_str(), text.size() + 1);
  return NVML_SUCCESS;
}

nvmlReturn_t init(const char* name) {
  std::unique_ptr<Machine> loaded;
  nvmlReturn_t failure = NVML_SUCCESS;
  try {
    loaded = gpukit::fake::load_machine();
  } catch (const std::exception& e) {
    // No description is a machine without a driver; a broken one is a test bug.
    failure = std::getenv("GPUKIT_FAKE_MACHINE") ? NVML_ERROR_UNKNOWN : NVML_ERROR_DRIVER_NOT_LOADED;
    if (failure == NVML_ERROR_UNKNOWN) std::fprintf(stderr, "fake NVML: %s\n", e.what());
  }
  State& s = state();
  const Machine* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    ++s.calls[name];
    if (!loaded) return failure;
    for (const auto& d : loaded->devices) s.handles.insert(&d);
    s.current = m = loaded.get();
    s.machines.push_back(std::move(loaded));
  }
  if (m->hang == name || m->hang == gpukit::fake::base_name(name)) gpukit::fake::hang_forever();
  if (!m->init_error.empty()) return status_of(m->init_error);
  std::lock_guard<std::mutex> lock(s.mutex);
  ++s.refcount;
  return NVML_SUCCESS;
}

nvmlReturn_t device_count(const char* name, unsigned int* count) {
  Call c = enter(name);
  if (c.status) return c.status;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = static_cast<unsigned int>(c.machine->gpus.size());
  return NVML_SUCCESS;
}

nvmlReturn_t handle_by_index(const char* name, unsigned int index, nvmlDevice_t* device) {
  Call c = enter(name);
  if (c.status) return c.status;
  if (!device || index >= c.machine->gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = reinterpret_cast<nvmlDevice_t>(c.machine->gpus[index].handle);
  return NVML_SUCCESS;
}

#ifndef GPUKIT_FAKE_NVML_OLD
nvmlReturn_t pci_info(const char* name, nvmlDevice_t device, nvmlPciInfo_t* pci) {
  Call c = enter_device(name, device);
  if (c.status) return c.status;
  if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& g = *c.device->gpu;
  *pci = {};
  std::snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.%X", g.domain, g.bus, g.device, g.function);
  std::snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.%X", g.domain, g.bus, g.device, g.function);
  pci->domain = g.domain;
  pci->bus = g.bus;
  pci->device = g.device;
  pci->pciDeviceId = g.pci_device_id << 16 | 0x10DE;
  pci->pciSubSystemId = g.pci_subsystem_id;
  return NVML_SUCCESS;
}
#endif

nvmlReturn_t pci_info_v1(const char* name, nvmlDevice_t device, nvmlPciInfo_v1_t* pci) {
  Call c = enter_device(name, device);
  if (c.status) return c.status;
  if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& g = *c.device->gpu;
  *pci = {};
  std::snprintf(pci->busId, sizeof pci->busId, "%04X:%02X:%02X.%X", g.domain, g.bus, g.device, g.function);
  pci->domain = g.domain;
  pci->bus = g.bus;
  pci->device = g.device;
  pci->pciDeviceId = g.pci_device_id << 16 | 0x10DE;
  pci->pciSubSystemId = g.pci_subsystem_id;
  return NVML_SUCCESS;
}

nvmlReturn_t cuda_driver_version(const char* name, int* version) {
  Call c = enter(name);
  if (c.status) return c.status;
  if (!version) return NVML_ERROR_INVALID_ARGUMENT;
  *version = c.machine->cuda_driver_version;
  return NVML_SUCCESS;
}

nvmlReturn_t attributes(const char* name, nvmlDevice_t device, nvmlDeviceAttributes_t* a, bool v2) {
  Call c = enter_device(name, device);
  if (c.status) return c.status;
  if (!a) return NVML_ERROR_INVALID_ARGUMENT;
  if (!c.device->mig) return NVML_ERROR_NOT_SUPPORTED;  // MIG handles only
  const auto& m = *c.device->mig;
  a->multiprocessorCount = m.multiprocessors;
  a->sharedCopyEngineCount = m.gpu_slices;
  a->sharedDecoderCount = m.gpu_slices / 2;
  a->sharedEncoderCount = 0;
  a->sharedJpegCount = m.gpu_slices / 3;
  a->sharedOfaCount = m.gpu_slices / 7;
  if (v2) {
    a->gpuInstanceSliceCount = m.gpu_slices;
    a->computeInstanceSliceCount = m.compute_slices;
    a->memorySizeMB = m.memory_bytes >> 20;
  }
  return NVML_SUCCESS;
}

// Processes running on a device at time t: on a GPU, its own and those of its
// MIG instances; on a MIG instance, its own.
std::vector<const ProcessSpec*> running(const Device& d, double t) {
  std::vector<const ProcessSpec*> found;
  for (const auto& p : d.machine->processes) {
    if (t < p.start_s || t >= p.end_s) continue;
    bool here = d.mig ? p.device == d.mig->uuid : p.device == d.gpu->uuid;
    if (!d.mig)
      for (const auto& m : d.gpu->mig_instances) here = here || p.device == m.uuid;
    if (here) found.push_back(&p);
  }
  return found;
}

const gpukit::fake::MigSpec* mig_of(const Device& d, const ProcessSpec& p) {
  for (const auto& m : d.gpu->mig_instances)
    if (m.uuid == p.device) return &m;
  return nullptr;
}

template <class Info>
nvmlReturn_t running_processes(const char* name, nvmlDevice_t device, unsigned int* count, Info* infos) {
  Call c = enter_device(name, device);
  if (c.status) return c.status;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  auto found = running(*c.device, c.t);
  auto n = static_cast<unsigned int>(found.size());
  if (!infos || *count < n) {
    bool fits = n == 0;
    *count = n;
    return fits ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (unsigned int i = 0; i < n; ++i) {
    infos[i] = {};
    infos[i].pid = found[i]->pid;
    infos[i].usedGpuMemory = found[i]->used_memory_bytes;
    if constexpr (sizeof(Info) == sizeof(nvmlProcessInfo_t)) {
      const auto* mig = mig_of(*c.device, *found[i]);
      infos[i].gpuInstanceId = mig ? mig->gpu_instance_id : 0xFFFFFFFFu;
      infos[i].computeInstanceId = mig ? mig->compute_instance_id : 0xFFFFFFFFu;
    }
  }
  *count = n;
  return NVML_SUCCESS;
}

double energy_j(const Device& d, double t) {
  const auto& tel = d.gpu->telemetry;
  if (tel.energy_reset_at_s && t >= *tel.energy_reset_at_s) return tel.power_w.integral(*tel.energy_reset_at_s, t);
  return tel.energy_j + tel.power_w.integral(0, t);
}

const char* error_text(nvmlReturn_t code) {
  switch (code) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED: return "Already Initialized";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires restart";
    case NVML_ERROR_OPERATING_SYSTEM: return "The operating system has blocked the request.";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "RM has detected an NVML/RM version mismatch.";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_UNKNOWN: return "Unknown Error";
  }
  return "Unknown Error";
}

}  // namespace

// ---- Initialisation and system queries --------------------------------------

FAKE_EXPORT const char* nvmlErrorString(nvmlReturn_t result) { return error_text(result); }

FAKE_EXPORT nvmlReturn_t nvmlInit() { return init("nvmlInit"); }

FAKE_EXPORT nvmlReturn_t nvmlShutdown() {
  Call c = enter("nvmlShutdown");
  if (c.status) return c.status;
  std::lock_guard<std::mutex> lock(state().mutex);
  --state().refcount;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  Call c = enter("nvmlSystemGetDriverVersion");
  return c.status ? c.status : copy_string(c.machine->driver_version, version, length);
}

FAKE_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  Call c = enter("nvmlSystemGetNVMLVersion");
  return c.status ? c.status : copy_string(c.machine->nvml_version, version, length);
}

FAKE_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* version) {
  return cuda_driver_version("nvmlSystemGetCudaDriverVersion", version);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int* count) { return device_count("nvmlDeviceGetCount", count); }

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t* device) {
  return handle_by_index("nvmlDeviceGetHandleByIndex", index, device);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, nvmlPciInfo_v1_t* pci) {
  return pci_info_v1("nvmlDeviceGetPciInfo", device, pci);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t device, nvmlDeviceAttributes_t* a) {
  return attributes("nvmlDeviceGetAttributes", device, a, false);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int* count,
                                                              nvmlProcessInfo_v1_t* infos) {
  return running_processes("nvmlDeviceGetComputeRunningProcesses", device, count, infos);
}

#ifndef GPUKIT_FAKE_NVML_OLD
FAKE_EXPORT nvmlReturn_t nvmlInit_v2() { return init("nvmlInit_v2"); }

FAKE_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* version) {
  return cuda_driver_version("nvmlSystemGetCudaDriverVersion_v2", version);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  return device_count("nvmlDeviceGetCount_v2", count);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  return handle_by_index("nvmlDeviceGetHandleByIndex_v2", index, device);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  return pci_info("nvmlDeviceGetPciInfo_v2", device, pci);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  return pci_info("nvmlDeviceGetPciInfo_v3", device, pci);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t* a) {
  return attributes("nvmlDeviceGetAttributes_v2", device, a, true);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int* count,
                                                                 nvmlProcessInfo_t* infos) {
  return running_processes("nvmlDeviceGetComputeRunningProcesses_v2", device, count, infos);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* count,
                                                                 nvmlProcessInfo_t* infos) {
  return running_processes("nvmlDeviceGetComputeRunningProcesses_v3", device, count, infos);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMemoryBusWidth(nvmlDevice_t device, unsigned int* bits) {
  Call c = enter_device("nvmlDeviceGetMemoryBusWidth", device);
  if (c.status) return c.status;
  if (!bits) return NVML_ERROR_INVALID_ARGUMENT;
  *bits = c.device->gpu->memory_bus_width_bits;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksEventReasons(nvmlDevice_t device, unsigned long long* reasons) {
  Call c = enter_device("nvmlDeviceGetCurrentClocksEventReasons", device);
  if (c.status) return c.status;
  if (!reasons) return NVML_ERROR_INVALID_ARGUMENT;
  *reasons = c.device->gpu->telemetry.throttle_reasons;
  return NVML_SUCCESS;
}
#endif

// ---- Device facts -----------------------------------------------------------

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  Call c = enter_device("nvmlDeviceGetName", device);
  if (c.status) return c.status;
  return copy_string(c.device->mig ? c.device->mig->name : c.device->gpu->name, name, length);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  Call c = enter_device("nvmlDeviceGetUUID", device);
  if (c.status) return c.status;
  return copy_string(c.device->mig ? c.device->mig->uuid : c.device->gpu->uuid, uuid, length);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  Call c = enter_device("nvmlDeviceGetMemoryInfo", device);
  if (c.status) return c.status;
  if (!memory) return NVML_ERROR_INVALID_ARGUMENT;
  const auto* mig = c.device->mig;
  memory->total = mig ? mig->memory_bytes : c.device->gpu->memory_bytes;
  double used = (mig ? mig->memory_used_bytes : c.device->gpu->telemetry.memory_used_bytes).at(c.t);
  memory->used = std::min<unsigned long long>(memory->total, static_cast<unsigned long long>(std::llround(used)));
  memory->free = memory->total - memory->used;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int* major, int* minor) {
  Call c = enter_device("nvmlDeviceGetCudaComputeCapability", device);
  if (c.status) return c.status;
  if (!major || !minor) return NVML_ERROR_INVALID_ARGUMENT;
  *major = c.device->gpu->cc_major;
  *minor = c.device->gpu->cc_minor;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int* mhz) {
  Call c = enter_device("nvmlDeviceGetMaxClockInfo", device);
  if (c.status) return c.status;
  if (!mhz) return NVML_ERROR_INVALID_ARGUMENT;
  if (type == NVML_CLOCK_SM || type == NVML_CLOCK_GRAPHICS) *mhz = c.device->gpu->max_sm_clock_mhz;
  else if (type == NVML_CLOCK_MEM) *mhz = c.device->gpu->max_memory_clock_mhz;
  else return NVML_ERROR_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type, unsigned int* mhz) {
  Call c = enter_device("nvmlDeviceGetClockInfo", device);
  if (c.status) return c.status;
  if (!mhz) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& tel = c.device->gpu->telemetry;
  if (type == NVML_CLOCK_SM || type == NVML_CLOCK_GRAPHICS) *mhz = static_cast<unsigned int>(tel.sm_clock_mhz.at(c.t));
  else if (type == NVML_CLOCK_MEM) *mhz = static_cast<unsigned int>(tel.memory_clock_mhz.at(c.t));
  else return NVML_ERROR_NOT_SUPPORTED;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t* current,
                                              nvmlEnableState_t* pending) {
  Call c = enter_device("nvmlDeviceGetEccMode", device);
  if (c.status) return c.status;
  if (!current || !pending) return NVML_ERROR_INVALID_ARGUMENT;
  *current = *pending = c.device->gpu->ecc ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  Call c = enter_device("nvmlDeviceGetEnforcedPowerLimit", device);
  if (c.status) return c.status;
  if (!milliwatts) return NVML_ERROR_INVALID_ARGUMENT;
  *milliwatts = static_cast<unsigned int>(std::llround(c.device->gpu->power_limit_w * 1000));
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  Call c = enter_device("nvmlDeviceGetPowerManagementLimit", device);
  if (c.status) return c.status;
  if (!milliwatts) return NVML_ERROR_INVALID_ARGUMENT;
  *milliwatts = static_cast<unsigned int>(std::llround(c.device->gpu->power_limit_w * 1000));
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeMode(nvmlDevice_t device, nvmlComputeMode_t* mode) {
  Call c = enter_device("nvmlDeviceGetComputeMode", device);
  if (c.status) return c.status;
  if (!mode) return NVML_ERROR_INVALID_ARGUMENT;
  const std::string& m = c.device->gpu->compute_mode;
  *mode = m == "prohibited"          ? NVML_COMPUTEMODE_PROHIBITED
          : m == "exclusive_process" ? NVML_COMPUTEMODE_EXCLUSIVE_PROCESS
                                     : NVML_COMPUTEMODE_DEFAULT;
  return NVML_SUCCESS;
}

#define FAKE_UINT_QUERY(function, expression)                        \
  FAKE_EXPORT nvmlReturn_t function(nvmlDevice_t device, unsigned int* value) { \
    Call c = enter_device(#function, device);                        \
    if (c.status) return c.status;                                   \
    if (!value) return NVML_ERROR_INVALID_ARGUMENT;                  \
    const auto& g = *c.device->gpu;                                  \
    (void)g;                                                         \
    *value = (expression);                                           \
    return NVML_SUCCESS;                                             \
  }

FAKE_UINT_QUERY(nvmlDeviceGetMaxPcieLinkGeneration, g.pcie_max_generation)
FAKE_UINT_QUERY(nvmlDeviceGetMaxPcieLinkWidth, g.pcie_max_width)
FAKE_UINT_QUERY(nvmlDeviceGetCurrPcieLinkGeneration, g.pcie_current_generation)
FAKE_UINT_QUERY(nvmlDeviceGetCurrPcieLinkWidth, g.pcie_current_width)
FAKE_UINT_QUERY(nvmlDeviceGetPowerUsage,
                static_cast<unsigned int>(std::llround(g.telemetry.power_w.at(c.t) * 1000)))

// ---- MIG --------------------------------------------------------------------

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current, unsigned int* pending) {
  Call c = enter_device("nvmlDeviceGetMigMode", device);
  if (c.status) return c.status;
  if (!current || !pending) return NVML_ERROR_INVALID_ARGUMENT;
  const std::string& mig = c.device->gpu->mig;
  if (mig == "unsupported") return NVML_ERROR_NOT_SUPPORTED;
  *current = *pending = mig == "enabled" ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  Call c = enter_device("nvmlDeviceGetMaxMigDeviceCount", device);
  if (c.status) return c.status;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  if (c.device->gpu->mig == "unsupported") return NVML_ERROR_NOT_SUPPORTED;
  *count = c.device->gpu->max_mig_devices;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                             nvmlDevice_t* mig) {
  Call c = enter_device("nvmlDeviceGetMigDeviceHandleByIndex", device);
  if (c.status) return c.status;
  const auto& g = *c.device->gpu;
  if (!mig || g.mig != "enabled" || index >= g.max_mig_devices) return NVML_ERROR_INVALID_ARGUMENT;
  for (const auto& m : g.mig_instances) {
    if (m.index != index) continue;
    *mig = reinterpret_cast<nvmlDevice_t>(m.handle);
    return NVML_SUCCESS;
  }
  return NVML_ERROR_NOT_FOUND;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int* is_mig) {
  Call c = enter_device("nvmlDeviceIsMigDeviceHandle", device);
  if (c.status) return c.status;
  if (!is_mig) return NVML_ERROR_INVALID_ARGUMENT;
  *is_mig = c.device->mig ? 1 : 0;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
  Call c = enter_device("nvmlDeviceGetGpuInstanceId", device);
  if (c.status) return c.status;
  if (!id || !c.device->mig) return NVML_ERROR_INVALID_ARGUMENT;
  *id = c.device->mig->gpu_instance_id;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int* id) {
  Call c = enter_device("nvmlDeviceGetComputeInstanceId", device);
  if (c.status) return c.status;
  if (!id || !c.device->mig) return NVML_ERROR_INVALID_ARGUMENT;
  *id = c.device->mig->compute_instance_id;
  return NVML_SUCCESS;
}

// ---- Telemetry --------------------------------------------------------------

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* millijoules) {
  Call c = enter_device("nvmlDeviceGetTotalEnergyConsumption", device);
  if (c.status) return c.status;
  if (!millijoules) return NVML_ERROR_INVALID_ARGUMENT;
  *millijoules = static_cast<unsigned long long>(std::llround(energy_j(*c.device, c.t) * 1000));
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* u) {
  Call c = enter_device("nvmlDeviceGetUtilizationRates", device);
  if (c.status) return c.status;
  if (!u) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& tel = c.device->gpu->telemetry;
  u->gpu = static_cast<unsigned int>(std::lround(tel.gpu_utilization_pct.at(c.t)));
  u->memory = static_cast<unsigned int>(std::lround(tel.memory_utilization_pct.at(c.t)));
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensor,
                                                  unsigned int* celsius) {
  Call c = enter_device("nvmlDeviceGetTemperature", device);
  if (c.status) return c.status;
  if (!celsius || sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  *celsius = static_cast<unsigned int>(std::lround(c.device->gpu->telemetry.temperature_c.at(c.t)));
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetCurrentClocksThrottleReasons(nvmlDevice_t device,
                                                                   unsigned long long* reasons) {
  Call c = enter_device("nvmlDeviceGetCurrentClocksThrottleReasons", device);
  if (c.status) return c.status;
  if (!reasons) return NVML_ERROR_INVALID_ARGUMENT;
  *reasons = c.device->gpu->telemetry.throttle_reasons;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t type,
                                                     nvmlEccCounterType_t counter, unsigned long long* count) {
  Call c = enter_device("nvmlDeviceGetTotalEccErrors", device);
  if (c.status) return c.status;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& g = *c.device->gpu;
  if (!g.ecc) return NVML_ERROR_NOT_SUPPORTED;
  const auto& curve = type == NVML_MEMORY_ERROR_TYPE_CORRECTED ? g.telemetry.ecc_corrected : g.telemetry.ecc_uncorrected;
  *count = static_cast<unsigned long long>(std::floor(curve.at(c.t)));
  if (type == NVML_MEMORY_ERROR_TYPE_UNCORRECTED && counter == NVML_AGGREGATE_ECC)
    *count = std::max(*count, g.health.ecc_aggregate_uncorrected);  // the lifetime count includes the volatile one
  return NVML_SUCCESS;
}

// Samples every process_sample_period_s while a process runs on the GPU itself
// (MIG instances have no per-process utilisation), time-stamped in microseconds
// of CLOCK_REALTIME as the driver does.
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device,
                                                         nvmlProcessUtilizationSample_t* utilization,
                                                         unsigned int* count, unsigned long long last_seen) {
  Call c = enter_device("nvmlDeviceGetProcessUtilization", device);
  if (c.status) return c.status;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const Machine& m = *c.machine;
  const double period = m.process_sample_period_s;
  std::vector<nvmlProcessUtilizationSample_t> samples;
  for (const auto& p : m.processes) {
    if (p.device != c.device->gpu->uuid) continue;
    double until = std::min(c.t, p.end_s);
    for (long long k = static_cast<long long>(std::ceil(p.start_s / period)); k * period <= until; ++k) {
      double tk = static_cast<double>(k) * period;
      if (tk >= p.end_s) break;
      auto stamp = static_cast<unsigned long long>(m.origin_wall_us + std::llround(tk * 1e6));
      if (stamp <= last_seen) continue;
      samples.push_back({p.pid, stamp, static_cast<unsigned int>(std::lround(p.sm_utilization_pct.at(tk))),
                         static_cast<unsigned int>(std::lround(p.memory_utilization_pct.at(tk))), 0, 0});
    }
  }
  if (samples.empty()) return NVML_ERROR_NOT_FOUND;
  auto n = static_cast<unsigned int>(samples.size());
  if (!utilization || *count < n) {
    *count = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  std::copy(samples.begin(), samples.end(), utilization);
  *count = n;
  return NVML_SUCCESS;
}

gpukit::fake::Entry gpukit::fake::enter_nvml(const char* entry_point, nvmlDevice_t handle, bool device_call) {
  Call c = enter(entry_point, handle, device_call);
  return {c.status, c.machine, c.device};
}

// ---- For the tests: what the loader called ----------------------------------

FAKE_EXPORT int gpukit_fake_nvml_call_count(const char* entry_point) {
  std::lock_guard<std::mutex> lock(state().mutex);
  auto it = state().calls.find(entry_point);
  return it == state().calls.end() ? 0 : it->second;
}

FAKE_EXPORT int gpukit_fake_nvml_refcount() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().refcount;
}
