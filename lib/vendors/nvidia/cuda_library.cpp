#include "vendors/nvidia/cuda_library.hpp"

namespace gpukit::detail {

Result<std::shared_ptr<CudaLibrary>> CudaLibrary::open() {
  auto library = DynamicLibrary::open({"libcuda.so.1"}, "GPUKIT_CUDA_LIBRARY");
  if (!library) return library.error();
  return std::shared_ptr<CudaLibrary>(new CudaLibrary(*library));
}

CudaLibrary::CudaLibrary(std::shared_ptr<DynamicLibrary> library) : library_(std::move(library)) {
  DynamicLibrary& l = *library_;
  auto& m = missing_;
  api_.cuInit = resolve<cuda::cuInit_fn>(l, {"cuInit"}, m);
  api_.cuDriverGetVersion = resolve<cuda::cuDriverGetVersion_fn>(l, {"cuDriverGetVersion"}, m);
  api_.cuDeviceGetCount = resolve<cuda::cuDeviceGetCount_fn>(l, {"cuDeviceGetCount"}, m);
  api_.cuDeviceGet = resolve<cuda::cuDeviceGet_fn>(l, {"cuDeviceGet"}, m);
  api_.cuDeviceGetAttribute = resolve<cuda::cuDeviceGetAttribute_fn>(l, {"cuDeviceGetAttribute"}, m);
  api_.cuDeviceGetPCIBusId = resolve<cuda::cuDeviceGetPCIBusId_fn>(l, {"cuDeviceGetPCIBusId"}, m);
  api_.cuGetErrorName = resolve<cuda::cuGetErrorString_fn>(l, {"cuGetErrorName"}, m);
  api_.cuGetErrorString = resolve<cuda::cuGetErrorString_fn>(l, {"cuGetErrorString"}, m);
}

CallStatus CudaLibrary::status(cuda::CUresult code, const char* call, const std::string& device) const {
  CallStatus s{static_cast<int>(code), false, call, device, {}};
  if (code == cuda::CUDA_SUCCESS) return s;
  // "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"
  const char* name = nullptr;
  const char* text = nullptr;
  if (api_.cuGetErrorName && api_.cuGetErrorName.fn(code, &name) != cuda::CUDA_SUCCESS) name = nullptr;
  if (api_.cuGetErrorString && api_.cuGetErrorString.fn(code, &text) != cuda::CUDA_SUCCESS) text = nullptr;
  s.text = name ? name : "CUDA error " + std::to_string(static_cast<int>(code));
  if (text && *text) s.text += std::string(" (") + text + ")";
  return s;
}

}  // namespace gpukit::detail
