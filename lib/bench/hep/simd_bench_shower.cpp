#include "bench/hep/simd_bench_shower.hpp"

#include <ctime>

#include "bench/hep/em_shower.hpp"
#include "compute/cpu/hep_kernels.hpp"

namespace gpukit::hep::simd_bench {

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

namespace {

template <class T>
double rate(const cpu::KernelSet* set, std::uint64_t seed, double energy_mev, std::vector<T>& dep,
            std::vector<ShowerTally<T>>& tally) {
  const ShowerConfig<T> cfg = shower_config<T>(energy_mev);
  const std::uint64_t n = tally.size();
  const double t0 = thread_seconds();
  if (!set || !set->hep->em_shower_f64) {  // the scalar kernel at levels without em_shower lanes
    for (std::uint64_t i = 0; i < n; ++i) shower_event<T>(cfg, seed, i, dep.data() + i * std::uint64_t(cfg.layers), &tally[i]);
  } else if constexpr (sizeof(T) == sizeof(double)) {
    set->hep->em_shower_f64(cfg, seed, 0, n, false, dep.data(), tally.data());
  } else {
    set->hep->em_shower_f32(cfg, seed, 0, n, false, dep.data(), tally.data());
  }
  return static_cast<double>(n) / (thread_seconds() - t0);
}

}  // namespace

double shower_rate(const cpu::KernelSet* set, std::uint64_t seed, double energy_mev, std::vector<double>& dep,
                   std::vector<ShowerTally<double>>& tally) {
  return rate(set, seed, energy_mev, dep, tally);
}
double shower_rate(const cpu::KernelSet* set, std::uint64_t seed, double energy_mev, std::vector<float>& dep,
                   std::vector<ShowerTally<float>>& tally) {
  return rate(set, seed, energy_mev, dep, tally);
}

}  // namespace gpukit::hep::simd_bench
