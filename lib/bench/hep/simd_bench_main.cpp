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
#include <unistd.h>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

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
  const double t0 = gpukit::hep::monotonic_seconds();
  entry->fn(a, 0, items);
  const double t = gpukit::hep::monotonic_seconds() - t0;
  return static_cast<double>(items * gpukit::kernels::fma_chains * iterations) * 2 / t;
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
  CLI11_PARSE(app, argc, argv);

  const std::vector<const gpukit::cpu::KernelSet*> sets = gpukit::cpu::available_kernel_sets();
  const double load_before = load_average();
  std::map<std::string, Series> series;  // "fp64 x86-64-v4"
  std::map<std::string, std::vector<double>> fma;
  for (int r = 0; r < rounds; ++r) {
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      const std::string prec = gpukit::hep::precision_name(p);
      const double peak = fma_rate(*sets.front(), p);
      fma[prec].push_back(peak);
      gpukit::hep::MeOptions o;
      o.events = events;
      o.threads = 1;
      o.seed = 1 + static_cast<std::uint64_t>(r);
      double scalar_rate = 0;
      std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
      variants.insert(variants.end(), sets.begin(), sets.end());
      for (const gpukit::cpu::KernelSet* set : variants) {
        o.kernels = set;
        const gpukit::hep::MeRun run = gpukit::hep::run_me_eemumu(p, o);
        const double rate = static_cast<double>(events) / run.duration_s;
        if (!set) scalar_rate = rate;
        Series& s = series[prec + " " + (set ? set->isa : "scalar")];
        s.rate.push_back(rate);
        s.ratio.push_back(rate / scalar_rate);
        s.peak.push_back(rate * static_cast<double>(gpukit::hep::me_eemumu_flops) / peak);
      }
    }
  }
  const double load_after = load_average();
  std::printf("me_eemumu, one thread, %llu events per run, %d interleaved rounds (medians)\n",
              static_cast<unsigned long long>(events), rounds);
  std::printf("load average (1 min): %.2f before, %.2f after; %ld logical CPUs\n", load_before, load_after,
              sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("FMA rate (widest level, this thread): fp64 %.2f GFLOP/s, fp32 %.2f GFLOP/s\n",
              median(fma["fp64"]) / 1e9, median(fma["fp32"]) / 1e9);
  std::printf("%-6s %-10s %6s %14s %10s %12s\n", "prec", "path", "lanes", "events/s", "x scalar", "of FMA rate");
  for (Precision p : {Precision::fp64, Precision::fp32}) {
    const std::string prec = gpukit::hep::precision_name(p);
    std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
    variants.insert(variants.end(), sets.begin(), sets.end());
    for (const gpukit::cpu::KernelSet* set : variants) {
      const Series& s = series[prec + " " + (set ? set->isa : "scalar")];
      const int lanes = !set ? 1 : p == Precision::fp64 ? set->hep->lanes_fp64 : set->hep->lanes_fp32;
      std::printf("%-6s %-10s %6d %14.4g %10.2f %11.1f%%\n", prec.c_str(), set ? set->isa : "scalar", lanes,
                  median(s.rate), median(s.ratio), 100 * median(s.peak));
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
