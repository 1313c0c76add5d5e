// gpukit-hep-simd-bench: the HEP kernels' scalar path against the SIMD kernels
// of every instruction-set level this CPU has, on one core, interleaved in
// rounds in one process (a shared machine's load then weighs on all alike),
// with the CPU's FMA rate (gpubench's fma kernel) measured in the same rounds:
// the fraction of peak is at the clock the run really had. Behind
// scripts/bench-hep-simd; a build-tree helper, not installed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <unistd.h>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench/hep/em_shower.hpp"
#include "bench/hep/hep_common.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/hep_kernels.hpp"
#include "compute/kernels/fma.cuh"
#include "compute/kernels/names.hpp"

namespace {

using gpukit::hep::Precision;

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// CPU time of this thread: on a loaded machine the wall clock also counts the
// time the scheduler gave to others; the thread's own time does not.
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// FLOP/s of the widest level's fma kernel on this thread (gpubench's fma_fp64 /
// fma_fp32 workloads: 8 chains per item, 2 FLOPs per FMA).
double fma_rate(const gpukit::cpu::KernelSet& set, Precision p) {
  const char* name = p == Precision::fp64 ? gpukit::kernel::fma_fp64 : gpukit::kernel::fma_fp32;
  const gpukit::cpu::KernelEntry* entry = nullptr;
  for (int i = 0; i < set.count; ++i)
    if (std::string(set.entries[i].name) == name) entry = &set.entries[i];
  if (!entry) return 0;
  constexpr std::uint64_t items = 128, iterations = 1u << 19;
  std::vector<double> out(items);
  gpukit::KernelArgs a;
  a.out = out.data();
  a.n = items;
  a.scalar = gpukit::kernels::fma_multiplier_wide;
  a.scalar2 = 0.001;
  a.seed = 1;
  a.iterations = iterations;
  const double t0 = thread_seconds();
  entry->fn(a, 0, items);
  const double t = thread_seconds() - t0;
  return static_cast<double>(items * gpukit::kernels::fma_chains * iterations) * 2 / t;
}

// Events per second of thread time, the kernels alone: the driver's allocations
// (page faults cost more than the kernel on a VM) are outside, as they are
// outside run_me_eemumu's timed loop.
template <class T>
double me_rate(const gpukit::cpu::KernelSet* set, std::uint64_t seed, std::vector<T>& out) {
  const gpukit::hep::EwParameters<T> ew = gpukit::hep::ew_parameters<T>();
  const T sqrt_s = T(gpukit::hep::MeOptions{}.sqrt_s_gev);
  const std::uint64_t n = out.size();
  const double t0 = thread_seconds();
  if (!set) {
    for (std::uint64_t i = 0; i < n; ++i) out[i] = gpukit::hep::me_eemumu_event<T>(seed, i, sqrt_s, ew);
  } else if constexpr (sizeof(T) == sizeof(double)) {
    set->hep->me_eemumu_f64(seed, 0, n, sqrt_s, ew, false, out.data());
  } else {
    set->hep->me_eemumu_f32(seed, 0, n, sqrt_s, ew, false, out.data());
  }
  return static_cast<double>(n) / (thread_seconds() - t0);
}

// ---- em_shower ----
// Primaries per second of thread time; the deposits and tallies are allocated
// outside the timed call (see me_rate).
template <class T>
double shower_rate(const gpukit::cpu::KernelSet* set, std::uint64_t seed, double energy_mev, std::vector<T>& dep,
                   std::vector<gpukit::hep::ShowerTally<T>>& tally) {
  const gpukit::hep::ShowerConfig<T> cfg = gpukit::hep::shower_config<T>(energy_mev);
  const std::uint64_t n = tally.size();
  const double t0 = thread_seconds();
  if (!set || !set->hep->em_shower_f64) {  // the scalar kernel at levels without em_shower lanes
    for (std::uint64_t i = 0; i < n; ++i)
      gpukit::hep::shower_event<T>(cfg, seed, i, dep.data() + i * std::uint64_t(cfg.layers), &tally[i]);
  } else if constexpr (sizeof(T) == sizeof(double)) {
    set->hep->em_shower_f64(cfg, seed, 0, n, false, dep.data(), tally.data());
  } else {
    set->hep->em_shower_f32(cfg, seed, 0, n, false, dep.data(), tally.data());
  }
  return static_cast<double>(n) / (thread_seconds() - t0);
}

struct Series {
  std::vector<double> rate;   // items per second
  std::vector<double> ratio;  // to the scalar path of the same round
  std::vector<double> peak;   // fraction of the same round's FMA rate
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Scalar vs SIMD HEP kernels on one core, interleaved rounds"};
  std::uint64_t events = 1u << 20;
  int rounds = 5;
  app.add_option("--events", events, "matrix elements per timed run")->check(CLI::Range(1024, 1 << 28));
  app.add_option("--rounds", rounds, "interleaved rounds")->check(CLI::Range(1, 99));
  std::uint64_t shower_primaries = 64;
  double shower_energy_mev = 10000;
  app.add_option("--shower-primaries", shower_primaries, "em_shower primaries per timed run (0: no em_shower)")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--shower-energy", shower_energy_mev, "em_shower primary photon energy, MeV")
      ->check(CLI::Range(100.0, 1e6));
  CLI11_PARSE(app, argc, argv);

