// BabelStream's kernels, one element at a time (64-bit indices). Bytes counted
// per element index, BabelStream's convention (no write-allocate traffic):
// copy 2, mul 2, add 3, triad 3, dot 2 arrays.
#pragma once

#include "compute/kernels/common.cuh"

namespace gpukit::kernels {

GPUKIT_HOST_DEVICE inline void stream_copy_at(double* out, const double* a, std::uint64_t i) { out[i] = a[i]; }
GPUKIT_HOST_DEVICE inline void stream_mul_at(double* out, const double* a, double s, std::uint64_t i) {
  out[i] = s * a[i];
}
GPUKIT_HOST_DEVICE inline void stream_add_at(double* out, const double* a, const double* b, std::uint64_t i) {
  out[i] = a[i] + b[i];
}
GPUKIT_HOST_DEVICE inline void stream_triad_at(double* out, const double* a, const double* b, double s,
                                               std::uint64_t i) {
  out[i] = a[i] + s * b[i];
}

// Arrays each kernel moves per element index.
inline constexpr int stream_copy_arrays = 2, stream_mul_arrays = 2, stream_add_arrays = 3,
                     stream_triad_arrays = 3, stream_dot_arrays = 2;

}  // namespace gpukit::kernels
