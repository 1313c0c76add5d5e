// The HIP runtime under the neutral names that gpu/gpu_backend.hpp uses (the
// CUDA plugin has the same names over CUDA: cuda/runtime_shim.hpp).
#pragma once

#include <hip/hip_fp16.h>
#include <hip/hip_runtime.h>

#include <cstdio>
#include <string>

#include "compute/backend.hpp"
#include "compute/gpu/vendor_blas.hpp"

namespace gpukit::gpurt {

inline constexpr const char* backend_name = "hip";
inline constexpr const char* api = "hip";
inline constexpr const char* vendor_driver = "ROCm driver (amdgpu/KFD)";

using error_t = hipError_t;
using stream_t = hipStream_t;
using event_t = hipEvent_t;
using props_t = hipDeviceProp_t;
inline constexpr error_t success = hipSuccess;

inline const char* error_string(error_t e) { return hipGetErrorString(e); }
inline error_t get_device_count(int* n) { return hipGetDeviceCount(n); }
inline error_t set_device(int d) { return hipSetDevice(d); }
inline error_t get_properties(props_t* p, int d) { return hipGetDeviceProperties(p, d); }
inline error_t clock_khz(int* v, int d) { return hipDeviceGetAttribute(v, hipDeviceAttributeClockRate, d); }
inline error_t memory_clock_khz(int* v, int d) {
  return hipDeviceGetAttribute(v, hipDeviceAttributeMemoryClockRate, d);
}
inline error_t bus_width_bits(int* v, int d) { return hipDeviceGetAttribute(v, hipDeviceAttributeMemoryBusWidth, d); }

// AMD UUIDs differ between the runtime and amd_smi; the host matches AMD
// devices by PCI bus id, so the UUID is informative only.
inline std::string device_uuid(const props_t&, int d) {
  hipUUID u{};
  if (hipDeviceGetUuid(&u, d) != hipSuccess) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(u.bytes);
  char s[48];
  std::snprintf(s, sizeof s, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}
// "gfx90a:sramecc+:xnack-" -> "gfx90a"
inline std::string device_arch(const props_t& p) {
  std::string a = p.gcnArchName;
  return a.substr(0, a.find(':'));
}
inline int resident_threads_per_unit(const props_t& p) { return p.maxThreadsPerMultiProcessor; }

inline error_t malloc(void** p, size_t bytes) { return hipMalloc(p, bytes); }
inline error_t free(void* p) { return hipFree(p); }
inline error_t mem_get_info(size_t* free_bytes, size_t* total) { return hipMemGetInfo(free_bytes, total); }
inline error_t host_register(void* p, size_t bytes) { return hipHostRegister(p, bytes, hipHostRegisterDefault); }
inline error_t host_unregister(void* p) { return hipHostUnregister(p); }
// Coherent: the hold kernel polls the flag while the host writes it.
inline error_t host_alloc_mapped(void** p, size_t bytes) {
  return hipHostMalloc(p, bytes, hipHostMallocMapped | hipHostMallocCoherent);
}
inline error_t host_free(void* p) { return hipHostFree(p); }
inline error_t host_device_pointer(void** d, void* h) { return hipHostGetDevicePointer(d, h, 0); }
inline error_t memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, stream_t s) {
  hipMemcpyKind k = kind == CopyKind::host_to_device   ? hipMemcpyHostToDevice
                    : kind == CopyKind::device_to_host ? hipMemcpyDeviceToHost
                                                       : hipMemcpyDeviceToDevice;
  return hipMemcpyAsync(dst, src, bytes, k, s);
}
inline error_t memset_async(void* p, int value, size_t bytes, stream_t s) { return hipMemsetAsync(p, value, bytes, s); }
inline error_t stream_create(stream_t* s) { return hipStreamCreateWithFlags(s, hipStreamNonBlocking); }
inline error_t stream_destroy(stream_t s) { return hipStreamDestroy(s); }
inline error_t stream_synchronize(stream_t s) { return hipStreamSynchronize(s); }
inline error_t stream_wait_event(stream_t s, event_t e) { return hipStreamWaitEvent(s, e, 0); }
inline error_t event_create(event_t* e) { return hipEventCreate(e); }
inline error_t event_destroy(event_t e) { return hipEventDestroy(e); }
inline error_t event_record(event_t e, stream_t s) { return hipEventRecord(e, s); }
inline error_t event_synchronize(event_t e) { return hipEventSynchronize(e); }
inline error_t event_elapsed_ms(float* ms, event_t a, event_t b) { return hipEventElapsedTime(ms, a, b); }
inline error_t device_synchronize() { return hipDeviceSynchronize(); }
inline error_t last_error() { return hipGetLastError(); }

inline error_t driver_version(int* v) { return hipDriverGetVersion(v); }
inline constexpr int built_runtime_version = HIP_VERSION;
// HIP_VERSION = major * 10000000 + minor * 100000 + patch
inline std::string format_version(int v) {
  return std::to_string(v / 10000000) + "." + std::to_string(v / 100000 % 100) + "." + std::to_string(v % 100000);
}
inline std::string toolkit_version() { return "HIP " + format_version(HIP_VERSION); }
inline std::string driver_mismatch(int driver) {
  if (driver == 0) return std::string("no ROCm driver found; the plugin was built with ") + "HIP " + format_version(HIP_VERSION);
  return {};
}

// The vendor GEMM of this ROCm release (libhipblas.so.N of the same major).
inline constexpr vendor_blas::Family blas_family = vendor_blas::Family::hipblas;
inline constexpr int toolkit_major = HIP_VERSION_MAJOR;

using half2 = __half2;
// HIP 5.2 has no packed BF16 arithmetic: the plugin reports fma_bf16 unavailable.
inline constexpr bool has_bf16 = false;
struct unsupported_bfloat162;  // declared only: nothing instantiates it while has_bf16 is false
using bfloat162 = unsupported_bfloat162;
inline constexpr int bf16_min_cc_major = 0;

template <class P>
struct PackedOps;
template <>
struct PackedOps<half2> {
  __device__ static half2 make(float lo, float hi) { return __floats2half2_rn(lo, hi); }
  __device__ static half2 fma(half2 a, half2 b, half2 c) { return __hfma2(a, b, c); }
  __device__ static void split(half2 v, float& lo, float& hi) {
    float2 f = __half22float2(v);
    lo = f.x;
    hi = f.y;
  }
};

}  // namespace gpukit::gpurt
