// A lane type for the HEP kernels on the CPU: Vec<T, N> holds N items (events,
// tracks, samples) and behaves like T in the kernels' arithmetic, so the same
// GPUKIT_HOST_DEVICE templates the GPUs run at T = float/double run here N items
// at a time. Host only (GCC/Clang vector extensions); never seen by nvcc/hipcc.
//
// The kernels reach these functions by argument-dependent lookup: sqrt(x),
// sin(x), hd_select(m, a, b) and hd_max(a, b) of a Vec find the overloads below,
// of a float or double the scalar ones. Branches on data become hd_select over a
// Mask; both sides are computed and the unused lanes are discarded.
//
// sin and cos are Cephes's minimax polynomials (Moshier, "Methods and Programs
// for Mathematical Functions", sin.c and sinf.c) after a three-part Cody-Waite
// reduction by pi/2: within 1-2 ulp of libm over the arguments the kernels use
// (|x| < 2^20), checked against libm in tests/unit/test_hep_simd.cpp.
#pragma once

// One translation unit per instruction-set level includes this (hep_kernels.cpp),
// and a 32- or 64-byte vector is passed in registers under AVX but in memory
// without it. Every name here, and so every kernel instantiated on a Vec, is
// therefore in a namespace of the level it was compiled for: without that the
// linker would merge the levels' copies of the same template (one definition
// rule) and an unoptimised build would call one level's code with the other's
// calling convention. GCC's -Wpsabi note about exactly that is then moot.
#if defined(__AVX512F__)
#define GPUKIT_SIMD_TARGET_NS target_avx512
#elif defined(__AVX2__)
#define GPUKIT_SIMD_TARGET_NS target_avx2
#elif defined(__AVX__)
#define GPUKIT_SIMD_TARGET_NS target_avx
#else
#define GPUKIT_SIMD_TARGET_NS target_base
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "compute/kernels/hep/host_device.cuh"

namespace gpukit::hep::simd {
inline namespace GPUKIT_SIMD_TARGET_NS {

template <class T>
struct IntOf;
template <>
struct IntOf<double> { using type = std::int64_t; };
template <>
struct IntOf<float> { using type = std::int32_t; };
template <>
struct IntOf<std::uint32_t> { using type = std::int32_t; };

template <class T, int N>
struct Mask {
  using I = typename IntOf<T>::type;
  typedef I V __attribute__((vector_size(sizeof(I) * N)));
  V m;  // all bits set where true
};

template <class T, int N>
struct Vec {
  typedef T V __attribute__((vector_size(sizeof(T) * N)));
  V v;

  Vec() = default;
  template <class A, class = std::enable_if_t<std::is_arithmetic_v<A>>>
  Vec(A s) : v(V{} + T(s)) {}  // broadcast (implicit, as T(2) or a mixed a * 2 would be)
  explicit Vec(V x) : v(x) {}

  static Vec load(const T* p) {
    Vec r;
    std::memcpy(&r.v, p, sizeof r.v);
    return r;
  }
  void store(T* p) const { std::memcpy(p, &v, sizeof v); }
  T operator[](int i) const { return v[i]; }

  Vec& operator+=(Vec b) { v += b.v; return *this; }
  Vec& operator-=(Vec b) { v -= b.v; return *this; }
  Vec& operator*=(Vec b) { v *= b.v; return *this; }
  Vec& operator/=(Vec b) { v /= b.v; return *this; }
};

template <class T, int N> inline Vec<T, N> operator+(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v + b.v); }
template <class T, int N> inline Vec<T, N> operator-(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v - b.v); }
template <class T, int N> inline Vec<T, N> operator*(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v * b.v); }
template <class T, int N> inline Vec<T, N> operator/(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v / b.v); }
template <class T, int N> inline Vec<T, N> operator-(Vec<T, N> a) { return Vec<T, N>(-a.v); }
// Mixed with a scalar constant (T(2) * x is the kernels' style, but 2 * x is legal C++ too).
template <class T, int N> inline Vec<T, N> operator+(Vec<T, N> a, T b) { return a + Vec<T, N>(b); }
template <class T, int N> inline Vec<T, N> operator-(Vec<T, N> a, T b) { return a - Vec<T, N>(b); }
template <class T, int N> inline Vec<T, N> operator*(Vec<T, N> a, T b) { return a * Vec<T, N>(b); }
template <class T, int N> inline Vec<T, N> operator*(T a, Vec<T, N> b) { return Vec<T, N>(a) * b; }
template <class T, int N> inline Vec<T, N> operator/(Vec<T, N> a, T b) { return a / Vec<T, N>(b); }

