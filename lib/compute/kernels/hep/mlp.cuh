// A fixed multilayer perceptron, the size of a jet tagger or a fast-simulation
// network: 64 inputs, three hidden layers of 256 (ReLU), 8 linear outputs.
// Weights (Glorot-uniform) and inputs come from Philox, so every backend builds
// the same network and batch without copying it. Storage is FP64, FP32, FP16 or
// BF16; accumulation is FP32 (FP64 for FP64 storage); activations are rounded to
// the storage type between layers, as inference in that precision does.
//
// Layout (usable by a vendor GEMM as well): layer l has K = mlp_width(l) inputs
// and N = mlp_width(l + 1) outputs; its weights are stored transposed, row-major
// K x N (weights[mlp_weight_offset(l) + k * N + n]), so y = x W + b with x a
// row-major batch x K matrix.
#pragma once

#include "compute/kernels/hep/host_device.cuh"
#include "compute/kernels/hep/philox.cuh"

namespace gpukit::hep {

// ---- 16-bit storage types, converted by bit manipulation (no cuda_fp16.h) ----
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

GPUKIT_HOST_DEVICE inline uint32_t float_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
GPUKIT_HOST_DEVICE inline float bits_to_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE binary16, round to nearest even; overflow gives infinity.
GPUKIT_HOST_DEVICE inline uint16_t float_to_half_bits(float f) {
  const uint32_t x = float_to_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t mant = x & 0x7fffffu;
  const int exp = int((x >> 23) & 0xffu);
  if (exp == 0xff) return uint16_t(sign | 0x7c00u | (mant ? 0x200u : 0u));
  const int e = exp - 112;  // rebias 127 -> 15
  if (e >= 31) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return uint16_t(sign);
    const uint32_t m = mant | 0x800000u;
    const int shift = 14 - e;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = sign | (uint32_t(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
  return uint16_t(h);
}

GPUKIT_HOST_DEVICE inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    const float v = float(m) * (1.0f / 16777216.0f);  // m * 2^-24, exact
    return sign ? -v : v;
  }
  if (e == 31) return bits_to_float(sign | 0x7f800000u | (m << 13));
  return bits_to_float(sign | ((e + 112u) << 23) | (m << 13));
}

// bfloat16: the upper half of binary32, round to nearest even.
GPUKIT_HOST_DEVICE inline uint16_t float_to_bf16_bits(float f) {
  uint32_t x = float_to_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}
GPUKIT_HOST_DEVICE inline float bf16_bits_to_float(uint16_t b) { return bits_to_float(uint32_t(b) << 16); }

// Conversions between a storage type and its accumulator type.
template <class S>
struct Storage;
template <>
struct Storage<double> {
  using Acc = double;
  GPUKIT_HOST_DEVICE static double to_acc(double v) { return v; }
  GPUKIT_HOST_DEVICE static double from_acc(double a) { return a; }
};
template <>
struct Storage<float> {
  using Acc = float;
  GPUKIT_HOST_DEVICE static float to_acc(float v) { return v; }
  GPUKIT_HOST_DEVICE static float from_acc(float a) { return a; }
};
template <>
struct Storage<Half> {
  using Acc = float;
  GPUKIT_HOST_DEVICE static float to_acc(Half v) { return half_bits_to_float(v.bits); }
  GPUKIT_HOST_DEVICE static Half from_acc(float a) { return Half{float_to_half_bits(a)}; }
};
template <>
struct Storage<BFloat16> {
  using Acc = float;
  GPUKIT_HOST_DEVICE static float to_acc(BFloat16 v) { return bf16_bits_to_float(v.bits); }
  GPUKIT_HOST_DEVICE static BFloat16 from_acc(float a) { return BFloat16{float_to_bf16_bits(a)}; }
};

// ---- the network ----
inline constexpr int mlp_layers = 4;
inline constexpr int mlp_max_width = 256;
inline constexpr int mlp_inputs = 64;
inline constexpr int mlp_outputs = 8;

GPUKIT_HOST_DEVICE constexpr int mlp_width(int i) {
  return i == 0 ? mlp_inputs : (i < mlp_layers ? mlp_max_width : mlp_outputs);
}
GPUKIT_HOST_DEVICE constexpr int mlp_weight_offset(int layer) {
  int off = 0;
  for (int l = 0; l < layer; ++l) off += mlp_width(l) * mlp_width(l + 1);
  return off;
}
GPUKIT_HOST_DEVICE constexpr int mlp_bias_offset(int layer) {
  int off = 0;
  for (int l = 0; l < layer; ++l) off += mlp_width(l + 1);
  return off;
}
inline constexpr int mlp_weight_count = mlp_weight_offset(mlp_layers);
inline constexpr int mlp_bias_count = mlp_bias_offset(mlp_layers);

// Multiply-adds per sample: sum over layers of K*N, two FLOPs each (the bias
// seeds the accumulator, ReLU is a comparison): 2 * (64*256 + 2*256*256 + 256*8)
// = 299008 FLOP per sample.
inline constexpr long long mlp_flops_per_sample = 2LL * mlp_weight_count;

// Workspace of the vendor-GEMM forward pass over n samples (gpu/vendor_blas.hpp):
// two activation buffers of n x mlp_max_width values of the storage type, then
// n x mlp_max_width FP32 accumulators.
GPUKIT_HOST_DEVICE constexpr uint64_t mlp_gemm_workspace_bytes(uint64_t n, uint64_t storage_bytes) {
  return n * uint64_t(mlp_max_width) * (2 * storage_bytes + 4);
}

// The vendor-GEMM pass's epilogue for element i of a rows x width block of FP32
// accumulators: y = acc + bias; a hidden layer stores S(max(y, 0)) into act, the
// last layer y into out (act null). One GPU thread per element, or a host loop.
template <class S>
GPUKIT_HOST_DEVICE inline void mlp_bias_element(const float* acc, const S* bias, uint64_t i, int width, S* act,
                                                float* out) {
  const float y = acc[i] + float(Storage<S>::to_acc(bias[i % uint64_t(width)]));
  if (act)
    act[i] = Storage<S>::from_acc(y > 0.0f ? y : 0.0f);
  else
    out[i] = y;
}

// Weight (k -> n) of layer l: Glorot-uniform in +-sqrt(6 / (K + N)); bias: +-0.1.
GPUKIT_HOST_DEVICE inline double mlp_weight_value(uint64_t seed, int layer, int k, int n) {
  const Philox4x32Block b = philox4x32_10(
      Philox4x32Block{{uint32_t(n), uint32_t(k), 3u, uint32_t(layer)}}, uint32_t(seed), uint32_t(seed >> 32));
  const double u = philox_to_double(b.v[0], b.v[1]);
  const int fan_in = mlp_width(layer), fan_out = mlp_width(layer + 1);
  return (2 * u - 1) * sqrt(6.0 / double(fan_in + fan_out));
}
GPUKIT_HOST_DEVICE inline double mlp_bias_value(uint64_t seed, int layer, int n) {
  const Philox4x32Block b =
      philox4x32_10(Philox4x32Block{{uint32_t(n), 0u, 4u, uint32_t(layer)}}, uint32_t(seed), uint32_t(seed >> 32));
  return 0.1 * (2 * philox_to_double(b.v[0], b.v[1]) - 1);
}

// Input row of sample `sample`: uniform in (-1, 1).
template <class S>
GPUKIT_HOST_DEVICE inline void mlp_input_row(uint64_t seed, uint64_t sample, S* row) {
  PhiloxStream rng(seed, sample, 5);
  for (int k = 0; k < mlp_inputs; ++k)
    row[k] = Storage<S>::from_acc(typename Storage<S>::Acc(2 * rng.uniform<double>() - 1));
}

// Fills a weight and a bias array (mlp_weight_count, mlp_bias_count entries).
template <class W>
GPUKIT_HOST_DEVICE inline void mlp_make_parameters(uint64_t seed, W* weights, W* biases) {
  for (int l = 0; l < mlp_layers; ++l) {
    const int k_n = mlp_width(l), n_n = mlp_width(l + 1);
    for (int k = 0; k < k_n; ++k)
      for (int n = 0; n < n_n; ++n)
        weights[mlp_weight_offset(l) + k * n_n + n] =
            Storage<W>::from_acc(typename Storage<W>::Acc(mlp_weight_value(seed, l, k, n)));
    for (int n = 0; n < n_n; ++n)
      biases[mlp_bias_offset(l) + n] = Storage<W>::from_acc(typename Storage<W>::Acc(mlp_bias_value(seed, l, n)));
  }
}

// LaneTraits<V>::lanes consecutive values from p as the lane type V: one
// vector load for a SIMD lane type (p then holds its scalars), one value
// converted from the storage type for a scalar.
template <class V, class W>
GPUKIT_HOST_DEVICE inline V mlp_load_lanes(const W* p) {
  if constexpr (LaneTraits<V>::lanes == 1)
    return V(Storage<W>::to_acc(*p));
  else
    return V::load(p);
}
// x in every lane. Not the lane type's broadcast constructor: that one adds a
// zero vector, which the compiler must keep (x + 0 is not x for x = -0), one
// more instruction before each broadcast; x - 0 is x.
template <class V>
GPUKIT_HOST_DEVICE inline V mlp_splat(typename LaneTraits<V>::Scalar x) {
  if constexpr (LaneTraits<V>::lanes == 1) {
    return x;
  } else {
    return V(x - typename V::V{});
  }
}
template <class V>
GPUKIT_HOST_DEVICE inline void mlp_store_lanes(V v, typename LaneTraits<V>::Scalar* p) {
  if constexpr (LaneTraits<V>::lanes == 1)
    *p = v;
  else
    v.store(p);
}

// The one summation every backend does: for R samples (rows of x, x_stride
// apart) and the C * lanes neurons whose weights start at w (row k at
// w + k * w_stride) and whose biases start at bias,
// acc[r][c] = bias + sum_k x_rk W_kn, k in increasing order. A GPU thread runs
// it for one (sample, neuron) pair at a scalar type (mlp_neuron); the CPU for a
// register block of R samples by C SIMD vectors of neurons, so each weight
// vector loaded serves R samples and each broadcast input C vectors.
template <class V, int R, int C, class S, class W>
GPUKIT_HOST_DEVICE inline void mlp_neurons(const S* x, int x_stride, int k_n, const W* w, int w_stride,
                                           const W* bias, V (&acc)[R][C]) {
  constexpr int lanes = LaneTraits<V>::lanes;
  for (int c = 0; c < C; ++c) {
    const V b = mlp_load_lanes<V>(bias + c * lanes);
    for (int r = 0; r < R; ++r) acc[r][c] = b;
  }
  for (int k = 0; k < k_n; ++k) {
    V wk[C];
    for (int c = 0; c < C; ++c) wk[c] = mlp_load_lanes<V>(w + k * w_stride + c * lanes);
    for (int r = 0; r < R; ++r) {
      const V xk = mlp_splat<V>(Storage<S>::to_acc(x[r * x_stride + k]));
      for (int c = 0; c < C; ++c) acc[r][c] += xk * wk[c];
    }
  }
}

// One output neuron n of a layer for one sample: bias + sum_k x_k W_kn, k in
// increasing order. The GPU kernel assigns (sample, neuron) pairs to threads;
// the CPU's tile loops below sum in the same order, so all round alike.
template <class S, class W>
GPUKIT_HOST_DEVICE inline typename Storage<S>::Acc mlp_neuron(const S* x, int k_n, const W* wt, int n_n, int n,
                                                              W bias) {
  typename Storage<S>::Acc acc[1][1];
  mlp_neurons<typename Storage<S>::Acc, 1, 1>(x, 0, k_n, wt + n, n_n, &bias, acc);
  return acc[0][0];
}

// Scratch for a tile of up to Tile samples (activations in the storage type and
// one row of accumulators per sample).
template <class S, int Tile>
struct MlpTileScratch {
  S act[2][Tile][mlp_max_width];
  typename Storage<S>::Acc acc[Tile][mlp_max_width];
};

// Forward pass of `count` <= Tile samples (inputs row-major count x 64, outputs
// count x 8 in the accumulator type). The k-outer loop streams each weight row
// once per tile: the CPU's cache blocking; a single GPU thread can run it too.
template <class S, class W, int Tile>
GPUKIT_HOST_DEVICE inline void mlp_forward_tile(const W* weights, const W* biases, const S* in, int count,
                                                typename Storage<S>::Acc* out, MlpTileScratch<S, Tile>& sc) {
  using Acc = typename Storage<S>::Acc;
  for (int s = 0; s < count; ++s)
    for (int k = 0; k < mlp_inputs; ++k) sc.act[0][s][k] = in[s * mlp_inputs + k];
  int cur = 0;
  for (int l = 0; l < mlp_layers; ++l) {
    const int k_n = mlp_width(l), n_n = mlp_width(l + 1);
    const W* wt = weights + mlp_weight_offset(l);
    const W* b = biases + mlp_bias_offset(l);
    for (int s = 0; s < count; ++s)
      for (int n = 0; n < n_n; ++n) sc.acc[s][n] = Acc(Storage<W>::to_acc(b[n]));
    for (int k = 0; k < k_n; ++k) {
      // The accumulators never alias the weights: say so, or the inner loop
      // is not vectorised.
      const W* __restrict__ row = wt + k * n_n;
      for (int s = 0; s < count; ++s) {
        const Acc x = Storage<S>::to_acc(sc.act[cur][s][k]);
        Acc* __restrict__ acc = sc.acc[s];
        for (int n = 0; n < n_n; ++n) acc[n] += x * Acc(Storage<W>::to_acc(row[n]));
      }
    }
    if (l + 1 == mlp_layers) {
      for (int s = 0; s < count; ++s)
        for (int n = 0; n < n_n; ++n) out[s * mlp_outputs + n] = sc.acc[s][n];
    } else {
      for (int s = 0; s < count; ++s)
        for (int n = 0; n < n_n; ++n) sc.act[1 - cur][s][n] = Storage<S>::from_acc(hd_max(sc.acc[s][n], Acc(0)));
      cur = 1 - cur;
    }
  }
}

// ---- the CPU's SIMD forward pass (compute/cpu/hep_kernels.cpp) ----

// Storage<S>::to_acc(Storage<S>::from_acc(a)) for FP32 accumulators, lane by
// lane and without branches: the activations' rounding to the storage type
// between layers, the same values as the bit conversions above (checked
// against them in tests/unit/test_hep_simd.cpp). V is float or a SIMD lane
// type of floats.
template <class S>
struct MlpRound;
template <>
struct MlpRound<float> {
  template <class V>
  GPUKIT_HOST_DEVICE static V apply(V a) { return a; }
};
template <>
struct MlpRound<Half> {
  template <class V>
  GPUKIT_HOST_DEVICE static V apply(V a) {
    using Word = typename LaneTraits<V>::Word;
    const Word x = float_to_bits(a);
    const Word sign = x & Word(0x80000000u), m = x & Word(0x7fffffffu);
    // Normal halves: the mantissa to 10 bits, to nearest even (a carry into the exponent is right).
    const Word normal = (m + Word(0xfffu) + ((m >> 13) & Word(1u))) & Word(0xffffe000u);
    // Subnormal halves are the multiples of 2^-24 below 2^-14: adding 0.5
    // rounds |a| to one of them (to nearest even) and subtracting 0.5 is exact.
    const Word subnormal = float_to_bits((bits_to_float(m) + 0.5f) - 0.5f);
    Word r = hd_select(m < Word(0x38800000u), subnormal, normal);   // 2^-14
    r = hd_select(normal > Word(0x477fe000u), Word(0x7f800000u), r);  // past 65504: infinity
    r = hd_select(m > Word(0x7f800000u), Word(0x7fc00000u), r);      // NaN: the quiet NaN
    return bits_to_float(r | sign);
  }
};
template <>
struct MlpRound<BFloat16> {
  template <class V>
  GPUKIT_HOST_DEVICE static V apply(V a) {
    using Word = typename LaneTraits<V>::Word;
    const Word x = float_to_bits(a);
    const Word rounded = (x + Word(0x7fffu) + ((x >> 16) & Word(1u))) & Word(0xffff0000u);
    const Word quiet_nan = (x | Word(0x400000u)) & Word(0xffff0000u);
    return bits_to_float(hd_select((x & Word(0x7fffffffu)) > Word(0x7f800000u), quiet_nan, rounded));
  }
};

// Activations of a tile of up to Tile samples, widened to FP32 once (their
// values are those of the storage type: MlpRound).
template <int Tile>
struct MlpLaneScratch {
  float act[2][Tile][mlp_max_width];
};

// One layer for `rows` (a multiple of R) samples of act: register blocks of R
// samples by C vectors of V, neuron blocks outside so that a block's weight
// panel (k_n x C * lanes) serves the whole tile. A hidden layer stores
// round(max(y, 0)) into next, the last one y into the outputs of the first
// `count` samples.
template <class S, class V, int R, int C>
GPUKIT_HOST_DEVICE inline void mlp_layer_lanes(const float* act, int rows, int k_n, const float* wt, int n_n,
                                               const float* b, float* next, int count, float* out) {
  constexpr int lanes = LaneTraits<V>::lanes;
  for (int n = 0; n < n_n; n += C * lanes) {
    for (int s = 0; s < rows; s += R) {
      V acc[R][C];
      mlp_neurons<V, R, C>(act + s * mlp_max_width, mlp_max_width, k_n, wt + n, n_n, b + n, acc);
      for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) {
          if (!next) {
            if (s + r < count) mlp_store_lanes(acc[r][c], out + (s + r) * mlp_outputs + n + c * lanes);
          } else {
            const V y = MlpRound<S>::apply(hd_max(acc[r][c], V(0.0f)));
            mlp_store_lanes(y, next + (s + r) * mlp_max_width + n + c * lanes);
          }
        }
    }
  }
}

