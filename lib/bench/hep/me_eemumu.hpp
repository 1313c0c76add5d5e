// The e+e- -> mu+mu- matrix-element workload on the CPU, its analytic Born cross
// section and its validation.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "bench/hep/hep_common.hpp"
#include "compute/kernels/hep/me_eemumu.cuh"

// Declared only: the GPU plugins include this header for the electroweak inputs
// and need none of the CPU backend.
namespace gpukit::cpu {
struct KernelSet;
}

namespace gpukit::hep {

// Electroweak inputs of the workload and of its analytic check.
struct ElectroweakInputs {
  double alpha = 1 / 137.035999084;  // CODATA 2018 fine-structure constant (Thomson limit)
  double mz_gev = 91.1876;           // PDG 2022 Z mass
  double wz_gev = 2.4952;            // PDG 2022 Z total width
  double sin2w = 0.23121;            // PDG 2022 sin^2 theta_W, MS-bar at m_Z
};
inline constexpr double gev2_to_pb = 0.3893793721e9;  // (hbar c)^2 in GeV^2 pb, PDG 2022

template <class T>
EwParameters<T> ew_parameters(const ElectroweakInputs& in = {}) {
  return EwParameters<T>{T(in.alpha), T(in.mz_gev), T(in.wz_gev), T(in.sin2w)};
}

struct BornPrediction {
  double sigma_pb = 0;  // total cross section
  double afb = 0;       // forward-backward asymmetry of the mu-
};

// The textbook Born formula for e+e- -> f fbar with photon and Z (fixed-width
// s-channel propagator), massless fermions, written in vector/axial couplings
// v = T3 - 2 Q sin^2, a = T3 and chi = s / (s - mZ^2 + i mZ GZ) / (4 sin^2 cos^2)
// (PDG review "Cross-section formulae for specific processes"):
//   sigma = 4 pi alpha^2 / (3 s) [Q^2 - 2 Q v_e v_f Re chi + (v_e^2 + a_e^2)(v_f^2 + a_f^2)|chi|^2]
//   A_FB  = 3/4 [-2 Q a_e a_f Re chi + 4 a_e a_f v_e v_f |chi|^2] / [...]
// An independent route from the helicity amplitudes of the kernel.
BornPrediction born_eemumu(double sqrt_s_gev, const ElectroweakInputs& in = {});

struct MeOptions {
  std::uint64_t seed = 1;
  std::uint64_t events = 0;
  double sqrt_s_gev = 91.1876;
  int threads = 0;           // 0: one per hardware thread
  bool flip_z_sign = false;  // the deliberately wrong variant (tests only)
  // The SIMD kernels of one instruction-set level (cpu::select_kernel_set);
  // null: the scalar kernel, one event at a time (the reference for comparisons).
  const cpu::KernelSet* kernels = nullptr;
};

struct MeRun {
  Precision precision = Precision::fp64;
  std::uint64_t seed = 1;
  double sqrt_s_gev = 0;
  std::vector<double> me2;  // |M|^2 summed over helicities, per event (FP32 values widened)
  double duration_s = 0;    // the threaded loop only
};

// FP64 or FP32 (other precisions are treated as FP32).
MeRun run_me_eemumu(Precision precision, const MeOptions& options);

struct CrossSectionEstimate {
  double sigma_pb = 0, sigma_error_pb = 0;
  double afb = 0, afb_error = 0;
  std::uint64_t events = 0;
};
// sigma = <w>, w = (1/4) |M|^2 / (2 s) * Phi_2 with Phi_2 = 1/(8 pi), the error
// from the spread of w; A_FB = <w sign(cos theta)> / <w> with its propagated error.
CrossSectionEstimate estimate_cross_section(const MeRun& run);

struct MeValidation {
  bool passed = false;
  double sigma_pull = 0;  // (MC - Born) / standard error
  double afb_pull = 0;
  std::string detail;
};
MeValidation validate_me_eemumu(const CrossSectionEstimate& mc, const BornPrediction& born, double max_pull = 3);

// What a benchmark run checks besides its timed batch at the pole: at the pole
// the real part of the Z propagator vanishes, and with it the photon-Z
// interference, so a kernel with the interference's sign wrong passes there.
// Each run is also checked far below, below and above the Z with a smaller
// batch of the same seed (not timed). gpubench holds every pull to the run's
// StatisticalThresholds::max_pull; the unit tests hold 3 with fixed seeds.
inline constexpr double me_check_energies_gev[] = {10, 60, 200};
inline constexpr std::uint64_t me_check_events = 1ULL << 16;
// Statistical checks per validated run: sigma and A_FB at the pole and at each
// off-pole energy (the false-alarm budget's count, validation_stats.hpp).
inline constexpr int me_statistical_checks = 2 * (1 + static_cast<int>(std::size(me_check_energies_gev)));
// Validates runs made at me_check_energies_gev (in that order), each pull
// within max_pull; the detail names each energy and, for a failure, its pulls.
MeValidation validate_off_pole(const std::vector<MeRun>& runs, double max_pull);
// How a validation's text introduces the pole check: "sqrt(s) 91.1876 GeV,
// |pull| <= 5.87: ".
std::string me_pole_label(double sqrt_s_gev, double max_pull);

struct PointwiseComparison {
  bool passed = false;
  double max_relative_difference = 0;
  std::uint64_t worst_index = 0;
};
// |a_i - b_i| / |b_i| for every point; fails also on a size mismatch or a NaN.
PointwiseComparison compare_pointwise(const std::vector<double>& a, const std::vector<double>& b, double tolerance);

// Point-by-point tolerance between two backends at one precision: rounding of
// ~100 operations with libm/device sin, cos, sqrt that differ by a few ulp.
double me_pointwise_tolerance(Precision precision);

// Floating-point operations per |M|^2 evaluation including its phase-space
// point (random-number generation excluded), counted by running the templated
// kernel on a counting number type (tests/unit/test_hep_physics.cpp):
// 460 add/sub/mul/div/sqrt plus 2 sin/cos (one FLOP per call); the RNG is
// integer work. Sign flips and comparisons are not counted. Both sides of the
// spinors' two selects are computed (SIMD lanes share one code path), 16 more
// than the 446 a branching kernel executes.
inline constexpr long long me_eemumu_flops = 462;

}  // namespace gpukit::hep
