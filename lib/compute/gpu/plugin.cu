// The GPU plugin's one translation unit, compiled by nvcc into gpukit-cuda.so
// and by hipcc into gpukit-hip.so. "runtime_shim.hpp" is found through the
// include path each build puts first (lib/compute/cuda or lib/compute/hip).
#include "runtime_shim.hpp"

#include "compute/gpu/gpu_backend.hpp"

namespace {

gpukit::Backend* create(char* error, std::size_t error_size) {
  return gpukit::gpu_backend::create_backend(error, error_size);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const gpukit_backend_plugin* gpukit_backend_plugin_v1() {
  static const std::string toolkit = gpukit::gpurt::toolkit_version();
  static const gpukit_backend_plugin plugin{gpukit::backend_abi_version, gpukit::gpurt::backend_name, toolkit.c_str(),
                                            &create};
  return &plugin;
}
