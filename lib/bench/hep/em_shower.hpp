// The electromagnetic-shower workload on the CPU and its validations: energy
// conservation per event, profile agreement between two runs, and the depth of
// the shower maximum growing with log(E).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/hep/hep_common.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/kernels/hep/em_shower.cuh"

namespace gpukit::hep {

// The calorimeter: 64 cells of 2 mm lead + 4 mm polystyrene scintillator
// (0.366 X0 per cell, 23.4 X0 in all). Material constants (PDG "Atomic and
// nuclear properties of materials", 2022):
//   lead: rho 11.35 g/cm3, Z/A 82/207.2, X0 = 6.37 g/cm2 = 0.5612 cm,
//         minimum dE/dx 1.122 MeV cm2/g, photoelectric mu/rho(100 keV) about
//         5.2 cm2/g (NIST XCOM total 5.549 less scattering);
//   polystyrene: rho 1.060 g/cm3, <Z/A> 0.53768, X0 = 43.79 g/cm2 = 41.31 cm,
//         minimum dE/dx 2.052 MeV cm2/g, photoelectric about 1e-3 cm2/g at
//         100 keV (order of magnitude; irrelevant next to Compton there),
//         Z_eff = 5.86 for the screening log (Z^2-weighted C8H8).
// Cuts: photons 100 keV, electrons 1 MeV, bremsstrahlung photons 1 MeV.
inline constexpr int shower_layers = 64;
inline constexpr double shower_absorber_cm = 0.2;
inline constexpr double shower_scintillator_cm = 0.4;

template <class T>
ShowerConfig<T> shower_config(double primary_mev, int primary_type = 0) {
  const double n_avogadro = 6.02214076e23;
  const double two_pi_re2 = 2 * 3.14159265358979323846 * classical_radius_cm * classical_radius_cm;
  ShowerConfig<T> c{};
  c.layers = shower_layers;
  c.absorber_cm = T(shower_absorber_cm);
  c.scintillator_cm = T(shower_scintillator_cm);
  const double lead_rho = 11.35, poly_rho = 1.060;
  c.material[0] = ShowerMaterial<T>{T(0.5612), T(two_pi_re2 * lead_rho * n_avogadro * 82 / 207.2), T(5.2 * lead_rho),
                                    T(1.122 * lead_rho), T(3.7405)};
  c.material[1] = ShowerMaterial<T>{T(41.31), T(two_pi_re2 * poly_rho * n_avogadro * 0.53768), T(1e-3 * poly_rho),
                                    T(2.052 * poly_rho), T(4.6200)};
  c.primary_mev = T(primary_mev);
  c.primary_type = primary_type;
  c.gamma_cut_mev = T(0.1);
  c.electron_cut_mev = T(1.0);
  c.brems_cut_mev = T(1.0);
  return c;
}

// Radiation lengths per cell: 0.2 / 0.5612 + 0.4 / 41.31.
double shower_x0_per_layer();

struct ShowerOptions {
  std::uint64_t seed = 1;
  std::uint64_t primaries = 0;
  double energy_mev = 10000;
  int primary_type = 0;             // 0 photon, -1 electron
  int threads = 0;                  // 0: one per hardware thread
  bool drop_photo_deposit = false;  // the deliberately wrong variant (tests only)
  // The SIMD kernels of one instruction-set level (cpu::select_kernel_set): one
  // event per lane; null, or a level without em_shower lanes: the scalar
  // kernel, one event at a time.
  const cpu::KernelSet* kernels = nullptr;
};

struct ShowerRun {
  Precision precision = Precision::fp64;
  int layers = 0;
  double energy_mev = 0;
  std::vector<double> deposits;  // primaries x layers, MeV
  std::vector<double> escaped;   // per primary, MeV
  std::uint64_t steps = 0, secondaries = 0, overflows = 0;
  double duration_s = 0;
};

// FP64 or FP32 (other precisions are treated as FP32).
ShowerRun run_em_shower(Precision precision, const ShowerOptions& options);

struct EnergyConservation {
  bool passed = false;
  double worst_relative = 0;  // max over events of |deposited + escaped - E0| / E0
  std::uint64_t worst_event = 0;
};
EnergyConservation check_energy_conservation(const ShowerRun& run, double tolerance);
// Rounding of thousands of deposits summed in the working precision.
double shower_energy_tolerance(Precision precision);

struct ShowerProfile {
  std::vector<double> mean, error;  // MeV per cell per primary, and its standard error
  std::uint64_t events = 0;
};
ShowerProfile longitudinal_profile(const ShowerRun& run);

struct ProfileComparison {
  bool passed = false;
  double chi2 = 0;
  int ndf = 0;
  double p_value = 0;
};
// Chi2 test of two independent profiles (cells with no deposit in either are
// skipped); passes when the probability exceeds `min_p`.
ProfileComparison compare_profiles(const ShowerProfile& a, const ShowerProfile& b, double min_p = 1e-3);

// Depth of the shower maximum in X0 from a gamma-distribution fit by moments
// (dE/dt ~ t^(a-1) e^(-b t): t_max = (a-1)/b = mean - variance/mean).
double shower_max_x0(const ShowerProfile& profile);

struct ShowerMaxScaling {
  bool passed = false;
  double slope = 0, slope_error = 0, intercept = 0;  // t_max = slope ln(E/MeV) + intercept
};
// The maximum moves by one X0 per e-fold of energy (Rossi's approximation B,
// PDG t_max = ln(E/E_c) + C); passes when the fitted slope is within `tolerance`
// of 1.
ShowerMaxScaling check_shower_max_scaling(const std::vector<double>& energies_mev, const std::vector<double>& tmax_x0,
                                          double tolerance = 0.25);

}  // namespace gpukit::hep
