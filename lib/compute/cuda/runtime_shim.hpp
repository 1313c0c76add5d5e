// The CUDA runtime under the neutral names that gpu/gpu_backend.hpp uses. The
// HIP plugin has the same names over HIP (hip/runtime_shim.hpp): one backend
// source, no global #define cudaX hipX.
#pragma once

#include <cuda.h>  // CUuuid, CUdevice only: the driver API is reached through the runtime
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "compute/backend.hpp"
#include "compute/gpu/vendor_blas.hpp"

// vendor_blas.hpp writes cuBLAS's constants down without its header (the HIP
// plugin has none); where the header is at hand, hold them to it.
#if __has_include(<cublas_api.h>)
#include <cublas_api.h>
static_assert(gpukit::vendor_blas::cublas_constants.op_n == CUBLAS_OP_N &&
                  gpukit::vendor_blas::cublas_constants.f32 == CUDA_R_32F &&
                  gpukit::vendor_blas::cublas_constants.f16 == CUDA_R_16F &&
                  gpukit::vendor_blas::cublas_constants.bf16 == CUDA_R_16BF &&
                  gpukit::vendor_blas::cublas_constants.compute_f32 == CUBLAS_COMPUTE_32F &&
                  gpukit::vendor_blas::cublas_constants.algo_default == CUBLAS_GEMM_DEFAULT,
              "vendor_blas.hpp's cuBLAS constants differ from cublas_api.h");
#endif