  const std::vector<const gpukit::cpu::KernelSet*> sets = gpukit::cpu::available_kernel_sets();
  const double load_before = load_average();
  std::map<std::string, Series> series;  // "fp64 x86-64-v4"
  std::map<std::string, std::vector<double>> fma;
  std::vector<double> out64(events);
  std::vector<float> out32(events);
  std::map<std::string, Series> shower;  // em_shower's series, same keys
  std::vector<double> dep64(shower_primaries * gpukit::hep::shower_layers);
  std::vector<float> dep32(shower_primaries * gpukit::hep::shower_layers);
  std::vector<gpukit::hep::ShowerTally<double>> tally64(shower_primaries);
  std::vector<gpukit::hep::ShowerTally<float>> tally32(shower_primaries);
  for (int r = 0; r < rounds; ++r) {
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      const std::string prec = gpukit::hep::precision_name(p);
      const double peak = fma_rate(*sets.front(), p);
      fma[prec].push_back(peak);
      const std::uint64_t seed = 1 + static_cast<std::uint64_t>(r);
      double scalar_rate = 0;
      std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
      variants.insert(variants.end(), sets.begin(), sets.end());
      for (const gpukit::cpu::KernelSet* set : variants) {
        const double rate = p == Precision::fp64 ? me_rate(set, seed, out64) : me_rate(set, seed, out32);
        if (!set) scalar_rate = rate;
        Series& s = series[prec + " " + (set ? set->isa : "scalar")];
        s.rate.push_back(rate);
        s.ratio.push_back(rate / scalar_rate);
        s.peak.push_back(rate * static_cast<double>(gpukit::hep::me_eemumu_flops) / peak);
      }
      for (const gpukit::cpu::KernelSet* set : variants) {
        if (shower_primaries == 0) break;
        const double rate = p == Precision::fp64 ? shower_rate(set, seed, shower_energy_mev, dep64, tally64)
                                                 : shower_rate(set, seed, shower_energy_mev, dep32, tally32);
        if (!set) scalar_rate = rate;
        Series& s = shower[prec + " " + (set ? set->isa : "scalar")];
        s.rate.push_back(rate);
        s.ratio.push_back(rate / scalar_rate);
      }
    }
  }
  const double load_after = load_average();
  std::printf("me_eemumu, one thread, %llu events per run, %d interleaved rounds (medians, thread CPU time)\n",
              static_cast<unsigned long long>(events), rounds);
  std::printf("load average (1 min): %.2f before, %.2f after; %ld logical CPUs\n", load_before, load_after,
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("FMA rate (widest level, this thread): fp64 %.2f (best %.2f) GFLOP/s, fp32 %.2f (best %.2f) GFLOP/s\n",
              median(fma["fp64"]) / 1e9, *std::max_element(fma["fp64"].begin(), fma["fp64"].end()) / 1e9,
              median(fma["fp32"]) / 1e9, *std::max_element(fma["fp32"].begin(), fma["fp32"].end()) / 1e9);
  // Medians, and the best round of each path (the least disturbed on a shared machine).
  std::printf("%-6s %-10s %6s %12s %9s %8s %12s %9s %8s\n", "prec", "path", "lanes", "events/s", "x scalar", "of FMA",
              "best ev/s", "x scalar", "of FMA");
  for (Precision p : {Precision::fp64, Precision::fp32}) {
    const std::string prec = gpukit::hep::precision_name(p);
    std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
    variants.insert(variants.end(), sets.begin(), sets.end());
    for (const gpukit::cpu::KernelSet* set : variants) {
      const Series& s = series[prec + " " + (set ? set->isa : "scalar")];
      const int lanes = !set ? 1 : p == Precision::fp64 ? set->hep->lanes_fp64 : set->hep->lanes_fp32;
      const Series& sc = series[prec + " scalar"];
      const double best = *std::max_element(s.rate.begin(), s.rate.end());
      const double best_scalar = *std::max_element(sc.rate.begin(), sc.rate.end());
      const double best_fma = *std::max_element(fma[prec].begin(), fma[prec].end());
      std::printf("%-6s %-10s %6d %12.4g %9.2f %7.1f%% %12.4g %9.2f %7.1f%%\n", prec.c_str(), set ? set->isa : "scalar",
                  lanes, median(s.rate), median(s.ratio), 100 * median(s.peak), best, best / best_scalar,
                  100 * best * static_cast<double>(gpukit::hep::me_eemumu_flops) / best_fma);
    }
  }
  if (shower_primaries > 0) {
    // No FLOP count: the steps' work depends on the history (fraction of FMA peak not given).
    std::printf("\nem_shower, %llu primary photons of %g MeV per run (medians; best round)\n",
                static_cast<unsigned long long>(shower_primaries), shower_energy_mev);
    std::printf("%-6s %-10s %6s %12s %9s %12s %9s\n", "prec", "path", "lanes", "primaries/s", "x scalar", "best /s",
                "x scalar");
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      const std::string prec = gpukit::hep::precision_name(p);
      std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
      variants.insert(variants.end(), sets.begin(), sets.end());
      const Series& sc = shower[prec + " scalar"];
      const double best_scalar = *std::max_element(sc.rate.begin(), sc.rate.end());
      for (const gpukit::cpu::KernelSet* set : variants) {
        const Series& s = shower[prec + " " + (set ? set->isa : "scalar")];
        const int lanes = !set || !set->hep->em_shower_f64 ? 1
                          : p == Precision::fp64           ? set->hep->lanes_fp64
                                                           : set->hep->lanes_fp32;
        const double best = *std::max_element(s.rate.begin(), s.rate.end());
        std::printf("%-6s %-10s %6d %12.4g %9.2f %12.4g %9.2f\n", prec.c_str(), set ? set->isa : "scalar", lanes,
                    median(s.rate), median(s.ratio), best, best / best_scalar);
      }
    }
  }
  for (const gpukit::cpu::KernelSet* set : sets) {
    const Series& d = series[std::string("fp64 ") + set->isa];
    const Series& f = series[std::string("fp32 ") + set->isa];
    std::vector<double> r;
    for (std::size_t i = 0; i < d.rate.size(); ++i) r.push_back(f.rate[i] / d.rate[i]);
    std::printf("fp32 / fp64 at %s: %.2f\n", set->isa, median(r));
  }
  return 0;
}
