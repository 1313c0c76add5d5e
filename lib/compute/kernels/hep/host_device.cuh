// One spelling for functions that nvcc/hipcc compile for both host and device
// and that g++ compiles for the CPU backend: the HEP workloads are written once.
#pragma once

#ifndef GPUKIT_HOST_DEVICE
#if defined(__CUDACC__) || defined(__HIPCC__)
#define GPUKIT_HOST_DEVICE __host__ __device__
#else
#define GPUKIT_HOST_DEVICE
#endif
#endif

// <math.h> (not <cmath>): libstdc++'s wrapper also brings the float overloads of
// sqrt/log/exp/sin/cos into the global namespace, where CUDA and HIP declare
// their device overloads, so an unqualified sqrt(x) picks the precision of x on
// every compiler.
#include <math.h>
#include <stdint.h>
#include <string.h>

namespace gpukit::hep {

// c ? a : b, both sides evaluated: a kernel written with it runs on a lane type
// (compute/kernels/hep/simd.hpp) too, where c is a mask of lanes.
template <class T>
GPUKIT_HOST_DEVICE inline T hd_select(bool c, T a, T b) { return c ? a : b; }

// What a kernel's number type is made of: float/double themselves here, a
// SIMD lane type specialises it (simd.hpp). Word is the type of the Philox
// words that feed Scalar's uniforms, lanes the items computed together.
template <class T>
struct LaneTraits {
  using Scalar = T;
  using Word = uint32_t;
  static constexpr int lanes = 1;
};

template <class T>
GPUKIT_HOST_DEVICE inline T hd_min(T a, T b) { return b < a ? b : a; }
template <class T>
GPUKIT_HOST_DEVICE inline T hd_max(T a, T b) { return a < b ? b : a; }
template <class T>
GPUKIT_HOST_DEVICE inline T hd_abs(T a) { return a < T(0) ? -a : a; }

// A comparison of T's values: bool, or on a lane type a mask of lanes. The
// kernels' functions that decide per item return it; hd_any/hd_all reduce it
// where a loop or an early return must stay uniform (a scalar T: the branch).
template <class T>
using LaneMask = decltype(T(0) < T(0));
GPUKIT_HOST_DEVICE inline bool hd_any(bool c) { return c; }
GPUKIT_HOST_DEVICE inline bool hd_all(bool c) { return c; }
template <class T>
GPUKIT_HOST_DEVICE inline LaneMask<T> hd_all_lanes() { return T(0) == T(0); }
template <class T>
GPUKIT_HOST_DEVICE inline LaneMask<T> hd_no_lanes() { return T(0) < T(0); }

// pi in the working precision; a double literal would promote float code.
template <class T>
GPUKIT_HOST_DEVICE inline constexpr T pi() { return T(3.14159265358979323846); }

}  // namespace gpukit::hep