namespace gpukit::gpurt {

inline constexpr const char* backend_name = "cuda";
inline constexpr const char* api = "cuda";  // prefix of the runtime's function names, for messages
inline constexpr const char* vendor_driver = "NVIDIA driver";

using error_t = cudaError_t;
using stream_t = cudaStream_t;
using event_t = cudaEvent_t;
using props_t = cudaDeviceProp;
inline constexpr error_t success = cudaSuccess;

inline const char* error_string(error_t e) { return cudaGetErrorString(e); }
inline error_t get_device_count(int* n) { return cudaGetDeviceCount(n); }
inline error_t set_device(int d) { return cudaSetDevice(d); }
inline error_t get_properties(props_t* p, int d) { return cudaGetDeviceProperties(p, d); }
// Clocks in kHz and the bus width: device attributes (CUDA 13 dropped them from cudaDeviceProp).
inline error_t clock_khz(int* v, int d) { return cudaDeviceGetAttribute(v, cudaDevAttrClockRate, d); }
inline error_t memory_clock_khz(int* v, int d) { return cudaDeviceGetAttribute(v, cudaDevAttrMemoryClockRate, d); }
inline error_t bus_width_bits(int* v, int d) { return cudaDeviceGetAttribute(v, cudaDevAttrGlobalMemoryBusWidth, d); }

inline std::string format_uuid(const unsigned char* b) {
  char s[48];
  std::snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return s;
}
// "GPU-" and the device's UUID bytes; the host matches MIG instances by the
// bytes against gpuprobe's MIG UUIDs. The driver's cuDeviceGetUuid_v2 (CUDA
// 11.4) gives a MIG instance its own UUID where cudaDeviceProp::uuid may give
// the parent's; it is reached through the runtime, so no libcuda is linked.
inline std::string device_uuid(const props_t& p, int ordinal) {
  void* get_uuid = nullptr;
  void* device_get = nullptr;
  cudaDriverEntryPointQueryResult found_uuid{}, found_device{};
#if CUDART_VERSION >= 12050
  cudaGetDriverEntryPointByVersion("cuDeviceGetUuid", &get_uuid, 11040, cudaEnableDefault, &found_uuid);
  cudaGetDriverEntryPointByVersion("cuDeviceGet", &device_get, 2000, cudaEnableDefault, &found_device);
#else
  cudaGetDriverEntryPoint("cuDeviceGetUuid", &get_uuid, cudaEnableDefault, &found_uuid);
  cudaGetDriverEntryPoint("cuDeviceGet", &device_get, cudaEnableDefault, &found_device);
#endif
  if (get_uuid && device_get && found_uuid == cudaDriverEntryPointSuccess && found_device == cudaDriverEntryPointSuccess) {
    CUdevice dev = 0;
    CUuuid u{};
    if (reinterpret_cast<CUresult (*)(CUdevice*, int)>(device_get)(&dev, ordinal) == CUDA_SUCCESS &&
        reinterpret_cast<CUresult (*)(CUuuid*, CUdevice)>(get_uuid)(&u, dev) == CUDA_SUCCESS)
      return "GPU-" + format_uuid(reinterpret_cast<const unsigned char*>(u.bytes));
  }
  (void)cudaGetLastError();  // a failed lookup must not stick to the next call
  return "GPU-" + format_uuid(reinterpret_cast<const unsigned char*>(p.uuid.bytes));
}
inline std::string device_arch(const props_t& p) { return "sm_" + std::to_string(p.major * 10 + p.minor); }
inline int resident_threads_per_unit(const props_t& p) { return p.maxThreadsPerMultiProcessor; }

inline error_t malloc(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
inline error_t free(void* p) { return cudaFree(p); }
inline error_t mem_get_info(size_t* free_bytes, size_t* total) { return cudaMemGetInfo(free_bytes, total); }
inline error_t host_register(void* p, size_t bytes) { return cudaHostRegister(p, bytes, cudaHostRegisterDefault); }
inline error_t host_unregister(void* p) { return cudaHostUnregister(p); }
inline error_t host_alloc_mapped(void** p, size_t bytes) { return cudaHostAlloc(p, bytes, cudaHostAllocMapped); }
inline error_t host_free(void* p) { return cudaFreeHost(p); }
inline error_t host_device_pointer(void** d, void* h) { return cudaHostGetDevicePointer(d, h, 0); }
inline error_t memcpy_async(void* dst, const void* src, size_t bytes, CopyKind kind, stream_t s) {
  cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                        : cudaMemcpyDeviceToDevice;
  return cudaMemcpyAsync(dst, src, bytes, k, s);
}
inline error_t memset_async(void* p, int value, size_t bytes, stream_t s) { return cudaMemsetAsync(p, value, bytes, s); }
inline error_t stream_create(stream_t* s) { return cudaStreamCreateWithFlags(s, cudaStreamNonBlocking); }
inline error_t stream_destroy(stream_t s) { return cudaStreamDestroy(s); }
inline error_t stream_synchronize(stream_t s) { return cudaStreamSynchronize(s); }
inline error_t stream_wait_event(stream_t s, event_t e) { return cudaStreamWaitEvent(s, e, 0); }
inline error_t event_create(event_t* e) { return cudaEventCreate(e); }
inline error_t event_destroy(event_t e) { return cudaEventDestroy(e); }
inline error_t event_record(event_t e, stream_t s) { return cudaEventRecord(e, s); }
inline error_t event_synchronize(event_t e) { return cudaEventSynchronize(e); }
inline error_t event_elapsed_ms(float* ms, event_t a, event_t b) { return cudaEventElapsedTime(ms, a, b); }
inline error_t device_synchronize() { return cudaDeviceSynchronize(); }
inline error_t last_error() { return cudaGetLastError(); }

inline error_t driver_version(int* v) { return cudaDriverGetVersion(v); }
inline constexpr int built_runtime_version = CUDART_VERSION;
// 12040 -> "12.4"
inline std::string format_version(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
inline std::string toolkit_version() { return "CUDA " + format_version(CUDART_VERSION); }
// Why a driver cannot run this runtime, naming both versions; "" when it can.
// cudart needs a driver of at least its major version (minor-version compatibility).
inline std::string driver_mismatch(int driver) {
  if (driver == 0) return "no NVIDIA driver found: libcuda.so.1 cannot be loaded; the plugin was built with " + toolkit_version();
  if (driver / 1000 < CUDART_VERSION / 1000)
    return "the driver supports CUDA " + format_version(driver) + ", older than " + toolkit_version() +
           " that the plugin was built with";
  return {};
}

// The vendor GEMM of this toolkit (libcublas.so.<major>).
inline constexpr vendor_blas::Family blas_family = vendor_blas::Family::cublas;
inline constexpr int toolkit_major = CUDART_VERSION / 1000;

using half2 = __half2;
using bfloat162 = __nv_bfloat162;
inline constexpr bool has_bf16 = true;
inline constexpr int bf16_min_cc_major = 8;  // BF16 arithmetic from sm_80
// The same bound for the preprocessor, as __CUDA_ARCH__ spells it.
#define GPUKIT_CUDA_BF16_MIN_ARCH 800
static_assert(GPUKIT_CUDA_BF16_MIN_ARCH == bf16_min_cc_major * 100);

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
template <>
struct PackedOps<bfloat162> {
  __device__ static bfloat162 make(float lo, float hi) { return __floats2bfloat162_rn(lo, hi); }
  // cuda_bf16.hpp has the packed BF16 FMA only from sm_80. The fatbin's older
  // architectures get a body that traps and never runs: the host refuses
  // fma_bf16 below bf16_min_cc_major (GpuDevice::unavailable_kernel, checked
  // again at launch), so such a GPU reports the workload skipped, not a number.
  __device__ static bfloat162 fma(bfloat162 a, bfloat162 b, bfloat162 c) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < GPUKIT_CUDA_BF16_MIN_ARCH
    (void)a;
    (void)b;
    __trap();
    return c;
#else
    return __hfma2(a, b, c);
#endif
  }
  __device__ static void split(bfloat162 v, float& lo, float& hi) {
    float2 f = __bfloat1622float2(v);
    lo = f.x;
    hi = f.y;
  }
};

}  // namespace gpukit::gpurt