// Integer lanes (the Philox words).
template <class T, int N> inline Vec<T, N> operator^(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v ^ b.v); }
template <class T, int N> inline Vec<T, N> operator|(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v | b.v); }
template <class T, int N> inline Vec<T, N> operator&(Vec<T, N> a, Vec<T, N> b) { return Vec<T, N>(a.v & b.v); }
template <class T, int N> inline Vec<T, N> operator>>(Vec<T, N> a, int s) { return Vec<T, N>(a.v >> s); }
template <class T, int N> inline Vec<T, N> operator<<(Vec<T, N> a, int s) { return Vec<T, N>(a.v << s); }

template <class T, int N> inline Mask<T, N> operator<(Vec<T, N> a, Vec<T, N> b) { return {a.v < b.v}; }
template <class T, int N> inline Mask<T, N> operator<=(Vec<T, N> a, Vec<T, N> b) { return {a.v <= b.v}; }
template <class T, int N> inline Mask<T, N> operator>(Vec<T, N> a, Vec<T, N> b) { return {a.v > b.v}; }
template <class T, int N> inline Mask<T, N> operator>=(Vec<T, N> a, Vec<T, N> b) { return {a.v >= b.v}; }
template <class T, int N> inline Mask<T, N> operator==(Vec<T, N> a, Vec<T, N> b) { return {a.v == b.v}; }
template <class T, int N> inline Mask<T, N> operator&&(Mask<T, N> a, Mask<T, N> b) { return {a.m & b.m}; }
template <class T, int N> inline Mask<T, N> operator||(Mask<T, N> a, Mask<T, N> b) { return {a.m | b.m}; }
template <class T, int N> inline Mask<T, N> operator!(Mask<T, N> a) { return {~a.m}; }

template <class T, int N>
inline bool any(Mask<T, N> a) {
  for (int i = 0; i < N; ++i)
    if (a.m[i]) return true;
  return false;
}

template <class T, int N>
inline Vec<T, N> hd_select(Mask<T, N> c, Vec<T, N> a, Vec<T, N> b) {
  return Vec<T, N>(c.m ? a.v : b.v);
}
template <class T, int N> inline Vec<T, N> hd_min(Vec<T, N> a, Vec<T, N> b) { return hd_select(b < a, b, a); }
template <class T, int N> inline Vec<T, N> hd_max(Vec<T, N> a, Vec<T, N> b) { return hd_select(a < b, b, a); }
template <class T, int N> inline Vec<T, N> hd_abs(Vec<T, N> a) { return hd_select(a < Vec<T, N>(0), -a, a); }

// Lane by lane: with -fno-math-errno the compiler turns this into one vector
// square root (sqrtpd/sqrtps), correctly rounded like the scalar one.
template <class T, int N>
inline Vec<T, N> sqrt(Vec<T, N> a) {
  Vec<T, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = __builtin_sqrt(a.v[i]);
  return r;
}
template <int N>
inline Vec<float, N> sqrt(Vec<float, N> a) {
  Vec<float, N> r;
  for (int i = 0; i < N; ++i) r.v[i] = __builtin_sqrtf(a.v[i]);
  return r;
}

template <class To, class T, int N>
inline Vec<To, N> convert(Vec<T, N> a) {
  return Vec<To, N>(__builtin_convertvector(a.v, typename Vec<To, N>::V));
}

namespace detail {

template <class T>
struct SinCosConstants;
template <>
struct SinCosConstants<double> {
  // pi/2 = c1 + c2 + c3, c1 and c2 with trailing zero bits (Cephes DP1-3, times 2).
  static constexpr double two_over_pi = 0.63661977236758134308;
  static constexpr double c1 = 1.57079625129699707031, c2 = 7.54978941586159635335e-8,
                          c3 = 5.39030285815811905290e-15;
  static constexpr double round_magic = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double s[6] = {1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
                                  -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1};
  static constexpr double c[6] = {-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
                                  2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2};
};
template <>
struct SinCosConstants<float> {
  static constexpr float two_over_pi = 0.636619772367581343f;
  static constexpr float c1 = 1.5703125f, c2 = 4.837512969970703125e-4f, c3 = 7.54978995489188216e-8f;
  static constexpr float round_magic = 12582912.0f;  // 1.5 * 2^23
  static constexpr float s[3] = {-1.9515295891e-4f, 8.3321608736e-3f, -1.6666654611e-1f};
  static constexpr float c[3] = {2.443315711809948e-5f, -1.388731625493765e-3f, 4.166664568298827e-2f};
};

template <class T, int N, std::size_t K>
inline Vec<T, N> horner(Vec<T, N> z, const T (&k)[K]) {
  Vec<T, N> r(k[0]);
  for (std::size_t i = 1; i < K; ++i) r = r * z + Vec<T, N>(k[i]);
  return r;
}

}  // namespace detail

