// The HEP kernels on SIMD lanes (compute/kernels/hep/simd.hpp, the per-level
// compute/cpu/hep_kernels.cpp): the lane type's sin/cos and Philox words agree
// with the scalar ones, and every instruction-set level this CPU has gives the
// scalar kernel's results point by point, within the tolerance used between
// backends, and passes the same validations.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/hep/me_eemumu.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/hep_kernels.hpp"
#include "compute/kernels/hep/philox.cuh"
#include "compute/kernels/hep/simd.hpp"

using namespace gpukit::hep;

namespace {

template <class T, int N>
void check_sincos(double lo, double hi, int points, double max_abs_error) {
  using V = simd::Vec<T, N>;
  double worst = 0;
  for (int i = 0; i < points; i += N) {
    V x;
    for (int l = 0; l < N; ++l) x.v[l] = T(lo + (hi - lo) * (i + l) / points);
    V s, c;
    simd::sincos(x, &s, &c);
    for (int l = 0; l < N; ++l) {
      worst = std::fmax(worst, std::fabs(double(s[l]) - std::sin(double(x[l]))));
      worst = std::fmax(worst, std::fabs(double(c[l]) - std::cos(double(x[l]))));
    }
  }
  INFO("worst |error| " << worst << " over [" << lo << ", " << hi << "]");
  CHECK(worst <= max_abs_error);
}

}  // namespace

TEST_CASE("hep simd: vector sin and cos agree with libm within an ulp or two") {
  // A double ulp at 1 is 2.2e-16, a float one 1.2e-7 (6e-8 below 1).
  check_sincos<double, 4>(0, 2 * M_PI, 200000, 4e-16);
  check_sincos<double, 8>(-100, 100, 200000, 4e-16);
  check_sincos<float, 8>(0, 2 * M_PI, 200000, 1.8e-7);
  check_sincos<float, 16>(-50, 50, 200000, 1.8e-7);
}

TEST_CASE("hep simd: Philox on lanes draws the scalar stream's bits in each lane") {
  constexpr int N = 8;
  using W = simd::Vec<std::uint32_t, N>;
  const std::uint64_t seed = 0x1234567890abcdefULL;
  const std::uint64_t first = (1ULL << 32) - 3;  // lanes cross a high-word boundary
  W lo, hi;
  for (int l = 0; l < N; ++l) {
    lo.v[l] = std::uint32_t(first + l);
    hi.v[l] = std::uint32_t((first + l) >> 32);
  }
  BasicPhiloxStream<W> lanes(seed, lo, hi, 5);
  BasicPhiloxStream<W> lanes_f(seed, lo, hi, 5);
  std::vector<PhiloxStream> scalar, scalar_f;
  for (int l = 0; l < N; ++l) {
    scalar.emplace_back(seed, first + l, 5);
    scalar_f.emplace_back(seed, first + l, 5);
  }
  for (int draw = 0; draw < 7; ++draw) {  // across block boundaries
    const simd::Vec<double, N> d = lanes.uniform<simd::Vec<double, N>>();
    const simd::Vec<float, N> f = lanes_f.uniform<simd::Vec<float, N>>();
    for (int l = 0; l < N; ++l) {
      CHECK(d[l] == scalar[l].uniform<double>());
      CHECK(f[l] == scalar_f[l].uniform<float>());
    }
  }
}

TEST_CASE("hep simd: me_eemumu on every instruction-set level agrees with the scalar kernel point by point") {
  const std::vector<const gpukit::cpu::KernelSet*> sets = gpukit::cpu::available_kernel_sets();
  REQUIRE(!sets.empty());
  for (Precision p : {Precision::fp64, Precision::fp32}) {
    for (double rs : {91.1876, 10.0, 200.0}) {
      MeOptions o;
      o.seed = 11;
      o.events = 40003;  // not a multiple of any lane count; three threads split it unevenly
      o.threads = 3;
      o.sqrt_s_gev = rs;
      const MeRun scalar = run_me_eemumu(p, o);
      for (const gpukit::cpu::KernelSet* set : sets) {
        o.kernels = set;
        const MeRun lanes = run_me_eemumu(p, o);
        const PointwiseComparison c = compare_pointwise(lanes.me2, scalar.me2, me_pointwise_tolerance(p));
        CAPTURE(set->isa);
        CAPTURE(precision_name(p));
        CAPTURE(rs);
        INFO("lanes " << (p == Precision::fp64 ? set->hep->lanes_fp64 : set->hep->lanes_fp32)
                      << ", max relative difference " << c.max_relative_difference << " at event " << c.worst_index);
        CHECK(c.passed);
        CHECK(validate_me_eemumu(estimate_cross_section(lanes), born_eemumu(rs)).passed);
        o.kernels = nullptr;
      }
    }
  }
}

TEST_CASE("hep simd: the wrong-sign variant still fails off the pole on every level") {
  for (const gpukit::cpu::KernelSet* set : gpukit::cpu::available_kernel_sets()) {
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      std::vector<MeRun> bad;
      for (double rs : me_check_energies_gev) {
        MeOptions o;
        o.seed = 7;
        o.events = me_check_events;
        o.sqrt_s_gev = rs;
        o.flip_z_sign = true;
        o.kernels = set;
        bad.push_back(run_me_eemumu(p, o));
      }
      CAPTURE(set->isa);
      CHECK_FALSE(validate_off_pole(bad, 8.3).passed);
    }
  }
}
