// The checks every fake NVML entry point starts with (initialised, a known
// handle, scripted hangs and errors), for entry points defined outside
// fake_nvml.cpp.
#pragma once

#include "machine.hpp"
#include "vendors/nvidia/nvml_api.hpp"

namespace gpukit::fake {

struct Entry {
  gpukit::detail::nvml::nvmlReturn_t status = gpukit::detail::nvml::NVML_SUCCESS;
  const Machine* machine = nullptr;
  const Device* device = nullptr;  // for device calls
};

// `device_call`: `handle` must be a handle this library gave out.
Entry enter_nvml(const char* entry_point, gpukit::detail::nvml::nvmlDevice_t handle, bool device_call);

}  // namespace gpukit::fake
