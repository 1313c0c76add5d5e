// Device memory test: every 64-bit word gets a pattern derived from its index and
// a seed, so that stuck bits, address aliasing and lost writes all show up.
#pragma once

#include "compute/kernels/common.cuh"

namespace gpukit::kernels {

GPUKIT_HOST_DEVICE inline std::uint64_t memtest_pattern(std::uint64_t seed, std::uint64_t index) {
  return mix64(seed + index);
}

}  // namespace gpukit::kernels
