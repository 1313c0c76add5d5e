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

// One output neuron n of a layer for one sample: bias + sum_k x_k W_kn, k in
// increasing order. The GPU kernel assigns (sample, neuron) pairs to threads;
// the CPU's tile loop below sums in the same order, so both round alike.
template <class S, class W>
GPUKIT_HOST_DEVICE inline typename Storage<S>::Acc mlp_neuron(const S* x, int k_n, const W* wt, int n_n, int n,
                                                              W bias) {
  using Acc = typename Storage<S>::Acc;
  Acc acc = Acc(Storage<W>::to_acc(bias));
  for (int k = 0; k < k_n; ++k) acc += Storage<S>::to_acc(x[k]) * Acc(Storage<W>::to_acc(wt[k * n_n + n]));
  return acc;
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

}  // namespace gpukit::hep
