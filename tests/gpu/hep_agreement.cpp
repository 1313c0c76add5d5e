// Each GPU's hep_* kernels against the CPU drivers on the same Philox points:
// me_eemumu point by point (me_pointwise_tolerance); em_shower's longitudinal
// profile statistically (chi2) and energy conservation per event; track_fit's
// fitted parameters track by track, in units of their uncertainty, and its
// pulls; mlp_infer within the tolerance of its storage precision against the
// FP64 pass, by our tiled kernel and through the vendor GEMM where the device
// has one. Exit 77 without a GPU. Pointed at the fake plugin (whose kernels
// run on the host), it checks this test's own logic in CI.
#include <cmath>
#include <cstdio>
#include <vector>

#include "bench/hep/em_shower.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
#include "bench/hep/track_fit.hpp"
#include "compute/kernels/names.hpp"
#include "compute/registry.hpp"

namespace {

using namespace gpukit;

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

template <class T>
std::vector<double> gpu_me(Device& d, hep::Precision p, std::uint64_t n, std::uint64_t seed, double sqrt_s) {
  std::vector<double> out(n);
  auto buf = d.allocate(n * sizeof(T));
  if (!buf) return {};
  KernelArgs a;
  a.out = *buf;
  a.n = n;
  a.seed = seed;
  a.scalar = sqrt_s;
  std::vector<T> host(n);
  const bool ok = d.launch(p == hep::Precision::fp64 ? kernel::hep_me_eemumu_fp64 : kernel::hep_me_eemumu_fp32, a, 0) &&
                  d.copy(host.data(), *buf, n * sizeof(T), CopyKind::device_to_host, 0) && d.synchronize();
  d.release(*buf);
  if (!ok) return {};
  for (std::uint64_t i = 0; i < n; ++i) out[i] = host[i];
  return out;
}

// The shower run of n primaries of `energy` MeV on the GPU, as run_em_shower returns it.
template <class T>
hep::ShowerRun gpu_shower(Device& d, hep::Precision p, std::uint64_t n, std::uint64_t seed, double energy) {
  hep::ShowerRun run;
  run.precision = p;
  run.layers = hep::shower_layers;
  run.energy_mev = energy;
  auto dep = d.allocate(n * hep::shower_layers * sizeof(T));
  auto tally = d.allocate(n * sizeof(hep::ShowerTally<T>));
  if (!dep || !tally) return run;
  KernelArgs a;
  a.out = *dep;
  a.scratch = *tally;
  a.n = n;
  a.seed = seed;
  a.scalar = energy;
  std::vector<T> deposits(n * hep::shower_layers);
  std::vector<hep::ShowerTally<T>> tallies(n);
  const bool ok =
      d.launch(p == hep::Precision::fp64 ? kernel::hep_em_shower_fp64 : kernel::hep_em_shower_fp32, a, 0) &&
      d.copy(deposits.data(), *dep, deposits.size() * sizeof(T), CopyKind::device_to_host, 0) &&
      d.copy(tallies.data(), *tally, tallies.size() * sizeof(tallies[0]), CopyKind::device_to_host, 0) &&
      d.synchronize();
  d.release(*dep);
  d.release(*tally);
  if (!ok) return run;
  run.deposits.assign(deposits.begin(), deposits.end());
  for (const auto& t : tallies) {
    run.escaped.push_back(t.escaped_mev);
    run.steps += t.steps;
  }
  return run;
}

struct TrackAgreement {
  bool ran = false;
  double within = 0;          // fraction of tracks whose five parameters agree within the tolerance
  double worst_sigma = 0;     // largest |gpu - cpu| / sigma_cpu
  hep::TrackValidation validation;
};

// n tracks of `seed` generated and fitted on the GPU, against the same tracks
// generated and fitted on the host.
template <class T>
TrackAgreement gpu_tracks(Device& d, hep::Precision p, std::uint64_t n, std::uint64_t seed, double tolerance_sigma) {
  TrackAgreement out;
  const bool fp64 = p == hep::Precision::fp64;
  auto hits = d.allocate(n * sizeof(hep::TrackHits<T>));
  auto truth = d.allocate(n * sizeof(hep::TrackTruth<T>));
  auto fits = d.allocate(n * sizeof(hep::TrackFit<T>));
  if (!hits || !truth || !fits) return out;
  KernelArgs g;
  g.n = n;
  g.seed = seed;
  g.out = *hits;
  g.scratch = *truth;
  KernelArgs f;
  f.n = n;
  f.in0 = *hits;
  f.out = *fits;
  std::vector<hep::TrackTruth<T>> gt(n);
  std::vector<hep::TrackFit<T>> gf(n);
  const bool ok = d.launch(fp64 ? kernel::hep_track_generate_fp64 : kernel::hep_track_generate_fp32, g, 0) &&
                  d.launch(fp64 ? kernel::hep_track_fit_fp64 : kernel::hep_track_fit_fp32, f, 0) &&
                  d.copy(gt.data(), *truth, n * sizeof(gt[0]), CopyKind::device_to_host, 0) &&
                  d.copy(gf.data(), *fits, n * sizeof(gf[0]), CopyKind::device_to_host, 0) && d.synchronize();
  for (void* b : {*hits, *truth, *fits}) d.release(b);
  if (!ok) return out;
  out.ran = true;
  const hep::TrackConfig<T> c = hep::track_config<T>();
  std::uint64_t agree = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    hep::TrackHits<T> h;
    hep::TrackTruth<T> t;
    hep::TrackFit<T> cf;
    hep::track_generate(c, seed, i, &h, &t);
    hep::track_fit(c, h, &cf);
    bool same = gf[i].status == cf.status && gt[i].complete == t.complete;
    for (int k = 0; k < 5 && same; ++k) {
      double diff = double(gf[i].state[k]) - double(cf.state[k]);
      if (k == 0 || k == 2) diff = std::remainder(diff, 2 * M_PI);
      const double sigma = std::fabs(diff) / std::sqrt(double(cf.variance[k]));
      out.worst_sigma = std::max(out.worst_sigma, sigma);
      same = sigma <= tolerance_sigma;
    }
    agree += same;
  }
  out.within = double(agree) / double(n);
  out.validation =
      hep::validate_track_fit(hep::collect_track_run(p, c.layers, gt.data(), gf.data(), n),
                              hep::track_benchmark_criteria(hep::thresholds_for_run(hep::track_statistical_checks)));
  return out;
}