// sin and cos of every lane together (the kernels call both on one angle).
template <class T, int N>
inline void sincos(Vec<T, N> x, Vec<T, N>* sin_out, Vec<T, N>* cos_out) {
  using C = detail::SinCosConstants<T>;
  using M = Mask<T, N>;
  // Quadrant q = nearest integer to x * 2/pi: adding 1.5 * 2^p rounds to an
  // integer held in the low mantissa bits.
  const Vec<T, N> shifted = x * Vec<T, N>(C::two_over_pi) + Vec<T, N>(C::round_magic);
  const Vec<T, N> q = shifted - Vec<T, N>(C::round_magic);
  typename M::V qi;
  std::memcpy(&qi, &shifted.v, sizeof qi);
  const Vec<T, N> r = ((x - q * Vec<T, N>(C::c1)) - q * Vec<T, N>(C::c2)) - q * Vec<T, N>(C::c3);
  const Vec<T, N> z = r * r;
  const Vec<T, N> sin_r = r + r * z * detail::horner(z, C::s);
  const Vec<T, N> cos_r = Vec<T, N>(1) - Vec<T, N>(T(0.5)) * z + z * z * detail::horner(z, C::c);
  const M swap{(qi & 1) != 0};
  const M sin_negative{(qi & 2) != 0};
  const M cos_negative{((qi + 1) & 2) != 0};
  const Vec<T, N> s = hd_select(swap, cos_r, sin_r);
  const Vec<T, N> c = hd_select(swap, sin_r, cos_r);
  *sin_out = hd_select(sin_negative, -s, s);
  *cos_out = hd_select(cos_negative, -c, c);
}
template <class T, int N>
inline Vec<T, N> sin(Vec<T, N> x) {
  Vec<T, N> s, c;
  sincos(x, &s, &c);
  return s;
}
template <class T, int N>
inline Vec<T, N> cos(Vec<T, N> x) {
  Vec<T, N> s, c;
  sincos(x, &s, &c);
  return c;
}

