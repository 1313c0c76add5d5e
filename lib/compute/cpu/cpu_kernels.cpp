// Compiled once per instruction-set level with GPUKIT_CPU_ISA_NS naming the
// namespace and GPUKIT_CPU_VECTOR_BYTES the vector width (see CMakeLists.txt).
#include <algorithm>
#include <cstring>

#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/hep_kernels.hpp"
#include "compute/kernels/fma.cuh"
#include "compute/kernels/memtest.cuh"
#include "compute/kernels/names.hpp"
#include "compute/kernels/stream.cuh"

#ifndef GPUKIT_CPU_ISA_NS
#error "GPUKIT_CPU_ISA_NS must name the instruction-set namespace"
#endif

namespace gpukit::cpu::GPUKIT_CPU_ISA_NS {

namespace {

namespace k = gpukit::kernels;
using u64 = std::uint64_t;

Partial fill(const KernelArgs& a, u64 b, u64 e) {
  double* __restrict out = static_cast<double*>(a.out);
  const double v = a.scalar;
  for (u64 i = b; i < e; ++i) out[i] = v;
  return {};
}

Partial random(const KernelArgs& a, u64 b, u64 e) {
  double* __restrict out = static_cast<double*>(a.out);
  for (u64 i = b; i < e; ++i) out[i] = k::uniform(a.seed, i, a.scalar, a.scalar2);
  return {};
}

Partial copy(const KernelArgs& a, u64 b, u64 e) {
  double* __restrict out = static_cast<double*>(a.out);
  const double* __restrict in = static_cast<const double*>(a.in0);
  for (u64 i = b; i < e; ++i) k::stream_copy_at(out, in, i);
  return {};
}

Partial mul(const KernelArgs& a, u64 b, u64 e) {
  double* __restrict out = static_cast<double*>(a.out);
  const double* __restrict in = static_cast<const double*>(a.in0);
  const double s = a.scalar;
  for (u64 i = b; i < e; ++i) k::stream_mul_at(out, in, s, i);
  return {};
}

Partial add(const KernelArgs& a, u64 b, u64 e) {
  double* __restrict out = static_cast<double*>(a.out);
  const double* __restrict x = static_cast<const double*>(a.in0);
  const double* __restrict y = static_cast<const double*>(a.in1);
  for (u64 i = b; i < e; ++i) k::stream_add_at(out, x, y, i);
  return {};
}

Partial triad(const KernelArgs& a, u64 b, u64 e) {
  double* __restrict out = static_cast<double*>(a.out);
  const double* __restrict x = static_cast<const double*>(a.in0);
  const double* __restrict y = static_cast<const double*>(a.in1);
  const double s = a.scalar;
  for (u64 i = b; i < e; ++i) k::stream_triad_at(out, x, y, s, i);
  return {};
}

Partial dot(const KernelArgs& a, u64 b, u64 e) {
  const double* __restrict x = static_cast<const double*>(a.in0);
  const double* __restrict y = static_cast<const double*>(a.in1);
  // Independent accumulators: the vector adds pipeline instead of waiting on one.
  constexpr int lanes = 2 * GPUKIT_CPU_VECTOR_BYTES / static_cast<int>(sizeof(double));
  double acc[lanes] = {};
  u64 i = b;
  for (; i + lanes <= e; i += lanes)
    for (int j = 0; j < lanes; ++j) acc[j] += x[i + static_cast<u64>(j)] * y[i + static_cast<u64>(j)];
  double sum = 0;
  for (; i < e; ++i) sum += x[i] * y[i];
  for (double v : acc) sum += v;
  return {sum, 0, UINT64_MAX};
}

// One vector register per chain: W work items side by side in each register,
// fma_chains independent vector FMAs per step to fill the FMA pipes. Written
// with vector types and an unrolled chain loop so that the compiler keeps the
// step loop outermost (left to itself, GCC interchanges the loops and chains
// one register through all steps: latency-bound, a quarter of the peak).
// x*m + c becomes one FMA instruction: these files build with -ffp-contract=fast.
template <class T>
struct VecOf;
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(GPUKIT_CPU_VECTOR_BYTES)));
};
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(GPUKIT_CPU_VECTOR_BYTES)));
};
template <>
struct VecOf<std::uint32_t> {
  typedef std::uint32_t type __attribute__((vector_size(GPUKIT_CPU_VECTOR_BYTES)));
};