template <class S>
std::vector<double> gpu_mlp(Device& d, const std::string& name, std::uint64_t n, std::uint64_t seed) {
  std::vector<S> w(hep::mlp_weight_count), b(hep::mlp_bias_count);
  hep::mlp_make_parameters<S>(seed, w.data(), b.data());
  const bool blas = name.rfind("hep_mlp_blas_", 0) == 0;
  auto dw = d.allocate(w.size() * sizeof(S)), db = d.allocate(b.size() * sizeof(S)),
       din = d.allocate(blas ? hep::mlp_gemm_workspace_bytes(n, sizeof(S)) : n * hep::mlp_inputs * sizeof(S)),
       dout = d.allocate(n * hep::mlp_outputs * sizeof(float));
  if (!dw || !db || !din || !dout) return {};
  KernelArgs a;
  a.in0 = *dw;
  a.in1 = *db;
  a.scratch = *din;
  a.out = *dout;
  a.n = n;
  a.seed = seed;
  std::vector<float> out(n * hep::mlp_outputs);
  const bool ok = d.copy(*dw, w.data(), w.size() * sizeof(S), CopyKind::host_to_device, 0) &&
                  d.copy(*db, b.data(), b.size() * sizeof(S), CopyKind::host_to_device, 0) && d.launch(name, a, 0) &&
                  d.copy(out.data(), *dout, out.size() * sizeof(float), CopyKind::device_to_host, 0) && d.synchronize();
  for (void* p : {*dw, *db, *din, *dout}) d.release(p);
  if (!ok) return {};
  return {out.begin(), out.end()};
}

}  // namespace

