// gpukit-hep-simd-bench: the HEP kernels' scalar path against the SIMD kernels
// of every instruction-set level this CPU has, on one core, interleaved in
// rounds in one process (a shared machine's load then weighs on all alike),
// with the CPU's FMA rate (gpubench's fma kernel) measured in the same rounds:
// the fraction of peak is at the clock the run really had. Behind
// scripts/bench-hep-simd; a build-tree helper, not installed.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <unistd.h>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/hep/em_shower.hpp"
#include "bench/hep/hep_common.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
#include "bench/hep/simd_bench_shower.hpp"
#include "bench/hep/track_fit.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/hep_kernels.hpp"
#include "compute/kernels/fma.cuh"
#include "compute/kernels/names.hpp"

namespace {

using gpukit::hep::Precision;
using gpukit::hep::simd_bench::shower_rate;
using gpukit::hep::simd_bench::thread_seconds;

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

struct Series {
  std::vector<double> rate;   // items per second
  std::vector<double> ratio;  // to the scalar path of the same round
  std::vector<double> peak;   // fraction of the same round's FMA rate
};

// ---- mlp_infer ----

// Weights widened to FP32 and a batch of inputs of storage type S, made once.
template <class S>
struct MlpBatch {
  std::vector<float> weights, biases;
  std::vector<S> in;
};

template <class S>
MlpBatch<S> mlp_batch(std::uint64_t samples, std::uint64_t seed) {
  using gpukit::hep::Storage;
  MlpBatch<S> m;
  std::vector<S> w(gpukit::hep::mlp_weight_count), b(gpukit::hep::mlp_bias_count);
  gpukit::hep::mlp_make_parameters<S>(seed, w.data(), b.data());
  for (const S& v : w) m.weights.push_back(float(Storage<S>::to_acc(v)));
  for (const S& v : b) m.biases.push_back(float(Storage<S>::to_acc(v)));
  m.in.resize(samples * gpukit::hep::mlp_inputs);
  for (std::uint64_t i = 0; i < samples; ++i)
    gpukit::hep::mlp_input_row<S>(seed, i, m.in.data() + i * gpukit::hep::mlp_inputs);
  return m;
}

// Samples per second of thread time, the forward pass alone: the scalar path's
// tile loop (run_mlp_infer's, 16 samples a tile) or a level's SIMD kernel.
template <class S>
double mlp_rate(const gpukit::cpu::KernelSet* set, const MlpBatch<S>& m, std::vector<float>& out) {
  constexpr int tile = 16;
  const std::uint64_t n = m.in.size() / gpukit::hep::mlp_inputs;
  const float* w = m.weights.data();
  const float* b = m.biases.data();
  const double t0 = thread_seconds();
  if (!set) {
    auto scratch = std::make_unique<gpukit::hep::MlpTileScratch<S, tile>>();
    for (std::uint64_t i = 0; i < n; i += tile)
      gpukit::hep::mlp_forward_tile<S, float, tile>(w, b, m.in.data() + i * gpukit::hep::mlp_inputs,
                                                    int(std::min<std::uint64_t>(tile, n - i)),
                                                    out.data() + i * gpukit::hep::mlp_outputs, *scratch);
  } else if constexpr (std::is_same_v<S, gpukit::hep::Half>) {
    set->hep->mlp_forward_f16(w, b, m.in.data(), n, out.data());
  } else if constexpr (std::is_same_v<S, gpukit::hep::BFloat16>) {
    set->hep->mlp_forward_bf16(w, b, m.in.data(), n, out.data());
  } else {
    set->hep->mlp_forward_f32(w, b, m.in.data(), n, out.data());
  }
  return static_cast<double>(n) / (thread_seconds() - t0);
}

// mlp_infer's FP32, FP16 and BF16 storage, scalar vs each level, interleaved
// rounds; the fraction of peak is of the FP32 FMA rate (every precision
// computes in FP32 on the CPU).
void bench_mlp(const std::vector<const gpukit::cpu::KernelSet*>& sets, int rounds, std::uint64_t samples) {
  const double load_before = load_average();
  const MlpBatch<float> f32 = mlp_batch<float>(samples, 1);
  const MlpBatch<gpukit::hep::Half> f16 = mlp_batch<gpukit::hep::Half>(samples, 1);
  const MlpBatch<gpukit::hep::BFloat16> bf16 = mlp_batch<gpukit::hep::BFloat16>(samples, 1);
  std::vector<float> out(samples * gpukit::hep::mlp_outputs);
  std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
  variants.insert(variants.end(), sets.begin(), sets.end());
  const std::vector<Precision> precisions{Precision::fp32, Precision::fp16, Precision::bf16};
  std::map<std::string, Series> series;
  std::vector<double> fma;
  for (int r = 0; r < rounds; ++r) {
    fma.push_back(fma_rate(*sets.front(), Precision::fp32));
    for (Precision p : precisions) {
      double scalar_rate = 0;
      for (const gpukit::cpu::KernelSet* set : variants) {
        const double rate = p == Precision::fp32   ? mlp_rate(set, f32, out)
                            : p == Precision::fp16 ? mlp_rate(set, f16, out)
                                                   : mlp_rate(set, bf16, out);
        if (!set) scalar_rate = rate;
        Series& s = series[std::string(gpukit::hep::precision_name(p)) + " " + (set ? set->isa : "scalar")];
        s.rate.push_back(rate);
        s.ratio.push_back(rate / scalar_rate);
        s.peak.push_back(rate * static_cast<double>(gpukit::hep::mlp_flops_per_sample) / fma.back());
      }
    }
  }
  const double load_after = load_average();
  std::printf("\nmlp_infer, one thread, %llu samples per run, %d interleaved rounds (medians, thread CPU time)\n",
              static_cast<unsigned long long>(samples), rounds);
  std::printf("load average (1 min): %.2f before, %.2f after; FP32 FMA rate %.2f (best %.2f) GFLOP/s\n", load_before,
              load_after, median(fma) / 1e9, *std::max_element(fma.begin(), fma.end()) / 1e9);
  std::printf("%-6s %-10s %6s %12s %9s %8s %12s %9s %8s\n", "prec", "path", "lanes", "samples/s", "x scalar",
              "of FMA32", "best sa/s", "x scalar", "of FMA32");
  const double best_fma = *std::max_element(fma.begin(), fma.end());
  for (Precision p : precisions) {
    const std::string prec = gpukit::hep::precision_name(p);
    const Series& sc = series[prec + " scalar"];
    const double best_scalar = *std::max_element(sc.rate.begin(), sc.rate.end());
    for (const gpukit::cpu::KernelSet* set : variants) {
      const Series& s = series[prec + " " + (set ? set->isa : "scalar")];
      const double best = *std::max_element(s.rate.begin(), s.rate.end());
      std::printf("%-6s %-10s %6d %12.4g %9.2f %7.1f%% %12.4g %9.2f %7.1f%%\n", prec.c_str(),
                  set ? set->isa : "scalar", set ? set->hep->lanes_mlp : 1, median(s.rate), median(s.ratio),
                  100 * median(s.peak), best, best / best_scalar,
                  100 * best * static_cast<double>(gpukit::hep::mlp_flops_per_sample) / best_fma);
    }
  }
}

// ---- track_fit ----

// FLOPs of one track_fit as the CPU's vector code executes it: the kernel run
// on a number type that counts + - * / and sqrt as one each, and each vector
// function as the operations of its simd.hpp implementation (approximately:
// sin or cos 20, atan2 25, asin 30, log 25, floor 4). The fit is the same for
// every track up to the rare failed propagation, so one track gives the count.
struct Counted {
  double v = 0;
  static inline long long flops = 0;
  Counted() = default;
  template <class A, class = std::enable_if_t<std::is_arithmetic_v<A>>>
  Counted(A a) : v(double(a)) {}
  Counted& operator+=(Counted b) { ++flops; v += b.v; return *this; }
  Counted& operator-=(Counted b) { ++flops; v -= b.v; return *this; }
  Counted& operator*=(Counted b) { ++flops; v *= b.v; return *this; }
};
Counted counted(double v, long long cost) {
  Counted::flops += cost;
  return Counted(v);
}
Counted operator+(Counted a, Counted b) { return counted(a.v + b.v, 1); }
Counted operator-(Counted a, Counted b) { return counted(a.v - b.v, 1); }
Counted operator*(Counted a, Counted b) { return counted(a.v * b.v, 1); }
Counted operator/(Counted a, Counted b) { return counted(a.v / b.v, 1); }
Counted operator-(Counted a) { return Counted(-a.v); }
bool operator<(Counted a, Counted b) { return a.v < b.v; }
bool operator<=(Counted a, Counted b) { return a.v <= b.v; }
bool operator>(Counted a, Counted b) { return a.v > b.v; }
bool operator==(Counted a, Counted b) { return a.v == b.v; }
Counted sqrt(Counted a) { return counted(std::sqrt(a.v), 1); }
Counted sin(Counted a) { return counted(std::sin(a.v), 20); }
Counted cos(Counted a) { return counted(std::cos(a.v), 20); }
Counted atan2(Counted a, Counted b) { return counted(std::atan2(a.v, b.v), 25); }
Counted asin(Counted a) { return counted(std::asin(a.v), 30); }
Counted log(Counted a) { return counted(std::log(a.v), 25); }
Counted floor(Counted a) { return counted(std::floor(a.v), 4); }

long long track_fit_flops() {
  const gpukit::hep::TrackConfig<double> c = gpukit::hep::track_config<double>();
  gpukit::hep::TrackHits<double> h;
  gpukit::hep::TrackTruth<double> t;
  gpukit::hep::track_generate(c, 1, 0, &h, &t);
  gpukit::hep::TrackConfig<Counted> cc{};
  cc.layers = c.layers;
  for (int l = 0; l < c.layers; ++l) cc.radius_cm[l] = c.radius_cm[l];
  cc.sigma_rphi_cm = c.sigma_rphi_cm;
  cc.sigma_z_cm = c.sigma_z_cm;
  cc.x_over_x0 = c.x_over_x0;
  cc.bfield_t = c.bfield_t;
  cc.mass_gev = c.mass_gev;
  gpukit::hep::TrackHits<Counted> hc;
  for (int l = 0; l < c.layers; ++l) {
    hc.rphi[l] = h.rphi[l];
    hc.z[l] = h.z[l];
  }
  gpukit::hep::TrackFitLanes<Counted> f;
  Counted::flops = 0;
  gpukit::hep::track_fit_lanes(cc, hc, &f);
  return Counted::flops;
}

// Tracks per second of thread time, the fit alone (as run_track_fit times it).
template <class T>
double track_rate(const gpukit::cpu::KernelSet* set, const std::vector<gpukit::hep::TrackHits<T>>& hits,
                  std::vector<gpukit::hep::TrackFit<T>>& fits) {
  const gpukit::hep::TrackConfig<T> c = gpukit::hep::track_config<T>();
  const std::uint64_t n = hits.size();
  const double t0 = thread_seconds();
  if (!set) {
    for (std::uint64_t i = 0; i < n; ++i) gpukit::hep::track_fit(c, hits[i], &fits[i]);
  } else if constexpr (sizeof(T) == sizeof(double)) {
    set->hep->track_fit_f64(c, hits.data(), n, false, fits.data());
  } else {
    set->hep->track_fit_f32(c, hits.data(), n, false, fits.data());
  }
  return static_cast<double>(n) / (thread_seconds() - t0);
}

template <class T>
std::vector<gpukit::hep::TrackHits<T>> track_hits(std::uint64_t n) {
  const gpukit::hep::TrackConfig<T> c = gpukit::hep::track_config<T>();
  std::vector<gpukit::hep::TrackHits<T>> hits(n);
  gpukit::hep::TrackTruth<T> truth;
  for (std::uint64_t i = 0; i < n; ++i) gpukit::hep::track_generate(c, 1, i, &hits[i], &truth);
  return hits;
}

void bench_track_fit(const std::vector<const gpukit::cpu::KernelSet*>& sets, std::uint64_t tracks, int rounds) {
  const double flops = static_cast<double>(track_fit_flops());
  const auto hits64 = track_hits<double>(tracks);
  const auto hits32 = track_hits<float>(tracks);
  std::vector<gpukit::hep::TrackFit<double>> fits64(tracks);
  std::vector<gpukit::hep::TrackFit<float>> fits32(tracks);
  std::vector<const gpukit::cpu::KernelSet*> variants{nullptr};
  variants.insert(variants.end(), sets.begin(), sets.end());
  const double load_before = load_average();
  std::map<std::string, Series> series;
  std::map<std::string, std::vector<double>> fma;
  for (int r = 0; r < rounds; ++r) {
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      const std::string prec = gpukit::hep::precision_name(p);
      const double peak = fma_rate(*sets.front(), p);
      fma[prec].push_back(peak);
      double scalar_rate = 0;
      for (const gpukit::cpu::KernelSet* set : variants) {
        const double rate = p == Precision::fp64 ? track_rate(set, hits64, fits64) : track_rate(set, hits32, fits32);
        if (!set) scalar_rate = rate;
        Series& s = series[prec + " " + (set ? set->isa : "scalar")];
        s.rate.push_back(rate);
        s.ratio.push_back(rate / scalar_rate);
        s.peak.push_back(rate * flops / peak);
      }
    }
  }
  std::printf("\ntrack_fit, one thread, %llu tracks per run (the fit alone), %d interleaved rounds (medians, thread "
              "CPU time)\n",
              static_cast<unsigned long long>(tracks), rounds);
  std::printf("load average (1 min): %.2f before, %.2f after; %.0f FLOP per track (counted, vector functions "
              "approximate)\n",
              load_before, load_average(), flops);
  std::printf("%-6s %-10s %6s %12s %9s %8s %12s %9s\n", "prec", "path", "lanes", "tracks/s", "x scalar", "of FMA",
              "best tr/s", "x scalar");
  for (Precision p : {Precision::fp64, Precision::fp32}) {
    const std::string prec = gpukit::hep::precision_name(p);
    for (const gpukit::cpu::KernelSet* set : variants) {
      const Series& s = series[prec + " " + (set ? set->isa : "scalar")];
      const Series& sc = series[prec + " scalar"];
      const int lanes = !set ? 1 : p == Precision::fp64 ? set->hep->lanes_fp64 : set->hep->lanes_fp32;
      const double best = *std::max_element(s.rate.begin(), s.rate.end());
      const double best_scalar = *std::max_element(sc.rate.begin(), sc.rate.end());
      std::printf("%-6s %-10s %6d %12.4g %9.2f %7.2f%% %12.4g %9.2f\n", prec.c_str(), set ? set->isa : "scalar", lanes,
                  median(s.rate), median(s.ratio), 100 * median(s.peak), best, best / best_scalar);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Scalar vs SIMD HEP kernels on one core, interleaved rounds"};
  std::uint64_t events = 1u << 20;
  int rounds = 5;
  app.add_option("--events", events, "matrix elements per timed run")->check(CLI::Range(1024, 1 << 28));
  app.add_option("--rounds", rounds, "interleaved rounds")->check(CLI::Range(1, 99));
  std::uint64_t mlp_samples = 8192;
  app.add_option("--mlp-samples", mlp_samples, "mlp_infer samples per timed run (0: skip mlp_infer)")
      ->check(CLI::Range(0, 1 << 24));
  std::uint64_t tracks = 1u << 15;
  app.add_option("--tracks", tracks, "track fits per timed run (track_fit; 0: skip track_fit)")
      ->check(CLI::Range(0, 1 << 24));
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
  if (mlp_samples > 0) bench_mlp(sets, rounds, mlp_samples);
  if (tracks > 0) bench_track_fit(sets, tracks, rounds);
  return 0;
}
