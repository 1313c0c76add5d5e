// The __global__ kernels of the GPU plugins, compiled by nvcc (gpukit-cuda.so)
// and hipcc (gpukit-hip.so). Include after the plugin's runtime shim, which
// provides gpukit::gpurt::half2 and friends.
#pragma once

#include "compute/kernels/fma.cuh"
#include "compute/kernels/memtest.cuh"
#include "compute/kernels/stream.cuh"

namespace gpukit::kernels::gpu {

using u64 = std::uint64_t;

inline constexpr int block_size = 256;
inline constexpr int dot_block_size = 256;

__device__ inline u64 global_index() { return static_cast<u64>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline u64 grid_stride() { return static_cast<u64>(gridDim.x) * blockDim.x; }

__global__ void fill_kernel(double* out, u64 n, double value) {
  for (u64 i = global_index(); i < n; i += grid_stride()) out[i] = value;
}

__global__ void random_kernel(double* out, u64 n, u64 seed, double lo, double hi) {
  for (u64 i = global_index(); i < n; i += grid_stride()) out[i] = uniform(seed, i, lo, hi);
}

__global__ void copy_kernel(double* __restrict__ out, const double* __restrict__ a, u64 n) {
  for (u64 i = global_index(); i < n; i += grid_stride()) stream_copy_at(out, a, i);
}

__global__ void mul_kernel(double* __restrict__ out, const double* __restrict__ a, double s, u64 n) {
  for (u64 i = global_index(); i < n; i += grid_stride()) stream_mul_at(out, a, s, i);
}

__global__ void add_kernel(double* __restrict__ out, const double* __restrict__ a, const double* __restrict__ b,
                           u64 n) {
  for (u64 i = global_index(); i < n; i += grid_stride()) stream_add_at(out, a, b, i);
}

__global__ void triad_kernel(double* __restrict__ out, const double* __restrict__ a, const double* __restrict__ b,
                             double s, u64 n) {
  for (u64 i = global_index(); i < n; i += grid_stride()) stream_triad_at(out, a, b, s, i);
}

__device__ inline double block_sum(double value, double* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (unsigned offset = blockDim.x / 2; offset > 0; offset /= 2) {
    if (threadIdx.x < offset) shared[threadIdx.x] += shared[threadIdx.x + offset];
    __syncthreads();
  }
  return shared[0];
}

__global__ void dot_kernel(const double* __restrict__ a, const double* __restrict__ b, double* partial, u64 n) {
  __shared__ double shared[dot_block_size];
  double sum = 0;
  for (u64 i = global_index(); i < n; i += grid_stride()) sum += a[i] * b[i];
  double total = block_sum(sum, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

__global__ void dot_finish_kernel(const double* partial, u64 blocks, double* out) {
  __shared__ double shared[dot_block_size];
  double sum = 0;
  for (u64 i = threadIdx.x; i < blocks; i += blockDim.x) sum += partial[i];
  double total = block_sum(sum, shared);
  if (threadIdx.x == 0) out[0] = total;
}

// The chain loop is unrolled fma_unroll times so that loop control costs
// little next to fma_chains * fma_unroll FMAs.
__global__ void fma_fp64_kernel(double* out, u64 n, double m, double c, u64 seed, u64 iterations) {
  u64 item = global_index();
  if (item >= n) return;
  double x[fma_chains];
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) x[ch] = fma_start(seed, item, ch);
  for (u64 it = 0; it < iterations; it += fma_unroll) {
#pragma unroll
    for (int u = 0; u < fma_unroll; ++u)
#pragma unroll
      for (int ch = 0; ch < fma_chains; ++ch) x[ch] = fma(x[ch], m, c);
  }
  double s = 0;
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) s += x[ch];
  out[item] = s;
}

__global__ void fma_fp32_kernel(double* out, u64 n, float m, float c, u64 seed, u64 iterations) {
  u64 item = global_index();
  if (item >= n) return;
  float x[fma_chains];
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) x[ch] = static_cast<float>(fma_start(seed, item, ch));
  for (u64 it = 0; it < iterations; it += fma_unroll) {
#pragma unroll
    for (int u = 0; u < fma_unroll; ++u)
#pragma unroll
      for (int ch = 0; ch < fma_chains; ++ch) x[ch] = fmaf(x[ch], m, c);
  }
  double s = 0;
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) s += static_cast<double>(x[ch]);
  out[item] = s;
}

__global__ void fma_int32_kernel(double* out, u64 n, std::uint32_t m, std::uint32_t c, u64 seed, u64 iterations) {
  u64 item = global_index();
  if (item >= n) return;
  std::uint32_t x[fma_chains];
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) x[ch] = fma_start_u32(seed, item, ch);
  for (u64 it = 0; it < iterations; it += fma_unroll) {
#pragma unroll
    for (int u = 0; u < fma_unroll; ++u)
#pragma unroll
      for (int ch = 0; ch < fma_chains; ++ch) x[ch] = x[ch] * m + c;
  }
  double s = 0;
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) s += static_cast<double>(x[ch]);
  out[item] = s;
}

// Packed 16-bit chains: register ch holds scalar chains 2ch and 2ch+1. Pack is
// gpurt::half2 or gpurt::bfloat162; the shim supplies make/fma/split for each.
template <class Pack>
__global__ void fma_packed_kernel(double* out, u64 n, float m, float c, u64 seed, u64 iterations) {
  u64 item = global_index();
  if (item >= n) return;
  using P = gpurt::PackedOps<Pack>;
  const Pack m2 = P::make(m, m), c2 = P::make(c, c);
  Pack x[fma_chains];
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch)
    x[ch] = P::make(static_cast<float>(fma_start(seed, item, 2 * ch)), static_cast<float>(fma_start(seed, item, 2 * ch + 1)));
  for (u64 it = 0; it < iterations; it += fma_unroll) {
#pragma unroll
    for (int u = 0; u < fma_unroll; ++u)
#pragma unroll
      for (int ch = 0; ch < fma_chains; ++ch) x[ch] = P::fma(x[ch], m2, c2);
  }
  double s = 0;
#pragma unroll
  for (int ch = 0; ch < fma_chains; ++ch) {
    float lo, hi;
    P::split(x[ch], lo, hi);
    s += static_cast<double>(lo);
    s += static_cast<double>(hi);
  }
  out[item] = s;
}

__global__ void empty_kernel() {}

__global__ void memtest_write_kernel(u64* out, u64 n, u64 seed) {
  for (u64 i = global_index(); i < n; i += grid_stride()) out[i] = memtest_pattern(seed, i);
}

__global__ void memtest_verify_kernel(const u64* in, u64 n, u64 seed, unsigned long long* counters) {
  unsigned long long errors = 0, first = ~0ULL;
  for (u64 i = global_index(); i < n; i += grid_stride()) {
    if (in[i] != memtest_pattern(seed, i)) {
      ++errors;
      if (first == ~0ULL) first = i;
    }
  }
  if (errors) {
    atomicAdd(&counters[0], errors);
    atomicMin(&counters[1], first);
  }
}

// Holds a stream until the host sets *flag (or max_cycles pass, so that a host
// that never releases it cannot wedge the device).
__global__ void hold_kernel(volatile int* flag, long long max_cycles) {
  long long start = clock64();
  while (*flag == 0 && clock64() - start < max_cycles) {
  }
}

}  // namespace gpukit::kernels::gpu
