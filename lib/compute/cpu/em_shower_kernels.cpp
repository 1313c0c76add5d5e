// em_shower on SIMD lanes (compute/cpu/em_shower_lanes.hpp), compiled once per
// instruction-set level like hep_kernels.cpp, which puts these in the level's
// HepKernels.
//
// Only at v4. The lanes pay for every branch any lane takes, and measured
// against the scalar kernel (scripts/bench-hep-simd, 10 GeV photons) they win
// only with 512-bit registers: 1.27x FP64 and 1.61x FP32 at v4, but 0.73x and
// 0.89x at v3 and the generic level. Below v4 em_shower stays scalar (null in
// HepKernels).
//
// Its own translation unit: compiled inside hep_kernels.cpp, the shower's
// templates changed GCC's code for the other kernels there (me_eemumu 12 %
// and track_fit 25 % slower at v4, measured side by side with the build before).
#include <cstdint>

#if GPUKIT_CPU_VECTOR_BYTES >= 64

#include "compute/cpu/em_shower_lanes.hpp"
#include "compute/cpu/hep_kernels.hpp"
#include "compute/kernels/hep/em_shower.cuh"

#ifndef GPUKIT_CPU_ISA_NS
#error "GPUKIT_CPU_ISA_NS must name the instruction-set namespace"
#endif

namespace gpukit::cpu::GPUKIT_CPU_ISA_NS {

namespace {

template <class S, int N>
void em_shower(const hep::ShowerConfig<S>& cfg, std::uint64_t seed, std::uint64_t first, std::uint64_t count,
               bool drop, S* deposits, hep::ShowerTally<S>* tally) {
  if (drop)
    hep::shower_lanes::shower_events<S, N, true>(cfg, seed, first, count, deposits, tally);
  else
    hep::shower_lanes::shower_events<S, N, false>(cfg, seed, first, count, deposits, tally);
}

}  // namespace

// One event per lane: one register of the level (8 doubles, 16 floats).
void em_shower_lanes_f64(const hep::ShowerConfig<double>& cfg, std::uint64_t seed, std::uint64_t first,
                         std::uint64_t count, bool drop_photo_deposit, double* deposits,
                         hep::ShowerTally<double>* tally) {
  em_shower<double, GPUKIT_CPU_VECTOR_BYTES / 8>(cfg, seed, first, count, drop_photo_deposit, deposits, tally);
}
void em_shower_lanes_f32(const hep::ShowerConfig<float>& cfg, std::uint64_t seed, std::uint64_t first,
                         std::uint64_t count, bool drop_photo_deposit, float* deposits, hep::ShowerTally<float>* tally) {
  em_shower<float, GPUKIT_CPU_VECTOR_BYTES / 4>(cfg, seed, first, count, drop_photo_deposit, deposits, tally);
}

}  // namespace gpukit::cpu::GPUKIT_CPU_ISA_NS

#endif
