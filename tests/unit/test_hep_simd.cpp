// The HEP kernels on SIMD lanes (compute/kernels/hep/simd.hpp, the per-level
// compute/cpu/hep_kernels.cpp): the lane type's sin/cos and Philox words agree
// with the scalar ones, and every instruction-set level this CPU has gives the
// scalar kernel's results point by point, within the tolerance used between
// backends, and passes the same validations.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/hep/em_shower.hpp"
#include "bench/hep/me_eemumu.hpp"
#include "bench/hep/mlp_infer.hpp"
#include "bench/hep/track_fit.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/em_shower_lanes.hpp"
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

// ---- exp and log (em_shower's block) ----
// Error of `got` in units in the last place of T at the reference value.
template <class T>
double ulp_error(T got, double reference) {
  if (std::isinf(reference) || std::isinf(got)) return got == T(reference) ? 0 : INFINITY;
  const T r = T(reference);
  const double ulp = double(std::nextafter(std::fabs(r), std::numeric_limits<T>::infinity())) - double(std::fabs(r));
  return std::fabs(double(got) - reference) / ulp;
}

// Worst ulp error of simd::exp or simd::log (which == 0 / 1) over `xs`, against
// libm in double (for float, libm's double result is the reference).
template <class T, int N>
double worst_ulp(const std::vector<T>& xs, int which) {
  using V = simd::Vec<T, N>;
  double worst = 0;
  for (std::size_t i = 0; i + N <= xs.size(); i += N) {
    const V x = V::load(xs.data() + i);
    const V y = which == 0 ? simd::exp(x) : simd::log(x);
    for (int l = 0; l < N; ++l) {
      const double ref = which == 0 ? std::exp(double(x[l])) : std::log(double(x[l]));
      const double e = ulp_error<T>(y[l], ref);
      if (!(e <= worst)) {
        worst = e;
        INFO("x " << double(x[l]) << " got " << double(y[l]) << " libm " << ref);
        CHECK(e < 4);  // names the first bad argument when the bound below fails
      }
    }
  }
  return worst;
}

// x = 2^u (1 + v), u over [lo2, hi2) and v over [0, 1), a fixed pseudo-random walk.
template <class T>
std::vector<T> log_spaced(int lo2, int hi2, int points) {
  std::vector<T> xs;
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < points; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double v = double(state >> 11) * 0x1p-53;
    const int u = lo2 + int((std::uint64_t(i) * std::uint64_t(hi2 - lo2)) / std::uint64_t(points));
    xs.push_back(T(std::ldexp(1 + v, u)));
  }
  return xs;
}
template <class T>
std::vector<T> linear(double lo, double hi, int points) {
  std::vector<T> xs;
  for (int i = 0; i < points; ++i) xs.push_back(T(lo + (hi - lo) * i / (points - 1)));
  return xs;
}

template <class T, int N>
void check_exp_log_special() {
  using V = simd::Vec<T, N>;
  using L = std::numeric_limits<T>;
  // Arguments whose exp and log libm gives exactly (0, 1, inf, NaN).
  const T xs[] = {T(0), -T(0), T(-1), -L::infinity(), L::infinity(), L::quiet_NaN(), L::denorm_min(), L::max()};
  for (T x : xs) {
    CAPTURE(double(x));
    const T e = simd::exp(V(x))[0], l = simd::log(V(x))[0];
    const T le = std::exp(x), ll = std::log(x);
    if (x != T(-1) && x != L::max()) CHECK((std::isnan(e) ? std::isnan(le) : e == le));
    if (x <= T(0) || !std::isfinite(x)) CHECK((std::isnan(l) ? std::isnan(ll) : l == ll));
  }
  CHECK(simd::exp(V(L::max()))[0] == L::infinity());
  CHECK(simd::log(V(T(1)))[0] == T(0));
  // Past the ends of exp's range.
  for (T x : {T(800), T(-800), T(sizeof(T) == 8 ? 709.79 : 88.73), T(sizeof(T) == 8 ? -745.2 : -104)}) {
    CAPTURE(double(x));
    CHECK(simd::exp(V(x))[0] == std::exp(x));
  }
}
}  // namespace

TEST_CASE("hep simd: vector sin and cos agree with libm within an ulp or two") {
  // A double ulp at 1 is 2.2e-16, a float one 1.2e-7 (6e-8 below 1).
  check_sincos<double, 4>(0, 2 * M_PI, 200000, 4e-16);
  check_sincos<double, 8>(-100, 100, 200000, 4e-16);
  check_sincos<float, 8>(0, 2 * M_PI, 200000, 1.8e-7);
  check_sincos<float, 16>(-50, 50, 200000, 1.8e-7);
}

