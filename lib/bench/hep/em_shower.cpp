#include "bench/hep/em_shower.hpp"

#include <cmath>

#include "bench/hep/validation_stats.hpp"
#include "compute/cpu/hep_kernels.hpp"

namespace gpukit::hep {

double shower_x0_per_layer() { return shower_absorber_cm / 0.5612 + shower_scintillator_cm / 41.31; }

namespace {

template <class T>
ShowerRun run_typed(Precision precision, const ShowerOptions& o) {
  const ShowerConfig<T> cfg = shower_config<T>(o.energy_mev, o.primary_type);
  const int layers = cfg.layers;
  std::vector<T> dep(o.primaries * layers);
  std::vector<ShowerTally<T>> tally(o.primaries);
  const double t0 = monotonic_seconds();
  parallel_for(o.primaries, o.threads, [&](std::uint64_t begin, std::uint64_t end) {
    auto* kernel = [&] {
      if constexpr (sizeof(T) == sizeof(double))
        return o.kernels ? o.kernels->hep->em_shower_f64 : nullptr;
      else
        return o.kernels ? o.kernels->hep->em_shower_f32 : nullptr;
    }();
    if (kernel) {
      kernel(cfg, o.seed, begin, end - begin, o.drop_photo_deposit, dep.data() + begin * layers, tally.data() + begin);
      return;
    }
    for (std::uint64_t i = begin; i < end; ++i) {
      if (o.drop_photo_deposit)
        shower_event<T, true>(cfg, o.seed, i, dep.data() + i * layers, &tally[i]);
      else
        shower_event<T, false>(cfg, o.seed, i, dep.data() + i * layers, &tally[i]);
    }
  });
  ShowerRun run;
  run.duration_s = monotonic_seconds() - t0;
  run.precision = precision;
  run.layers = layers;
  run.energy_mev = o.energy_mev;
  run.deposits.assign(dep.begin(), dep.end());
  run.escaped.resize(o.primaries);
  for (std::uint64_t i = 0; i < o.primaries; ++i) {
    run.escaped[i] = tally[i].escaped_mev;
    run.steps += tally[i].steps;
    run.secondaries += tally[i].secondaries;
    run.overflows += tally[i].overflows;
  }
  return run;
}

}  // namespace

ShowerRun run_em_shower(Precision precision, const ShowerOptions& options) {
  if (precision == Precision::fp64) return run_typed<double>(precision, options);
  return run_typed<float>(Precision::fp32, options);
}

EnergyConservation check_energy_conservation(const ShowerRun& run, double tolerance) {
  EnergyConservation c;
  const std::uint64_t n = run.escaped.size();
  if (n == 0 || run.energy_mev <= 0) return c;
  for (std::uint64_t i = 0; i < n; ++i) {
    double sum = run.escaped[i];
    for (int l = 0; l < run.layers; ++l) sum += run.deposits[i * run.layers + l];
    const double rel = std::fabs(sum - run.energy_mev) / run.energy_mev;
    if (!(rel <= c.worst_relative)) {
      c.worst_relative = std::isnan(rel) ? INFINITY : rel;
      c.worst_event = i;
    }
  }
  c.passed = c.worst_relative <= tolerance;
  return c;
}

double shower_energy_tolerance(Precision precision) { return precision == Precision::fp64 ? 1e-9 : 1e-4; }

ShowerProfile longitudinal_profile(const ShowerRun& run) {
  ShowerProfile p;
  const std::uint64_t n = run.escaped.size();
  p.events = n;
  p.mean.assign(run.layers, 0);
  p.error.assign(run.layers, 0);
  if (n < 2) return p;
  for (int l = 0; l < run.layers; ++l) {
    double s = 0, q = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      const double d = run.deposits[i * run.layers + l];
      s += d;
      q += d * d;
    }
    const double dn = static_cast<double>(n);
    const double mean = s / dn;
    const double var = std::max(0.0, (q / dn - mean * mean) * dn / (dn - 1));
    p.mean[l] = mean;
    p.error[l] = std::sqrt(var / dn);
  }
  return p;
}

ProfileComparison compare_profiles(const ShowerProfile& a, const ShowerProfile& b, double min_p) {
  ProfileComparison c;
  if (a.mean.size() != b.mean.size()) return c;
  for (std::size_t l = 0; l < a.mean.size(); ++l) {
    const double v = a.error[l] * a.error[l] + b.error[l] * b.error[l];
    if (v <= 0) continue;
    const double d = a.mean[l] - b.mean[l];
    c.chi2 += d * d / v;
    ++c.ndf;
  }
  c.p_value = chi2_probability(c.chi2, c.ndf);
  c.passed = c.ndf > 0 && c.p_value > min_p;
  return c;
}

double shower_max_x0(const ShowerProfile& profile) {
  const double x0 = shower_x0_per_layer();
  double s = 0, st = 0, stt = 0;
  for (std::size_t l = 0; l < profile.mean.size(); ++l) {
    const double t = (static_cast<double>(l) + 0.5) * x0;
    s += profile.mean[l];
    st += profile.mean[l] * t;
    stt += profile.mean[l] * t * t;
  }
  if (s <= 0) return 0;
  const double mean = st / s, var = stt / s - mean * mean;
  return mean - var / mean;
}

ShowerMaxScaling check_shower_max_scaling(const std::vector<double>& energies_mev, const std::vector<double>& tmax_x0,
                                          double tolerance) {
  ShowerMaxScaling r;
  std::vector<double> x;
  for (double e : energies_mev) x.push_back(std::log(e));
  const LineFit f = fit_line(x, tmax_x0);
  r.slope = f.slope;
  r.slope_error = f.slope_error;
  r.intercept = f.intercept;
  r.passed = energies_mev.size() >= 2 && std::fabs(f.slope - 1) <= tolerance;
  return r;
}

}  // namespace gpukit::hep
