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

// ---- mlp_infer: the bits of FP32 lanes, for the rounding of activations to
// FP16/BF16 (MlpRound in mlp.cuh), as float_to_bits/bits_to_float of a float.
template <int N>
inline Vec<std::uint32_t, N> float_to_bits(Vec<float, N> a) {
  Vec<std::uint32_t, N> r;
  std::memcpy(&r.v, &a.v, sizeof r.v);
  return r;
}
template <int N>
inline Vec<float, N> bits_to_float(Vec<std::uint32_t, N> a) {
  Vec<float, N> r;
  std::memcpy(&r.v, &a.v, sizeof r.v);
  return r;
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
