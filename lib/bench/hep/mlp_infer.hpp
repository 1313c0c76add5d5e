// The MLP-inference workload on the CPU and its validation against an FP64
// forward pass.
#pragma once

#include <cstdint>
#include <vector>

#include "bench/hep/hep_common.hpp"
#include "compute/cpu/cpu_kernels.hpp"
#include "compute/kernels/hep/mlp.cuh"

namespace gpukit::hep {

struct MlpOptions {
  std::uint64_t seed = 1;
  std::uint64_t samples = 0;
  int threads = 0;  // 0: one per hardware thread
  // The SIMD kernels of one instruction-set level (cpu::select_kernel_set);
  // null: the scalar tile loop (mlp_forward_tile), the reference for comparisons.
  const cpu::KernelSet* kernels = nullptr;
};

struct MlpRun {
  Precision precision = Precision::fp32;
  std::vector<double> outputs;  // samples x mlp_outputs
  double duration_s = 0;        // the forward pass (weights and inputs are made before)
};

// FP32, FP16 or BF16 storage with FP32 accumulation; FP64 runs the reference.
MlpRun run_mlp_infer(Precision precision, const MlpOptions& options);

// FP64 forward pass of samples [first, first + count) over the weights and
// inputs exactly as stored in `storage` (rounded values, widened), with FP64
// activations: what the run would give without rounding in the pass itself.
std::vector<double> mlp_reference_outputs(Precision storage, std::uint64_t seed, std::uint64_t first,
                                          std::uint64_t count);

struct MlpValidation {
  bool passed = false;
  double max_error = 0;  // max |y - y_ref| / max |y_ref| over the checked samples
  double tolerance = 0;
  std::uint64_t checked = 0;
};
// Checks the first `check_samples` outputs of `run` against the FP64 pass.
MlpValidation validate_mlp(const MlpRun& run, std::uint64_t seed, std::uint64_t check_samples = 512);

// Per storage precision: rounding of 256-term sums and of activations to
// 24/11/8 significant bits. Observed on the CPU (512 samples): 5.1e-7 (FP32),
// 4.4e-4 (FP16), 3.0e-3 (BF16); the tolerances are 5e-6, 3e-3 and 2e-2.
double mlp_tolerance(Precision precision);

}  // namespace gpukit::hep