// Forward pass of `count` <= Tile samples with FP32 weights and accumulators
// (the stored weights widened exactly), inputs of storage type S (row-major
// count x 64), FP32 outputs (count x 8): the same sums and roundings as
// mlp_forward_tile, in register blocks of lane type V (R samples by C vectors;
// VLast by CLast for the 8 outputs, narrower than a wide register). Rows past
// `count` up to a multiple of R are zeros, computed and dropped: every sample
// goes through the same instructions wherever its tile starts.
template <class S, class V, int R, int C, class VLast, int CLast, int Tile>
GPUKIT_HOST_DEVICE inline void mlp_forward_tile_lanes(const float* weights, const float* biases, const S* in,
                                                      int count, float* out, MlpLaneScratch<Tile>& sc) {
  static_assert(Tile % R == 0, "a tile is whole register blocks");
  static_assert(mlp_max_width % (C * LaneTraits<V>::lanes) == 0, "hidden layers are whole neuron blocks");
  static_assert(mlp_outputs % (CLast * LaneTraits<VLast>::lanes) == 0, "the outputs are whole neuron blocks");
  const int rows = (count + R - 1) / R * R;
  for (int s = 0; s < rows; ++s)
    for (int k = 0; k < mlp_inputs; ++k)
      sc.act[0][s][k] = s < count ? float(Storage<S>::to_acc(in[s * mlp_inputs + k])) : 0.0f;
  int cur = 0;
  for (int l = 0; l < mlp_layers; ++l) {
    const int k_n = mlp_width(l), n_n = mlp_width(l + 1);
    const float* wt = weights + mlp_weight_offset(l);
    const float* b = biases + mlp_bias_offset(l);
    if (l + 1 < mlp_layers)
      mlp_layer_lanes<S, V, R, C>(&sc.act[cur][0][0], rows, k_n, wt, n_n, b, &sc.act[1 - cur][0][0], count, out);
    else
      mlp_layer_lanes<S, VLast, R, CLast>(&sc.act[cur][0][0], rows, k_n, wt, n_n, b, nullptr, count, out);
    cur = 1 - cur;
  }
}

}  // namespace gpukit::hep
