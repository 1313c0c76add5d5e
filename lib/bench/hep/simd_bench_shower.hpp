// gpukit-hep-simd-bench's em_shower timing and thread clock. The shower has its
// own translation unit: inside simd_bench_main.cpp its inlined scalar kernel
// changed GCC's code for the scalar me_eemumu loop there (25 % slower FP64),
// and the scalar loops are the bench's baselines.
#pragma once

#include <cstdint>
#include <vector>

#include "compute/cpu/cpu_kernels.hpp"
#include "compute/kernels/hep/em_shower.cuh"

namespace gpukit::hep::simd_bench {

// CPU time of this thread: on a loaded machine the wall clock also counts the
// time the scheduler gave to others; the thread's own time does not.
double thread_seconds();

// Primaries per second of thread time, tally.size() primaries of energy_mev:
// the set's lanes, or the scalar kernel for a null set or one without em_shower
// lanes. The deposits and tallies are allocated outside the timed call.
double shower_rate(const cpu::KernelSet* set, std::uint64_t seed, double energy_mev, std::vector<double>& dep,
                   std::vector<ShowerTally<double>>& tally);
double shower_rate(const cpu::KernelSet* set, std::uint64_t seed, double energy_mev, std::vector<float>& dep,
                   std::vector<ShowerTally<float>>& tally);

}  // namespace gpukit::hep::simd_bench
