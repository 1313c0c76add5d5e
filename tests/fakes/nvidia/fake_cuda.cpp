// A fake libcuda.so.1 (driver API) for the machine GPUKIT_FAKE_MACHINE describes:
// devices in "cuda_order" (default: NVML's order). A GPU in MIG mode shows as its
// first MIG instance, as CUDA enumerates instances rather than the GPU.
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "machine.hpp"
#include "vendors/nvidia/cuda_api.hpp"

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

using namespace gpukit::detail::cuda;
using gpukit::fake::GpuSpec;
using gpukit::fake::Machine;

namespace {

struct State {
  std::mutex mutex;
  std::vector<std::unique_ptr<Machine>> machines;  // never freed, as in the NVML fake
  const Machine* current = nullptr;
  bool initialized = false;
};

State& state() {
  static State* s = new State;
  return *s;
}

struct Call {
  CUresult status = CUDA_SUCCESS;
  const Machine* machine = nullptr;
  const GpuSpec* gpu = nullptr;
};

std::vector<const GpuSpec*> cuda_devices(const Machine& m) {
  std::vector<const GpuSpec*> devices;
  if (m.cuda_order.empty())
    for (const auto& g : m.gpus) devices.push_back(&g);
  else
    for (int index : m.cuda_order) devices.push_back(&m.gpus[static_cast<std::size_t>(index)]);
  return devices;
}

CUresult status_of(const std::string& name) { return static_cast<CUresult>(gpukit::fake::cuda_status(name)); }

// `ordinal` < 0 for calls that name no device.
Call enter(const std::string& name, int ordinal = -1, bool needs_init = true) {
  Call c;
  {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.current) {
      try {
        s.machines.push_back(gpukit::fake::load_machine());
        s.current = s.machines.back().get();
      } catch (const std::exception&) {
        c.status = CUDA_ERROR_NO_DEVICE;
        return c;
      }
    }
    c.machine = s.current;
    if (needs_init && !s.initialized) {
      c.status = CUDA_ERROR_NOT_INITIALIZED;
      return c;
    }
  }
  if (c.machine->hang == name) gpukit::fake::hang_forever();
  if (auto e = gpukit::fake::find_error(c.machine->errors, name)) {
    c.status = status_of(*e);
    return c;
  }
  if (ordinal >= 0) {
    auto devices = cuda_devices(*c.machine);
    if (ordinal >= static_cast<int>(devices.size())) {
      c.status = CUDA_ERROR_INVALID_DEVICE;
      return c;
    }
    c.gpu = devices[static_cast<std::size_t>(ordinal)];
    if (auto e = gpukit::fake::find_error(c.gpu->errors, name)) c.status = status_of(*e);
  }
  return c;
}

}  // namespace

FAKE_EXPORT CUresult cuInit(unsigned int flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  std::unique_ptr<Machine> loaded;
  try {
    loaded = gpukit::fake::load_machine();
  } catch (const std::exception& e) {
    if (std::getenv("GPUKIT_FAKE_MACHINE")) std::fprintf(stderr, "fake CUDA: %s\n", e.what());
    return CUDA_ERROR_NO_DEVICE;
  }
  State& s = state();
  const Machine* m = nullptr;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.current = m = loaded.get();
    s.machines.push_back(std::move(loaded));
  }
  if (m->hang == "cuInit") gpukit::fake::hang_forever();
  if (!m->cuda_init_error.empty()) return status_of(m->cuda_init_error);
  if (auto e = gpukit::fake::find_error(m->errors, "cuInit")) return status_of(*e);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.initialized = true;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDriverGetVersion(int* version) {
  Call c = enter("cuDriverGetVersion", -1, false);
  if (c.status) return c.status;
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  *version = c.machine->cuda_driver_version;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGetCount(int* count) {
  Call c = enter("cuDeviceGetCount");
  if (c.status) return c.status;
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  *count = static_cast<int>(cuda_devices(*c.machine).size());
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  Call c = enter("cuDeviceGet", ordinal);
  if (c.status) return c.status;
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGetPCIBusId(char* bus_id, int length, CUdevice device) {
  Call c = enter("cuDeviceGetPCIBusId", device);
  if (c.status) return c.status;
  if (!bus_id || length < 13) return CUDA_ERROR_INVALID_VALUE;
  const auto& g = *c.gpu;
  std::snprintf(bus_id, static_cast<std::size_t>(length), "%04X:%02X:%02X.%X", g.domain, g.bus, g.device, g.function);
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuDeviceGetAttribute(int* value, CUdevice_attribute attribute, CUdevice device) {
  Call c = enter("cuDeviceGetAttribute", device);
  if (c.status) return c.status;
  if (!value) return CUDA_ERROR_INVALID_VALUE;
  const auto& g = *c.gpu;
  const bool mig = g.mig == "enabled" && !g.mig_instances.empty();
  switch (attribute) {
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
      *value = static_cast<int>(mig ? g.mig_instances.front().multiprocessors : g.multiprocessors);
      break;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *value = static_cast<int>(g.memory_bus_width_bits); break;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *value = static_cast<int>(g.max_sm_clock_mhz * 1000); break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *value = static_cast<int>(g.bus); break;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: *value = static_cast<int>(g.device); break;
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: *value = static_cast<int>(g.domain); break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = g.cc_major; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = g.cc_minor; break;
    default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuGetErrorName(CUresult error, const char** text) {
  if (!text) return CUDA_ERROR_INVALID_VALUE;
  switch (static_cast<int>(error)) {
    case 0: *text = "CUDA_SUCCESS"; break;
    case 1: *text = "CUDA_ERROR_INVALID_VALUE"; break;
    case 3: *text = "CUDA_ERROR_NOT_INITIALIZED"; break;
    case 35: *text = "CUDA_ERROR_INSUFFICIENT_DRIVER"; break;
    case 100: *text = "CUDA_ERROR_NO_DEVICE"; break;
    case 101: *text = "CUDA_ERROR_INVALID_DEVICE"; break;
    case 800: *text = "CUDA_ERROR_NOT_PERMITTED"; break;
    case 801: *text = "CUDA_ERROR_NOT_SUPPORTED"; break;
    case 803: *text = "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"; break;
    case 999: *text = "CUDA_ERROR_UNKNOWN"; break;
    default: *text = nullptr; return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

FAKE_EXPORT CUresult cuGetErrorString(CUresult error, const char** text) {
  if (!text) return CUDA_ERROR_INVALID_VALUE;
  switch (static_cast<int>(error)) {
    case 0: *text = "no error"; break;
    case 1: *text = "invalid argument"; break;
    case 3: *text = "initialization error"; break;
    case 35: *text = "CUDA driver version is insufficient for CUDA runtime version"; break;
    case 100: *text = "no CUDA-capable device is detected"; break;
    case 101: *text = "invalid device ordinal"; break;
    case 800: *text = "operation not permitted"; break;
    case 801: *text = "operation not supported"; break;
    case 803: *text = "system has unsupported display driver / cuda driver combination"; break;
    case 999: *text = "unknown error"; break;
    default: *text = nullptr; return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}