TEST_CASE("hep simd: vector exp and log agree with libm within two ulp") {
  // Measured here: exp 2 (double) and 0.97 (float), log 1 and 0.82 ulp.
  const double exp_d = std::fmax(worst_ulp<double, 8>(linear<double>(-745.1, 709.78, 400000), 0),
                                 worst_ulp<double, 4>(linear<double>(-20, 20, 200000), 0));
  const double log_d = std::fmax(worst_ulp<double, 8>(log_spaced<double>(-1074, 1024, 400000), 1),
                                 worst_ulp<double, 4>(linear<double>(0.5, 2, 200000), 1));
  const double exp_f = std::fmax(worst_ulp<float, 16>(linear<float>(-103.9, 88.72, 400000), 0),
                                 worst_ulp<float, 8>(linear<float>(-20, 20, 200000), 0));
  const double log_f = std::fmax(worst_ulp<float, 16>(log_spaced<float>(-149, 128, 400000), 1),
                                 worst_ulp<float, 8>(linear<float>(0.5, 2, 200000), 1));
  MESSAGE("worst ulp: exp double " << exp_d << ", log double " << log_d << ", exp float " << exp_f << ", log float "
                                   << log_f);
  // Cephes's 1-ulp functions; an error of one ulp just above a power of two
  // counts as two of the ulps below it.
  CHECK(exp_d <= 2);
  CHECK(log_d <= 2);
  CHECK(exp_f <= 2);
  CHECK(log_f <= 2);
  check_exp_log_special<double, 4>();
  check_exp_log_special<double, 8>();
  check_exp_log_special<float, 8>();
  check_exp_log_special<float, 16>();
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

// ---- track_fit: vector atan2, asin and floor against libm ----
namespace {

// Worst error in units of the result's precision (relative, eps of T) over the points.
template <class T, int N, class Vector, class Scalar>
double worst_relative_eps(const std::vector<double>& a, const std::vector<double>& b, Vector vector_fn,
                          Scalar scalar_fn) {
  using V = simd::Vec<T, N>;
  double worst = 0;
  for (std::size_t i = 0; i + N <= a.size(); i += N) {
    V x, y;
    for (int l = 0; l < N; ++l) {
      x.v[l] = T(a[i + l]);
      y.v[l] = T(b[i + l]);
    }
    const V r = vector_fn(x, y);
    for (int l = 0; l < N; ++l) {
      const double ref = scalar_fn(double(x[l]), double(y[l]));
      const double err = std::fabs(double(r[l]) - ref) / std::fmax(std::fabs(ref), 1e-300);
      INFO("at " << x[l] << ", " << y[l] << ": " << r[l] << " vs " << ref);
      REQUIRE(std::isfinite(double(r[l])));
      worst = std::fmax(worst, err / double(std::numeric_limits<T>::epsilon()));
    }
  }
  return worst;
}

template <class T, int N>
void check_inverse_trig() {
  std::vector<double> a, b;
  const int points = 200000;
  for (int i = 0; i < points; ++i) {
    const double phi = -M_PI + 2 * M_PI * (i + 0.5) / points;
    const double rho = std::exp(-20.0 + 40.0 * ((i * 7919) % points) / points);  // 2e-9 .. 5e8
    a.push_back(rho * std::sin(phi));
    b.push_back(rho * std::cos(phi));
  }
  for (double v : {0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30}) {  // axes and signed zeros
    for (double w : {0.0, -0.0, 1.0, -1.0, 1e-30, -1e-30}) {
      a.push_back(v);
      b.push_back(w);
    }
  }
  while (a.size() % N) {
    a.push_back(1);
    b.push_back(1);
  }
  const double atan2_eps = worst_relative_eps<T, N>(
      a, b, [](auto y, auto x) { return simd::atan2(y, x); }, [](double y, double x) { return std::atan2(y, x); });
  INFO("atan2 worst " << atan2_eps << " eps");
  CHECK(atan2_eps <= 3);
  std::vector<double> s, unused;
  for (int i = 0; i <= points; ++i) s.push_back(-1 + 2.0 * i / points);
  for (double v : {0.0, -0.0, 1e-9, -1e-9, 0.625, 0.5, 1 - 1e-12}) s.push_back(v);
  while (s.size() % N) s.push_back(0.25);
  unused.assign(s.size(), 0);
  const double asin_eps = worst_relative_eps<T, N>(
      s, unused, [](auto x, auto) { return simd::asin(x); }, [](double x, double) { return std::asin(x); });
  INFO("asin worst " << asin_eps << " eps");
  CHECK(asin_eps <= 4);  // float: 3.1 eps at worst (Cephes asinf: 2.5e-7 relative)
}

}  // namespace

TEST_CASE("hep simd: vector atan2 and asin agree with libm within a few ulp") {
  check_inverse_trig<double, 4>();
  check_inverse_trig<double, 8>();
  check_inverse_trig<float, 8>();
  check_inverse_trig<float, 16>();
}

TEST_CASE("hep simd: vector floor is libm's floor exactly") {
  using V = simd::Vec<double, 4>;
  using F = simd::Vec<float, 8>;
  const double xs[] = {-7.5, -3.0, -2.9999999999999996, -0.5, -0.0, 0.0, 1e-300, 0.49999999999999994,
                       2.5, 3.0, 4503599627370495.5, -4503599627370495.5, 1e300, -1e300, 9.99e15, -123456.75};
  for (double x : xs) {
    const V r = simd::floor(V(x));
    const F f = simd::floor(F(float(x)));
    CAPTURE(x);
    CHECK(r[0] == std::floor(x));
    CHECK(f[0] == std::floor(float(x)));
  }
}

// ---- track_fit on the lanes ----
namespace {

// The GPU/CPU agreement test's comparison (tests/gpu/hep_agreement.cpp): the
// five fitted parameters within `tolerance_sigma` of the scalar fit's own sigma.
template <class T>
struct TrackLaneAgreement {
  double within = 0;  // fraction of tracks that agree
  double worst_sigma = 0;
  std::uint64_t status_differs = 0;
  std::uint64_t scalar_failed = 0;
};

template <class T>
TrackLaneAgreement<T> compare_track_lanes(const gpukit::cpu::KernelSet* set, bool wrong, double tolerance_sigma,
                                          bool bend = false) {
  const TrackConfig<T> c = track_config<T>();
  const std::uint64_t n = 4003;  // not a multiple of any lane count
  std::vector<TrackHits<T>> hits(n);
  std::vector<TrackTruth<T>> truth(n);
  std::vector<TrackFit<T>> scalar(n), lanes(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    track_generate(c, 23, i, &hits[i], &truth[i]);
    // A middle hit 20 cm off bends the seed's circle so much that the helix
    // never reaches the outer layers: those lanes stop while their neighbours go on.
    if (bend && i % 13 == 5) hits[i].rphi[c.layers / 2] += T(20);
    wrong ? track_fit<T, true>(c, hits[i], &scalar[i]) : track_fit<T, false>(c, hits[i], &scalar[i]);
  }
  if constexpr (sizeof(T) == sizeof(double))
    set->hep->track_fit_f64(c, hits.data(), n, wrong, lanes.data());
  else
    set->hep->track_fit_f32(c, hits.data(), n, wrong, lanes.data());
  TrackLaneAgreement<T> a;
  for (const TrackFit<T>& f : scalar) a.scalar_failed += f.status != 0;
  std::uint64_t agree = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    bool same = lanes[i].status == scalar[i].status && lanes[i].ndf == scalar[i].ndf;
    a.status_differs += lanes[i].status != scalar[i].status;
    for (int k = 0; k < 5 && same; ++k) {
      double diff = double(lanes[i].state[k]) - double(scalar[i].state[k]);
      if (k == 0 || k == 2) diff = std::remainder(diff, 2 * M_PI);
      const double sigma = std::fabs(diff) / std::sqrt(double(scalar[i].variance[k]));
      a.worst_sigma = std::fmax(a.worst_sigma, std::isnan(sigma) ? INFINITY : sigma);
      same = sigma <= tolerance_sigma;
    }
    agree += same;
  }
  a.within = double(agree) / double(n);
  return a;
}

}  // namespace

