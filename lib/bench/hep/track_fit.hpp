// The Kalman-filter track-fit workload on the CPU and its validation: pulls of
// the fitted parameters and flatness of the chi2 probability.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/hep/hep_common.hpp"
#include "bench/hep/validation_stats.hpp"
#include "compute/kernels/hep/track_fit.cuh"

namespace gpukit::cpu {
struct KernelSet;
}

namespace gpukit::hep {

// A silicon barrel in a 2 T solenoid: 10 layers from 4 to 82 cm, 15 um (r phi)
// and 50 um (z) resolution, 1% X0 per layer at normal incidence (sensor plus
// support; silicon X0 = 9.37 cm, PDG), muons (m = 0.1056583755 GeV, PDG 2022)
// with 1/pT uniform for pT in [1, 50] GeV, |eta| < 1, beam spot 20 um x 5 cm.
template <class T>
TrackConfig<T> track_config() {
  TrackConfig<T> c{};
  const double radii[] = {4, 7, 11, 16, 22, 30, 40, 52, 66, 82};
  c.layers = 10;
  for (int i = 0; i < c.layers; ++i) c.radius_cm[i] = T(radii[i]);
  c.sigma_rphi_cm = T(15e-4);
  c.sigma_z_cm = T(50e-4);
  c.x_over_x0 = T(0.01);
  c.bfield_t = T(2);
  c.pt_min_gev = T(1);
  c.pt_max_gev = T(50);
  c.eta_max = T(1);
  c.vertex_sigma_xy_cm = T(20e-4);
  c.vertex_sigma_z_cm = T(5);
  c.mass_gev = T(0.1056583755);
  return c;
}

inline constexpr const char* track_parameter_names[5] = {"phi_pos", "z", "phi", "cot_theta", "q_over_pt"};

struct TrackOptions {
  std::uint64_t seed = 1;
  std::uint64_t tracks = 0;
  int threads = 0;                     // 0: one per hardware thread
  std::uint64_t validation_stride = 1;   // collect every this-th track (track_validation_stride)
  bool wrong_covariance_update = false;  // the deliberately wrong variant (tests only)
  // The SIMD kernels of one instruction-set level (cpu::select_kernel_set) fit
  // the tracks several at a time; null: the scalar kernel, one at a time.
  const cpu::KernelSet* kernels = nullptr;
};

struct TrackRun {
  Precision precision = Precision::fp64;
  std::vector<std::array<double, 5>> pulls;  // (fit - truth) / sigma per fitted track
  std::vector<double> chi2_probability;      // per fitted track
  std::uint64_t failed = 0;                  // generation or propagation failures
  int ndf = 0;
  double generate_duration_s = 0;
  double duration_s = 0;  // the fit alone
};

// FP64 or FP32 (other precisions are treated as FP32).
TrackRun run_track_fit(Precision precision, const TrackOptions& options);

// The pulls and chi2 probabilities of fitted tracks against their truth, every
// `stride`-th track from the first (a GPU driver validates a sample spread over
// the whole batch). Incomplete tracks and failed fits count in `failed`.
// Durations are left 0.
TrackRun collect_track_run(Precision precision, int layers, const TrackTruth<double>* truth,
                           const TrackFit<double>* fits, std::uint64_t count, std::uint64_t stride = 1);
TrackRun collect_track_run(Precision precision, int layers, const TrackTruth<float>* truth,
                           const TrackFit<float>* fits, std::uint64_t count, std::uint64_t stride = 1);

struct TrackValidation {
  bool passed = false;
  std::array<double, 5> pull_mean{}, pull_width{};
  double ks_p_value = 0;
  std::string detail;
};

// What a fit must show. The model is not exactly N(0, 1) (the helix is
// propagated linearised from the estimate, the seed is not exact), so a pull
// mean may differ from 0 by up to mean_tolerance and a width from 1 by up to
// width_tolerance; on top, gpubench allows max_pull standard errors of the
// sample mean (1/sqrt(n)) and width (1/sqrt(2(n-1))), so that a correct fit
// fails with at most its false-alarm probability whatever the sample size.
struct TrackCriteria {
  double mean_tolerance = 0.1;
  double width_tolerance = 0.1;
  double max_pull = 0;     // 0: the tolerances alone (the unit tests, fixed seeds)
  double min_ks_p = 0.01;  // the chi2 probability is flat: Kolmogorov-Smirnov p above this
};
// The five pull means and widths within the criteria, the chi2 probability
// flat, and no failed track.
TrackValidation validate_track_fit(const TrackRun& run, const TrackCriteria& criteria = {});

// gpubench's criteria for a run with these thresholds.
TrackCriteria track_benchmark_criteria(const StatisticalThresholds& thresholds);
// Statistical checks per validated run: the mean and width of five pulls and
// the KS test (the false-alarm budget's count, validation_stats.hpp).
inline constexpr int track_statistical_checks = 2 * 5 + 1;
// The most tracks a run validates: a sample spread over the batch, the size
// of a 4-core CPU node's full run (2^18), on every device alike.
inline constexpr std::uint64_t track_validation_sample = 1ULL << 18;
// The stride that spreads at most track_validation_sample tracks over a batch,
// and how a validation's text names it ("every track", "one track in 4").
std::uint64_t track_validation_stride(std::uint64_t tracks);
std::string track_sample_label(std::uint64_t stride);

}  // namespace gpukit::hep
