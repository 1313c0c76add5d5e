// Single-source device code: compiled by nvcc and hipcc for the GPU plugins and
// by the host compiler for the CPU backend and the CPU references.
#pragma once

#include <cstdint>

#if defined(__CUDACC__) || defined(__HIPCC__)
#define GPUKIT_HOST_DEVICE __host__ __device__
#define GPUKIT_DEVICE_CODE 1
#else
#define GPUKIT_HOST_DEVICE
#endif

namespace gpukit::kernels {

// splitmix64's finaliser: a counter-based generator, so that any element of a
// random array can be regenerated on the host from (seed, index) to check it.
GPUKIT_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [lo, hi) with 53 random bits.
GPUKIT_HOST_DEVICE inline double uniform(std::uint64_t seed, std::uint64_t index, double lo, double hi) {
  double u = static_cast<double>(mix64(seed ^ mix64(index)) >> 11) * (1.0 / 9007199254740992.0);
  return lo + (hi - lo) * u;
}

}  // namespace gpukit::kernels
