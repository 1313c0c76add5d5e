// The HEP kernels on SIMD lanes (compute/kernels/hep/simd.hpp, the per-level
// compute/cpu/hep_kernels.cpp): the lane type's sin/cos and Philox words agree
// with the scalar ones, and every instruction-set level this CPU has gives the
// scalar kernel's results point by point, within the tolerance used between
// backends, and passes the same validations.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
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

// ---- mlp_infer ----

namespace {

// MlpRound<S> on lanes and on a scalar against the scalar bit conversions,
// over float bit patterns spread across all 2^32 (every sign, exponent,
// subnormals, both sides of half's range, infinities and NaNs).
template <class S>
void check_mlp_round() {
  constexpr int N = 4;  // one SSE2 register: this file is built for the baseline
  using V = simd::Vec<float, N>;
  std::vector<std::uint32_t> bits;
  for (std::uint64_t b = 0; b < (1ULL << 32); b += 1021) bits.push_back(std::uint32_t(b));
  for (std::uint32_t b : {0x00000000u, 0x80000000u, 0x33000000u, 0x33000001u, 0x33800000u, 0x387fffffu,
                          0x38800000u, 0x477fe000u, 0x477fefffu, 0x477ff000u, 0x7f7fffffu, 0x7f800000u,
                          0xff800000u, 0x7f800001u, 0x7fc00000u, 0xffffffffu, 0x3f808000u, 0x3f818000u})
    bits.push_back(b);
  while (bits.size() % N) bits.push_back(0x3f800000u);
  std::size_t wrong = 0;
  std::uint32_t first_wrong = 0;
  for (std::size_t i = 0; i < bits.size(); i += N) {
    V x;
    for (int l = 0; l < N; ++l) x.v[l] = bits_to_float(bits[i + l]);
    const V r = MlpRound<S>::apply(x);
    for (int l = 0; l < N; ++l) {
      const std::uint32_t want = float_to_bits(Storage<S>::to_acc(Storage<S>::from_acc(x[l])));
      const std::uint32_t lane = float_to_bits(r[l]), scalar = float_to_bits(MlpRound<S>::apply(x[l]));
      if ((lane != want || scalar != want) && wrong++ == 0) first_wrong = bits[i + l];
    }
  }
  INFO(wrong << " of " << bits.size() << " differ, the first at bits 0x" << std::hex << first_wrong);
  CHECK(wrong == 0);
}

double mlp_max_difference(const std::vector<double>& a, const std::vector<double>& ref) {
  double scale = 0, err = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    scale = std::fmax(scale, std::fabs(ref[i]));
    err = std::isnan(a[i] - ref[i]) ? INFINITY : std::fmax(err, std::fabs(a[i] - ref[i]));
  }
  return scale > 0 ? err / scale : INFINITY;
}

}  // namespace

TEST_CASE("hep simd: the activations' rounding to FP16 and BF16 on lanes gives the scalar conversions' bits") {
  check_mlp_round<Half>();
  check_mlp_round<BFloat16>();
}

TEST_CASE("hep simd: the lane tile loop at a scalar type gives the scalar tile loop's bits") {
  // Same compiler flags, scalar float both: only the loop structure differs,
  // so this checks its indexing, padding and layer hand-over exactly.
  std::vector<float> w(mlp_weight_count), b(mlp_bias_count);
  mlp_make_parameters<float>(3, w.data(), b.data());
  constexpr int tile = 6;
  std::vector<Half> in(tile * mlp_inputs);
  for (int s = 0; s < tile; ++s) mlp_input_row<Half>(3, std::uint64_t(s), in.data() + s * mlp_inputs);
  for (int count : {6, 5, 1}) {
    std::vector<float> lanes(tile * mlp_outputs, -1.0f), scalar(tile * mlp_outputs, -1.0f);
    auto lane_scratch = std::make_unique<MlpLaneScratch<tile>>();
    mlp_forward_tile_lanes<Half, float, 3, 4, float, 2, tile>(w.data(), b.data(), in.data(), count, lanes.data(),
                                                                *lane_scratch);
    auto scratch = std::make_unique<MlpTileScratch<Half, tile>>();
    mlp_forward_tile<Half, float, tile>(w.data(), b.data(), in.data(), count, scalar.data(), *scratch);
    CAPTURE(count);
    CHECK(lanes == scalar);  // including the untouched -1 past count
  }
}

TEST_CASE("hep simd: mlp_infer on every instruction-set level agrees with the scalar path and validates") {
  const std::vector<const gpukit::cpu::KernelSet*> sets = gpukit::cpu::available_kernel_sets();
  REQUIRE(!sets.empty());
  for (Precision p : {Precision::fp32, Precision::fp16, Precision::bf16}) {
    MlpOptions o;
    o.seed = 5;
    o.samples = 301;  // not a multiple of any tile; three threads split it unevenly
    o.threads = 3;
    const MlpRun scalar = run_mlp_infer(p, o);
    for (const gpukit::cpu::KernelSet* set : sets) {
      o.kernels = set;
      o.threads = 3;
      const MlpRun lanes = run_mlp_infer(p, o);
      const double d = mlp_max_difference(lanes.outputs, scalar.outputs);
      const MlpValidation v = validate_mlp(lanes, o.seed, o.samples);
      INFO(std::string(set->isa) << " " << std::string(precision_name(p)) << ", lanes " << set->hep->lanes_mlp
                                 << ": max |y - y_scalar| / max |y_scalar| " << d << ", against FP64 " << v.max_error
                                 << " (tolerance " << v.tolerance << ")");
      CHECK(d <= mlp_tolerance(p));
      CHECK(v.passed);
      CHECK(v.checked == o.samples);
      o.threads = 1;  // a sample's result does not depend on where its tile starts
      CHECK(run_mlp_infer(p, o).outputs == lanes.outputs);
    }
  }
}