TEST_CASE("hep simd: track_fit on every instruction-set level agrees with the scalar kernel track by track") {
  const std::vector<const gpukit::cpu::KernelSet*> sets = gpukit::cpu::available_kernel_sets();
  REQUIRE(!sets.empty());
  for (const gpukit::cpu::KernelSet* set : sets) {
    CAPTURE(set->isa);
    const TrackLaneAgreement<double> d = compare_track_lanes<double>(set, false, 1e-6);
    INFO("fp64: " << 100 * d.within << " % within 1e-6 sigma, worst " << d.worst_sigma << " sigma");
    CHECK(d.status_differs == 0);
    CHECK(d.within >= 0.999);
    const TrackLaneAgreement<float> f = compare_track_lanes<float>(set, false, 0.05);
    INFO("fp32: " << 100 * f.within << " % within 0.05 sigma, worst " << f.worst_sigma << " sigma");
    CHECK(f.status_differs == 0);
    CHECK(f.within >= 0.999);
    MESSAGE(std::string(set->isa) << ": worst fp64 " << d.worst_sigma << " sigma, fp32 " << f.worst_sigma << " sigma");
    // Lanes whose propagation fails keep the estimate at which the scalar fit stopped.
    const TrackLaneAgreement<double> bent = compare_track_lanes<double>(set, false, 1e-6, true);
    INFO("bent tracks: " << bent.scalar_failed << " failed, " << 100 * bent.within << " % within 1e-6 sigma");
    CHECK(bent.scalar_failed > 100);
    CHECK(bent.status_differs == 0);
    CHECK(bent.within >= 0.999);
    // The wrong variant on the lanes is the scalar wrong variant.
    CHECK(compare_track_lanes<double>(set, true, 1e-6).within >= 0.999);
  }
}