// ---- exp and log (em_shower's block) ----
// Cephes's exp.c/expf.c and log.c/logf.c (Moshier, op. cit.): exp reduces by
// n = round(x log2 e) with a two-part ln 2 and scales by 2^n built from the
// exponent bits (in two halves, so that 2^1024 and the subnormal results come
// out as libm's); log splits x into 2^e m, sqrt(1/2) <= m < sqrt(2), and
// evaluates the rational (double) or polynomial (float) fit in m - 1. Over
// normal and subnormal arguments the results are within 1 ulp (double) and 2
// ulp (float) of libm's (checked in tests/unit/test_hep_simd.cpp); 0, negative
// numbers, infinities and NaN give libm's values.
namespace detail {

template <class T>
struct ExpLogConstants;
template <>
struct ExpLogConstants<double> {
  using Bits = std::int64_t;
  static constexpr int mantissa_bits = 52, bias = 1023;
  static constexpr double log2e = 1.4426950408889634073599;
  static constexpr double ln2_hi = 6.93145751953125e-1, ln2_lo = 1.42860682030941723212e-6;
  static constexpr double exp_overflow = 7.09782712893383996843e2;   // ln(DBL_MAX)
  static constexpr double exp_underflow = -7.45133219101941108420e2;  // ln(2^-1075): rounds to 0 below
  static constexpr double round_magic = 6755399441055744.0;            // 1.5 * 2^52
  static constexpr double min_normal = 2.2250738585072014e-308;
  static constexpr double subnormal_scale = 18014398509481984.0;  // 2^54
  static constexpr int subnormal_shift = 54;
  static constexpr double sqrt_half = 0.70710678118654752440;
  // exp: e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)).
  static constexpr double exp_p[3] = {1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1};
  static constexpr double exp_q[4] = {3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1,
                                      2.00000000000000000009e0};
  // log: ln(1 + x) = x - x^2/2 + x^3 P(x) / Q(x), Q monic.
  static constexpr double log_p[6] = {1.01875663804580931796e-4, 4.97494994976747001425e-1, 4.70579119878881725854e0,
                                      1.44989225341610930846e1,  1.79368678507819816313e1, 7.70838733755885391666e0};
  static constexpr double log_q[6] = {1.0, 1.12873587189167450590e1, 4.52279145837532221105e1, 8.29875266912776603211e1,
                                      7.11544750618563894466e1, 2.31251620126765340583e1};
};
template <>
struct ExpLogConstants<float> {
  using Bits = std::int32_t;
  static constexpr int mantissa_bits = 23, bias = 127;
  static constexpr float log2e = 1.44269504088896341f;
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  static constexpr float exp_overflow = 88.72283905206835f;  // ln(FLT_MAX)
  static constexpr float exp_underflow = -103.972077083991796f;  // ln(2^-150)
  static constexpr float round_magic = 12582912.0f;  // 1.5 * 2^23
  static constexpr float min_normal = 1.17549435e-38f;
  static constexpr float subnormal_scale = 33554432.0f;  // 2^25
  static constexpr int subnormal_shift = 25;
  static constexpr float sqrt_half = 0.707106781186547524f;
  // exp: e^r = 1 + r + r^2 P(r).
  static constexpr float exp_p[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                     4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  // log: ln(1 + x) = x - x^2/2 + x^3 P(x).
  static constexpr float log_p[9] = {7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
                                     -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
                                     2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
};

template <class T, int N>
using BitsOf = typename Mask<T, N>::V;

template <class T, int N>
inline BitsOf<T, N> bits_of(Vec<T, N> x) {
  BitsOf<T, N> b;
  std::memcpy(&b, &x.v, sizeof b);
  return b;
}
template <class T, int N>
inline Vec<T, N> from_bits(BitsOf<T, N> b) {
  Vec<T, N> x;
  std::memcpy(&x.v, &b, sizeof b);
  return x;
}

// 2^k for integer lanes k of the normal exponent range.
template <class T, int N>
inline Vec<T, N> exp2_int(BitsOf<T, N> k) {
  using C = ExpLogConstants<T>;
  return from_bits<T, N>((k + typename C::Bits(C::bias)) << C::mantissa_bits);
}

// Integer lanes |k| < 2^22 as T, through the rounding constant's mantissa
// (AVX2 has no 64-bit integer to double conversion).
template <class T, int N>
inline Vec<T, N> int_to_real(BitsOf<T, N> k) {
  using C = ExpLogConstants<T>;
  const Vec<T, N> magic(C::round_magic);
  return from_bits<T, N>(bits_of(magic) + k) - magic;
}

}  // namespace detail

template <class T, int N>
inline Vec<T, N> exp(Vec<T, N> x) {
  using C = detail::ExpLogConstants<T>;
  using V = Vec<T, N>;
  // Clamped so that the exponent stays in range; the ends are replaced below
  // (a NaN stays NaN through hd_min/hd_max and the polynomial).
  const V xc = hd_min(hd_max(x, V(C::exp_underflow)), V(C::exp_overflow));
  const V shifted = xc * V(C::log2e) + V(C::round_magic);
  const V n = shifted - V(C::round_magic);
  const detail::BitsOf<T, N> ni = detail::bits_of(shifted) - detail::bits_of(V(C::round_magic));
  const V r = (xc - n * V(C::ln2_hi)) - n * V(C::ln2_lo);
  V e;
  if constexpr (sizeof(T) == 8) {
    const V rr = r * r;
    const V px = r * detail::horner(rr, C::exp_p);
    e = V(1) + V(2) * (px / (detail::horner(rr, C::exp_q) - px));
  } else {
    e = r * r * detail::horner(r, C::exp_p) + r + V(1);
  }
  // 2^n in two factors: n reaches 1024 and -1075 (-150 in float), outside the
  // normal exponents, and one rounding at the end gives the subnormals exactly.
  const detail::BitsOf<T, N> n1 = ni >> 1;
  e = e * detail::exp2_int<T, N>(n1) * detail::exp2_int<T, N>(ni - n1);
  e = hd_select(x > V(C::exp_overflow), V(__builtin_inf()), e);
  return hd_select(x < V(C::exp_underflow), V(0), e);
}

template <class T, int N>
inline Vec<T, N> log(Vec<T, N> x) {
  using C = detail::ExpLogConstants<T>;
  using V = Vec<T, N>;
  using B = detail::BitsOf<T, N>;
  using I = typename C::Bits;
  const Mask<T, N> subnormal = x < V(C::min_normal);
  const V xs = hd_select(subnormal, x * V(C::subnormal_scale), x);
  const B bits = detail::bits_of(xs);
  const I exponent_mask = I(C::bias * 2 + 1) << C::mantissa_bits;
  // x = 2^e m with m in [1/2, 1).
  B e = ((bits & exponent_mask) >> C::mantissa_bits) - I(C::bias - 1);
  e -= subnormal.m & (B{} + I(C::subnormal_shift));
  const V m = detail::from_bits<T, N>((bits & ~exponent_mask) | (I(C::bias - 1) << C::mantissa_bits));
  // m below sqrt(1/2): 2m - 1 and e - 1, so that |f| <= sqrt(2) - 1.
  const Mask<T, N> low = m < V(C::sqrt_half);
  e += low.m;  // all bits set is -1
  const V f = hd_select(low, m + m, m) - V(1);
  const V fe = detail::int_to_real<T, N>(e);
  const V z = f * f;
  V y;
  if constexpr (sizeof(T) == 8)
    y = f * (z * detail::horner(f, C::log_p) / detail::horner(f, C::log_q));
  else
    y = f * z * detail::horner(f, C::log_p);
  y = y + fe * V(C::ln2_lo);
  y = y - V(T(0.5)) * z;
  V r = (f + y) + fe * V(C::ln2_hi);
  const V inf(__builtin_inf());
  r = hd_select(x == inf, inf, r);
  r = hd_select(x == V(0), -inf, r);
  r = hd_select(x < V(0), V(__builtin_nan("")), r);
  return hd_select(x == x, r, x);
}

// Whether any lane is set (host_device.cuh's hd_any for one item): em_shower
// skips the branches no lane takes.
template <class T, int N>
inline bool hd_any(Mask<T, N> a) {
  typename Mask<T, N>::I r = 0;
  for (int i = 0; i < N; ++i) r |= a.m[i];
  return r != 0;
}

// Philox's 32 x 32 -> 64-bit product, lane by lane.
template <int N>
inline void philox_mulhilo(std::uint32_t m, Vec<std::uint32_t, N> x, Vec<std::uint32_t, N>* hi,
                           Vec<std::uint32_t, N>* lo) {
  // Even and odd words as the low halves of 64-bit lanes: a product of two
  // zero-extended 32-bit halves is one pmuludq (AVX2 has no 64-bit multiply).
  static_assert(N % 2 == 0);
  using W = Vec<std::uint64_t, N / 2>;
  W w;
  std::memcpy(&w.v, &x.v, sizeof w.v);
  const W low32{std::uint64_t(0xffffffffULL)};
  const W mul{std::uint64_t{m}};
  const W pe = (w & low32) * mul;
  const W po = (w >> 32) * mul;
  const W l = (pe & low32) | (po << 32);
  const W h = (pe >> 32) | (po & W(~std::uint64_t(0xffffffffULL)));
  std::memcpy(&lo->v, &l.v, sizeof l.v);
  std::memcpy(&hi->v, &h.v, sizeof h.v);
}

// philox_to_float and philox_to_double (philox.cuh) lane by lane, the same bits:
// every intermediate is an integer below 2^24 (float) or 2^53 (double), exact.
template <int N>
inline Vec<float, N> philox_to_float(Vec<std::uint32_t, N> a) {
  const Vec<std::uint32_t, N> k = ((a >> 9) << 1) | Vec<std::uint32_t, N>(1u);
  return convert<float>(Vec<std::int32_t, N>(__builtin_convertvector(k.v, typename Vec<std::int32_t, N>::V))) *
         Vec<float, N>(1.0f / 16777216.0f);
}
template <int N>
inline Vec<double, N> philox_to_double(Vec<std::uint32_t, N> a, Vec<std::uint32_t, N> b) {
  // (a * 2^20 + (b >> 12)) * 2 + 1 = a * 2^21 + (2 (b >> 12) + 1); a < 2^32 is exact in double.
  const Vec<std::uint32_t, N> low = ((b >> 12) << 1) | Vec<std::uint32_t, N>(1u);
  const Vec<double, N> hi = convert<double>(a) * Vec<double, N>(2097152.0);
  const Vec<double, N> lo = convert<double>(Vec<std::int32_t, N>(__builtin_convertvector(low.v, typename Vec<std::int32_t, N>::V)));
  return (hi + lo) * Vec<double, N>(1.0 / 9007199254740992.0);
}

}  // namespace GPUKIT_SIMD_TARGET_NS
}  // namespace gpukit::hep::simd

namespace gpukit::hep {

// The scalar type of a lane type (float for Vec<float, 16>), and its lanes.
template <class T, int N>
struct LaneTraits<simd::Vec<T, N>> {
  using Scalar = T;
  using Word = simd::Vec<std::uint32_t, N>;
  static constexpr int lanes = N;
};

}  // namespace gpukit::hep
