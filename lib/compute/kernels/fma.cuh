// FMA chains: each work item runs fma_chains independent recurrences
// x <- x*m + c, enough independent work to hide the FMA latency. The host
// checks them against the closed form x_K = m^K x_0 + c (1 - m^K) / (1 - m),
// so the chain length is free. Starting values are uniform in [0, 1).
#pragma once

#include "compute/kernels/common.cuh"

namespace gpukit::kernels {

// Registers of chains per work item; packed 16-bit types carry two chains per
// register, so fp16 and bf16 items run 2 * fma_chains scalar chains.
inline constexpr int fma_chains = 8;
inline constexpr int fma_max_scalar_chains = 64;  // stride of the starting values

// Starting value of scalar chain `chain` of work item `item`, the same on every
// backend and in the host reference.
GPUKIT_HOST_DEVICE inline double fma_start(std::uint64_t seed, std::uint64_t item, int chain) {
  return uniform(seed, item * fma_max_scalar_chains + static_cast<std::uint64_t>(chain), 0.0, 1.0);
}
GPUKIT_HOST_DEVICE inline std::uint32_t fma_start_u32(std::uint64_t seed, std::uint64_t item, int chain) {
  return static_cast<std::uint32_t>(
      mix64(seed ^ mix64(item * fma_max_scalar_chains + static_cast<std::uint64_t>(chain))));
}

// GPU kernels unroll the chain loop by this much: iterations must be a multiple.
inline constexpr int fma_unroll = 16;

// Multipliers that keep the chains bounded and their rounding error small
// (error <= eps / (1 - m)): the validation tolerance follows from them.
inline constexpr double fma_multiplier_wide = 0.999;   // fp64, fp32
inline constexpr double fma_multiplier_narrow = 0.5;   // fp16, bf16
inline constexpr std::uint32_t fma_int_multiplier = 1664525u;     // Numerical Recipes' LCG:
inline constexpr std::uint32_t fma_int_addend = 1013904223u;      // exact modulo 2^32

}  // namespace gpukit::kernels