TEST_CASE("hep simd: track_fit on every level passes the pull and chi2 validation, the wrong variant fails it") {
  for (const gpukit::cpu::KernelSet* set : gpukit::cpu::available_kernel_sets()) {
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      CAPTURE(set->isa);
      CAPTURE(precision_name(p));
      TrackOptions o;
      o.seed = 5;
      o.tracks = 20003;
      o.threads = 3;
      o.kernels = set;
      const TrackValidation good = validate_track_fit(run_track_fit(p, o));
      INFO(good.detail);
      CHECK(good.passed);
      o.wrong_covariance_update = true;
      const TrackValidation bad = validate_track_fit(run_track_fit(p, o));
      INFO(bad.detail);
      CHECK_FALSE(bad.passed);
    }
  }
}

// ---- em_shower (one event per lane) ----
namespace {

struct ShowerAgreement {
  std::uint64_t events = 0, agreeing = 0;
  double worst = 0;  // largest |lanes - scalar| over cells and escaped energy of agreeing events, / E0
};

// Events whose every cell and escaped energy agree within `tolerance` E0. An
// event can take another history when a rounding difference (vector exp/log,
// FMA) flips a comparison; from there on its random numbers feed other draws.
ShowerAgreement compare_events(const ShowerRun& a, const ShowerRun& b, double tolerance) {
  ShowerAgreement r;
  r.events = a.escaped.size();
  for (std::uint64_t i = 0; i < r.events && i < b.escaped.size(); ++i) {
    double worst = std::fabs(a.escaped[i] - b.escaped[i]);
    for (int l = 0; l < a.layers; ++l)
      worst = std::fmax(worst, std::fabs(a.deposits[i * a.layers + l] - b.deposits[i * b.layers + l]));
    worst /= a.energy_mev;
    if (worst <= tolerance) {
      ++r.agreeing;
      r.worst = std::fmax(r.worst, worst);
    }
  }
  return r;
}

}  // namespace

TEST_CASE("hep simd: em_shower's lane streams draw each event's scalar Philox sequence under any masks") {
  constexpr int N = 8;
  using V = simd::Vec<double, N>;
  shower_lanes::LaneRng<double, N> lanes(0x123456789abcULL);
  shower_lanes::LaneRng<float, N> lanes_f(0x123456789abcULL);
  std::vector<PhiloxStream> scalar, scalar_f;
  for (int l = 0; l < N; ++l) {
    lanes.start(l, 1000 + l);
    lanes_f.start(l, 1000 + l);
    scalar.emplace_back(0x123456789abcULL, 1000 + l, 1);
    scalar_f.emplace_back(0x123456789abcULL, 1000 + l, 1);
  }
  std::uint32_t x = 12345;
  int compared = 0, differing = 0;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245u + 12345u;  // about a quarter of the lanes per draw, as in the showers
    simd::Mask<double, N> on;
    simd::Mask<float, N> on_f;
    for (int l = 0; l < N; ++l) on_f.m[l] = std::int32_t(on.m[l] = ((x >> (l + 8)) & 3) == 0 ? -1 : 0);
    if (i % 500 == 7) {  // a lane starts another event mid-stream
      const int l = int((x >> 3) % N);
      lanes.start(l, 5000 + std::uint64_t(i));
      lanes_f.start(l, 5000 + std::uint64_t(i));
      scalar[l] = PhiloxStream(0x123456789abcULL, 5000 + std::uint64_t(i), 1);
      scalar_f[l] = PhiloxStream(0x123456789abcULL, 5000 + std::uint64_t(i), 1);
    }
    const V u = lanes.uniform(on);
    const simd::Vec<float, N> uf = lanes_f.uniform(on_f);
    for (int l = 0; l < N; ++l) {
      if (!on.m[l]) continue;
      ++compared;
      differing += u[l] != scalar[l].uniform<double>();
      differing += uf[l] != scalar_f[l].uniform<float>();
    }
  }
  CHECK(compared > 30000);
  CHECK(differing == 0);
}

