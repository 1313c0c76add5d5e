// The part of the CUDA driver API (cuda.h) that the inventory uses: device
// enumeration in CUDA's own order and the attributes NVML lacks.
#pragma once

namespace gpukit::detail::cuda {

// CUresult (a C enum: int-sized). Only the values gpukit tells apart.
enum CUresult : int {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_NOT_SUPPORTED = 801,
  CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
  CUDA_ERROR_UNKNOWN = 999,
};

using CUdevice = int;

enum CUdevice_attribute : int {
  CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,  // kHz
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
  CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID = 34,
  CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,  // bits
  CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID = 50,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
};

using cuInit_fn = CUresult(unsigned int);
using cuDriverGetVersion_fn = CUresult(int*);  // 12040 for 12.4
using cuDeviceGetCount_fn = CUresult(int*);
using cuDeviceGet_fn = CUresult(CUdevice*, int);
using cuDeviceGetAttribute_fn = CUresult(int*, CUdevice_attribute, CUdevice);
using cuDeviceGetPCIBusId_fn = CUresult(char*, int, CUdevice);  // "0000:17:00.0"
using cuGetErrorString_fn = CUresult(CUresult, const char**);

}  // namespace gpukit::detail::cuda
