#include "bench/hep/track_fit.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "bench/hep/validation_stats.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/hep_kernels.hpp"

namespace gpukit::hep {

namespace {

template <class T>
TrackRun collect_typed(Precision precision, int layers, const TrackTruth<T>* truth, const TrackFit<T>* fits,
                       std::uint64_t count, std::uint64_t stride) {
  TrackRun run;
  run.precision = precision;
  run.ndf = 2 * layers - 5;
  if (stride == 0) stride = 1;
  for (std::uint64_t i = 0; i < count; i += stride) {
    const TrackFit<T>& f = fits[i];
    if (!truth[i].complete || f.status != 0) {
      ++run.failed;
      continue;
    }
    std::array<double, 5> pull{};
    for (int k = 0; k < 5; ++k) {
      double d = double(f.state[k]) - double(truth[i].state[k]);
      if (k == 0 || k == 2) d = std::remainder(d, 2 * M_PI);
      pull[k] = d / std::sqrt(double(f.variance[k]));
    }
    run.pulls.push_back(pull);
    run.chi2_probability.push_back(chi2_probability(double(f.chi2), f.ndf));
  }
  return run;
}

template <class T>
TrackRun run_typed(Precision precision, const TrackOptions& o) {
  const TrackConfig<T> cfg = track_config<T>();
  std::vector<TrackHits<T>> hits(o.tracks);
  std::vector<TrackTruth<T>> truth(o.tracks);
  std::vector<TrackFit<T>> fits(o.tracks);
  double t0 = monotonic_seconds();
  parallel_for(o.tracks, o.threads, [&](std::uint64_t begin, std::uint64_t end) {
    for (std::uint64_t i = begin; i < end; ++i) track_generate(cfg, o.seed, i, &hits[i], &truth[i]);
  });
  const double generate_s = monotonic_seconds() - t0;
  t0 = monotonic_seconds();
  parallel_for(o.tracks, o.threads, [&](std::uint64_t begin, std::uint64_t end) {
    if (o.kernels) {
      const cpu::HepKernels& k = *o.kernels->hep;
      if constexpr (sizeof(T) == sizeof(double))
        k.track_fit_f64(cfg, hits.data() + begin, end - begin, o.wrong_covariance_update, fits.data() + begin);
      else
        k.track_fit_f32(cfg, hits.data() + begin, end - begin, o.wrong_covariance_update, fits.data() + begin);
    } else if (o.wrong_covariance_update)
      for (std::uint64_t i = begin; i < end; ++i) track_fit<T, true>(cfg, hits[i], &fits[i]);
    else
      for (std::uint64_t i = begin; i < end; ++i) track_fit<T, false>(cfg, hits[i], &fits[i]);
  });
  const double fit_s = monotonic_seconds() - t0;
  TrackRun run = collect_typed(precision, cfg.layers, truth.data(), fits.data(), o.tracks, o.validation_stride);
  run.generate_duration_s = generate_s;
  run.duration_s = fit_s;
  return run;
}

}  // namespace

TrackRun run_track_fit(Precision precision, const TrackOptions& options) {
  if (precision == Precision::fp64) return run_typed<double>(precision, options);
  return run_typed<float>(Precision::fp32, options);
}

TrackRun collect_track_run(Precision precision, int layers, const TrackTruth<double>* truth,
                           const TrackFit<double>* fits, std::uint64_t count, std::uint64_t stride) {
  return collect_typed(precision, layers, truth, fits, count, stride);
}

TrackRun collect_track_run(Precision precision, int layers, const TrackTruth<float>* truth,
                           const TrackFit<float>* fits, std::uint64_t count, std::uint64_t stride) {
  return collect_typed(precision, layers, truth, fits, count, stride);
}

TrackValidation validate_track_fit(const TrackRun& run, const TrackCriteria& c) {
  TrackValidation v;
  bool ok = run.failed == 0 && run.pulls.size() >= 2;
  std::ostringstream d;
  d.precision(3);
  const double n = static_cast<double>(std::max<std::size_t>(run.pulls.size(), 2));
  const double mean_limit = c.mean_tolerance + c.max_pull / std::sqrt(n);
  const double width_limit = c.width_tolerance + c.max_pull / std::sqrt(2 * (n - 1));
  for (int k = 0; k < 5; ++k) {
    std::vector<double> x;
    x.reserve(run.pulls.size());
    for (const auto& p : run.pulls) x.push_back(p[k]);
    const MeanWidth m = mean_and_width(x);
    v.pull_mean[k] = m.mean;
    v.pull_width[k] = m.width;
    // A fit whose true mean (width) is within the tolerance fails this with at
    // most the two-sided normal tail at max_pull (standard errors of a unit-width pull).
    const bool good = std::fabs(m.mean) <= mean_limit && std::fabs(m.width - 1) <= width_limit;
    ok = ok && good;
    d << track_parameter_names[k] << " pull " << m.mean << " +- " << m.width << (good ? "" : " (out)") << "; ";
  }
  v.ks_p_value = ks_test_uniform(run.chi2_probability).p_value;
  ok = ok && v.ks_p_value > c.min_ks_p;
  d << "chi2-probability KS p " << v.ks_p_value;
  if (run.failed) d << "; " << run.failed << " tracks failed";
  d << "; limits |mean| <= " << mean_limit << ", |width - 1| <= " << width_limit << ", KS p > " << c.min_ks_p;
  v.detail = d.str();
  v.passed = ok;
  return v;
}

std::uint64_t track_validation_stride(std::uint64_t tracks) {
  return std::max<std::uint64_t>(1, tracks / track_validation_sample);
}

std::string track_sample_label(std::uint64_t stride) {
  return stride <= 1 ? std::string("every track") : "one track in " + std::to_string(stride);
}

TrackCriteria track_benchmark_criteria(const StatisticalThresholds& t) {
  TrackCriteria c;
  c.max_pull = t.max_pull;
  c.min_ks_p = t.min_ks_p;
  return c;
}

}  // namespace gpukit::hep