template <class T, class Start>
Partial fma_chains(const KernelArgs& a, u64 b, u64 e, Start start) {
  constexpr int W = GPUKIT_CPU_VECTOR_BYTES / static_cast<int>(sizeof(T));
  constexpr int C = k::fma_chains;
  using V = typename VecOf<T>::type;
  double* out = static_cast<double*>(a.out);
  const T m = static_cast<T>(a.scalar), c = static_cast<T>(a.scalar2);
  V mv, cv;
  for (int j = 0; j < W; ++j) mv[j] = m, cv[j] = c;
  for (u64 item0 = b; item0 < e; item0 += W) {
    const int w = static_cast<int>(std::min<u64>(W, e - item0));
    V x[C];
    for (int ch = 0; ch < C; ++ch)
      for (int j = 0; j < W; ++j) x[ch][j] = j < w ? start(item0 + static_cast<u64>(j), ch) : T(0);
    for (u64 it = 0; it < a.iterations; ++it) {
#pragma GCC unroll 8
      for (int ch = 0; ch < C; ++ch) x[ch] = x[ch] * mv + cv;
    }
    for (int j = 0; j < w; ++j) {
      double s = 0;
      for (int ch = 0; ch < C; ++ch) s += static_cast<double>(x[ch][j]);
      out[item0 + static_cast<u64>(j)] = s;
    }
  }
  return {};
}

Partial fma_fp64(const KernelArgs& a, u64 b, u64 e) {
  return fma_chains<double>(a, b, e, [&](u64 item, int ch) { return k::fma_start(a.seed, item, ch); });
}

Partial fma_fp32(const KernelArgs& a, u64 b, u64 e) {
  return fma_chains<float>(a, b, e,
                           [&](u64 item, int ch) { return static_cast<float>(k::fma_start(a.seed, item, ch)); });
}

Partial fma_int32(const KernelArgs& a, u64 b, u64 e) {
  return fma_chains<std::uint32_t>(a, b, e, [&](u64 item, int ch) { return k::fma_start_u32(a.seed, item, ch); });
}

Partial empty(const KernelArgs&, u64, u64) { return {}; }

Partial memtest_write(const KernelArgs& a, u64 b, u64 e) {
  auto* __restrict out = static_cast<std::uint64_t*>(a.out);
  for (u64 i = b; i < e; ++i) out[i] = k::memtest_pattern(a.seed, i);
  return {};
}

Partial memtest_verify(const KernelArgs& a, u64 b, u64 e) {
  const auto* in = static_cast<const std::uint64_t*>(a.out);
  Partial p;
  for (u64 i = b; i < e; ++i) {
    if (in[i] != k::memtest_pattern(a.seed, i)) {
      ++p.count;
      if (p.first == UINT64_MAX) p.first = i;
    }
  }
  return p;
}

constexpr KernelEntry entries[] = {
    {kernel::fill_f64, fill},
    {kernel::random_f64, random},
    {kernel::stream_copy, copy},
    {kernel::stream_mul, mul},
    {kernel::stream_add, add},
    {kernel::stream_triad, triad},
    {kernel::stream_dot, dot},
    {kernel::fma_fp64, fma_fp64},
    {kernel::fma_fp32, fma_fp32},
    {kernel::fma_int32, fma_int32},
    {kernel::empty, empty},
    {kernel::memtest_write, memtest_write},
    {kernel::memtest_verify, memtest_verify},
};

}  // namespace

const KernelSet& kernel_set() {
  static const KernelSet set{GPUKIT_CPU_ISA_NAME, GPUKIT_CPU_VECTOR_BYTES * 8, entries,
                             static_cast<int>(sizeof entries / sizeof entries[0]), &hep_kernels()};
  return set;
}

}  // namespace gpukit::cpu::GPUKIT_CPU_ISA_NS
