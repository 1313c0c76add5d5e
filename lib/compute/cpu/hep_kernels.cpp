// Compiled once per instruction-set level, like cpu_kernels.cpp (same macros).
#include "compute/cpu/hep_kernels.hpp"

#include "compute/cpu/em_shower_lanes.hpp"
#include "compute/kernels/hep/simd.hpp"

#ifndef GPUKIT_CPU_ISA_NS
#error "GPUKIT_CPU_ISA_NS must name the instruction-set namespace"
#endif

namespace gpukit::cpu::GPUKIT_CPU_ISA_NS {

namespace {

using u64 = std::uint64_t;

// Lanes per item batch: one register of the level, but at least four items
// (two SSE2 registers give the out-of-order core independent work).
constexpr int lanes_for(int bytes) {
  return GPUKIT_CPU_VECTOR_BYTES / bytes < 16 / bytes * 2 ? 16 / bytes * 2 : GPUKIT_CPU_VECTOR_BYTES / bytes;
}
constexpr int lanes_f64 = lanes_for(8);
constexpr int lanes_f32 = lanes_for(4);

// Item indices first .. first + N - 1 as the low and high words of Philox's counter.
template <int N>
void item_words(u64 first, hep::simd::Vec<std::uint32_t, N>* lo, hep::simd::Vec<std::uint32_t, N>* hi) {
  for (int i = 0; i < N; ++i) {
    lo->v[i] = std::uint32_t(first + u64(i));
    hi->v[i] = std::uint32_t((first + u64(i)) >> 32);
  }
}

// Lanes past `count` compute events that are not stored: the tail costs one
// batch, and every stored value comes from the same code path.
template <class S, int N, bool Flip>
void me_eemumu_lanes(u64 seed, u64 first, u64 count, S sqrt_s, const hep::EwParameters<S>& ew, S* out) {
  using V = hep::simd::Vec<S, N>;
  using W = hep::simd::Vec<std::uint32_t, N>;
  const hep::EwParameters<V> ewv{V(ew.alpha), V(ew.mz), V(ew.wz), V(ew.sin2w)};
  for (u64 i = 0; i < count; i += N) {
    W lo, hi;
    item_words<N>(first + i, &lo, &hi);
    const V m2 = hep::me_eemumu_event<V, Flip>(seed, lo, hi, V(sqrt_s), ewv);
    if (count - i >= u64(N)) {
      m2.store(out + i);
    } else {
      for (u64 l = 0; l < count - i; ++l) out[i + l] = m2[int(l)];
    }
  }
}

template <class S, int N>
void me_eemumu(u64 seed, u64 first, u64 count, S sqrt_s, const hep::EwParameters<S>& ew, bool flip, S* out) {
  if (flip)
    me_eemumu_lanes<S, N, true>(seed, first, count, sqrt_s, ew, out);
  else
    me_eemumu_lanes<S, N, false>(seed, first, count, sqrt_s, ew, out);
}

// ---- em_shower (one event per lane, compute/cpu/em_shower_lanes.hpp) ----
template <class S, int N>
void em_shower(const hep::ShowerConfig<S>& cfg, u64 seed, u64 first, u64 count, bool drop, S* deposits,
               hep::ShowerTally<S>* tally) {
  if (drop)
    hep::shower_lanes::shower_events<S, N, true>(cfg, seed, first, count, deposits, tally);
  else
    hep::shower_lanes::shower_events<S, N, false>(cfg, seed, first, count, deposits, tally);
}

}  // namespace

// The lanes pay for every branch any lane takes, and measured against the
// scalar kernel (scripts/bench-hep-simd, 10 GeV) they win only with 512-bit
// registers: 1.25x FP64 and 1.63x FP32 at v4, but 0.73x and 0.89x at v3 and
// at the generic level. Below v4 em_shower stays scalar (null here).
#if GPUKIT_CPU_VECTOR_BYTES >= 64
constexpr auto shower_f64 = em_shower<double, lanes_f64>;
constexpr auto shower_f32 = em_shower<float, lanes_f32>;
#else
constexpr decltype(&em_shower<double, lanes_f64>) shower_f64 = nullptr;
constexpr decltype(&em_shower<float, lanes_f32>) shower_f32 = nullptr;
#endif

const HepKernels& hep_kernels() {
  static const HepKernels set{lanes_f64, lanes_f32, me_eemumu<double, lanes_f64>, me_eemumu<float, lanes_f32>,
                                shower_f64, shower_f32};
  return set;
}

}  // namespace gpukit::cpu::GPUKIT_CPU_ISA_NS