// The lanes compiled into this test (its own instruction-set level), whatever
// levels the library dispatches em_shower lanes to.
template <class S, int N>
ShowerRun shower_lanes_here(const ShowerOptions& o) {
  const ShowerConfig<S> cfg = shower_config<S>(o.energy_mev);
  std::vector<S> dep(o.primaries * std::uint64_t(cfg.layers));
  std::vector<ShowerTally<S>> tally(o.primaries);
  shower_lanes::shower_events<S, N, false>(cfg, o.seed, 0, o.primaries, dep.data(), tally.data());
  ShowerRun r;
  r.precision = sizeof(S) == 8 ? Precision::fp64 : Precision::fp32;
  r.layers = cfg.layers;
  r.energy_mev = o.energy_mev;
  r.deposits.assign(dep.begin(), dep.end());
  for (const ShowerTally<S>& t : tally) {
    r.escaped.push_back(t.escaped_mev);
    r.steps += t.steps;
    r.overflows += t.overflows;
  }
  return r;
}

TEST_CASE("hep simd: em_shower on lanes follows the scalar events and passes the validations") {
  for (Precision p : {Precision::fp64, Precision::fp32}) {
    ShowerOptions o;
    o.seed = 5;
    o.primaries = 203;  // not a multiple of any lane count; three threads split it unevenly
    o.threads = 3;
    o.energy_mev = 2000;
    const ShowerRun scalar = run_em_shower(p, o);
    std::vector<std::pair<std::string, ShowerRun>> runs;
    runs.emplace_back("this test's level, 4 lanes", p == Precision::fp64 ? shower_lanes_here<double, 4>(o)
                                                                         : shower_lanes_here<float, 4>(o));
    for (const gpukit::cpu::KernelSet* set : gpukit::cpu::available_kernel_sets()) {
      if (!set->hep->em_shower_f64 || !set->hep->em_shower_f32) {
        MESSAGE(std::string(set->isa) << ": no em_shower lanes dispatched at this level (the scalar kernel runs)");
        continue;
      }
      o.kernels = set;
      runs.emplace_back(set->isa, run_em_shower(p, o));
      o.kernels = nullptr;
    }
    for (const auto& [name, lanes] : runs) {
      CAPTURE(name);
      CAPTURE(std::string(precision_name(p)));
      const double tolerance = p == Precision::fp64 ? 1e-9 : 1e-4;
      const ShowerAgreement a = compare_events(lanes, scalar, tolerance);
      MESSAGE(name << " " << std::string(precision_name(p)) << ": " << a.agreeing << " of " << a.events
                   << " events agree with the scalar ones within " << tolerance << " E0 (worst " << a.worst
                   << "); steps " << lanes.steps << " vs " << scalar.steps);
      CHECK(double(a.agreeing) >= (p == Precision::fp64 ? 0.99 : 0.9) * double(a.events));
      const EnergyConservation e = check_energy_conservation(lanes, shower_energy_tolerance(p));
      INFO("worst energy non-conservation " << e.worst_relative << " at event " << e.worst_event);
      CHECK(e.passed);
      const ProfileComparison c = compare_profiles(longitudinal_profile(lanes), longitudinal_profile(scalar));
      INFO("profile chi2 " << c.chi2 << " / " << c.ndf << ", p " << c.p_value);
      CHECK(c.passed);
      CHECK(lanes.overflows == 0);
    }
  }
}

TEST_CASE("hep simd: em_shower's dropped photoelectric deposit fails energy conservation on every level") {
  for (const gpukit::cpu::KernelSet* set : gpukit::cpu::available_kernel_sets()) {
    for (Precision p : {Precision::fp64, Precision::fp32}) {
      ShowerOptions o;
      o.primaries = 40;
      o.energy_mev = 1000;
      o.drop_photo_deposit = true;
      o.kernels = set;
      CAPTURE(set->isa);  // lanes, or the scalar kernel where the level has none
      CHECK_FALSE(check_energy_conservation(run_em_shower(p, o), shower_energy_tolerance(p)).passed);
    }
  }
}
