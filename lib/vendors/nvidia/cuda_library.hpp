// The CUDA driver API opened at run time: libcuda.so.1 (or GPUKIT_CUDA_LIBRARY).
// The inventory uses it for CUDA's device order and for attributes NVML lacks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vendors/nvidia/cuda_api.hpp"
#include "vendors/nvidia/vendor_call.hpp"

namespace gpukit::detail {

struct CudaFunctions {
  VendorFunction<cuda::cuInit_fn> cuInit;
  VendorFunction<cuda::cuDriverGetVersion_fn> cuDriverGetVersion;
  VendorFunction<cuda::cuDeviceGetCount_fn> cuDeviceGetCount;
  VendorFunction<cuda::cuDeviceGet_fn> cuDeviceGet;
  VendorFunction<cuda::cuDeviceGetAttribute_fn> cuDeviceGetAttribute;
  VendorFunction<cuda::cuDeviceGetPCIBusId_fn> cuDeviceGetPCIBusId;
  VendorFunction<cuda::cuGetErrorString_fn> cuGetErrorName;
  VendorFunction<cuda::cuGetErrorString_fn> cuGetErrorString;
};

class CudaLibrary {
 public:
  static Result<std::shared_ptr<CudaLibrary>> open();

  const CudaFunctions& api() const { return api_; }
  const std::vector<std::string>& missing_symbols() const { return missing_; }

  // The CUDA counterpart of NvmlLibrary::check.
  template <class F, class... Args>
  CallStatus check(CallTracker& tracker, const VendorFunction<F>& f, const std::string& device, Args... args) const {
    if (!f) return {cuda::CUDA_ERROR_NOT_SUPPORTED, true, f.name, device, "not exported by " + library_->name()};
    tracker.current.store(f.name);
    cuda::CUresult code = f.fn(args...);
    return status(code, f.name, device);
  }

 private:
  explicit CudaLibrary(std::shared_ptr<DynamicLibrary> library);
  CallStatus status(cuda::CUresult code, const char* call, const std::string& device) const;

  std::shared_ptr<DynamicLibrary> library_;
  CudaFunctions api_;
  std::vector<std::string> missing_;
};

}  // namespace gpukit::detail