int main() {
  RegistryOptions ro;
  auto registry = ComputeRegistry::open(ro);
  if (!registry || registry->gpus().empty()) {
    std::printf("no GPU: skipped\n");
    return 77;
  }
  const std::uint64_t n = 1 << 16, seed = 12345;
  const double sqrt_s = 91.1876;
  for (const auto& dev : registry->gpus()) {
    const std::string label = dev->info().name + " (" + dev->info().backend + ")";
    for (hep::Precision p : {hep::Precision::fp64, hep::Precision::fp32}) {
      hep::MeOptions o;
      o.seed = seed;
      o.events = n;
      o.sqrt_s_gev = sqrt_s;
      const hep::MeRun cpu = hep::run_me_eemumu(p, o);
      const std::vector<double> gpu = p == hep::Precision::fp64 ? gpu_me<double>(*dev, p, n, seed, sqrt_s)
                                                                : gpu_me<float>(*dev, p, n, seed, sqrt_s);
      const auto c = hep::compare_pointwise(gpu, cpu.me2, hep::me_pointwise_tolerance(p));
      expect(c.passed, label + " me_eemumu " + hep::precision_name(p) + " point by point, max relative difference " +
                           std::to_string(c.max_relative_difference));
    }
    for (hep::Precision p : {hep::Precision::fp64, hep::Precision::fp32}) {
      const std::uint64_t primaries = 256;
      const double energy = 10000;
      hep::ShowerOptions o;
      o.seed = seed;
      o.primaries = primaries;
      o.energy_mev = energy;
      const hep::ShowerRun cpu = hep::run_em_shower(p, o);
      const hep::ShowerRun gpu = p == hep::Precision::fp64 ? gpu_shower<double>(*dev, p, primaries, seed, energy)
                                                           : gpu_shower<float>(*dev, p, primaries, seed, energy);
      const hep::EnergyConservation e = hep::check_energy_conservation(gpu, hep::shower_energy_tolerance(p));
      expect(!gpu.deposits.empty() && e.passed, label + " em_shower " + hep::precision_name(p) +
                                                    " energy conserved per event, worst " +
                                                    std::to_string(e.worst_relative));
      const hep::ProfileComparison c =
          hep::compare_profiles(hep::longitudinal_profile(gpu), hep::longitudinal_profile(cpu));
      expect(!gpu.deposits.empty() && c.passed, label + " em_shower " + hep::precision_name(p) +
                                                    " profile vs CPU: chi2 " + std::to_string(c.chi2) + " / " +
                                                    std::to_string(c.ndf) + ", p " + std::to_string(c.p_value));
    }
    for (hep::Precision p : {hep::Precision::fp64, hep::Precision::fp32}) {
      // FP64: the same fit up to rounding; FP32: rounding of the generated hits
      // (device sin/cos/atan2 against libm) moves a fit by far less than its sigma.
      const double tolerance = p == hep::Precision::fp64 ? 1e-6 : 0.05;
      const TrackAgreement t = p == hep::Precision::fp64 ? gpu_tracks<double>(*dev, p, 1 << 15, seed, tolerance)
                                                         : gpu_tracks<float>(*dev, p, 1 << 15, seed, tolerance);
      expect(t.ran && t.within >= 0.999, label + " track_fit " + hep::precision_name(p) + " track by track: " +
                                             std::to_string(100 * t.within) + " % within " +
                                             std::to_string(tolerance) + " sigma, worst " +
                                             std::to_string(t.worst_sigma) + " sigma");
      expect(t.ran && t.validation.passed,
             label + " track_fit " + hep::precision_name(p) + " pulls and chi2: " + t.validation.detail);
    }
    struct Mlp { hep::Precision p; const char* kernel; };
    for (Mlp m : {Mlp{hep::Precision::fp32, kernel::hep_mlp_fp32}, Mlp{hep::Precision::fp16, kernel::hep_mlp_fp16},
                  Mlp{hep::Precision::bf16, kernel::hep_mlp_bf16}, Mlp{hep::Precision::fp32, kernel::hep_mlp_blas_fp32},
                  Mlp{hep::Precision::fp16, kernel::hep_mlp_blas_fp16},
                  Mlp{hep::Precision::bf16, kernel::hep_mlp_blas_bf16}}) {
      if (auto why = dev->unavailable_kernel(m.kernel); !why.empty()) {
        std::printf("skipped: %s %s: %s\n", label.c_str(), m.kernel, why.c_str());
        continue;
      }
      hep::MlpRun run;
      run.precision = m.p;
      run.outputs = m.p == hep::Precision::fp16   ? gpu_mlp<hep::Half>(*dev, m.kernel, 512, seed)
                    : m.p == hep::Precision::bf16 ? gpu_mlp<hep::BFloat16>(*dev, m.kernel, 512, seed)
                                                  : gpu_mlp<float>(*dev, m.kernel, 512, seed);
      const hep::MlpValidation v = hep::validate_mlp(run, seed, 512);
      expect(!run.outputs.empty() && v.passed, label + " " + m.kernel + " against FP64, max error " +
                                                    std::to_string(v.max_error));
    }
  }
  return failures == 0 ? 0 : 1;
}
