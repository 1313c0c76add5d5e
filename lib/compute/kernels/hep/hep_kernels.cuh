// __global__ entry points of the HEP workloads for the CUDA and HIP plugins: each
// runs the same GPUKIT_HOST_DEVICE function the CPU backend runs, one thread per
// event, primary, track or sample, over [first, first + count).
#pragma once

#if defined(__CUDACC__) || defined(__HIPCC__)

#if defined(__HIPCC__)
#include <hip/hip_runtime.h>  // blockIdx, __syncthreads (nvcc brings its runtime itself)
#endif

#include "compute/kernels/hep/em_shower.cuh"
#include "compute/kernels/hep/me_eemumu.cuh"
#include "compute/kernels/hep/mlp.cuh"
#include "compute/kernels/hep/track_fit.cuh"

namespace gpukit::hep {

__device__ inline uint64_t global_thread_index() {
  return uint64_t(blockIdx.x) * uint64_t(blockDim.x) + uint64_t(threadIdx.x);
}

// out[i] = |M|^2 of event first + i.
template <class T, bool FlipZSign = false>
__global__ void me_eemumu_kernel(uint64_t seed, uint64_t first, uint64_t count, T sqrt_s, EwParameters<T> ew,
                                 T* out) {
  const uint64_t i = global_thread_index();
  if (i >= count) return;
  out[i] = me_eemumu_event<T, FlipZSign>(seed, first + i, sqrt_s, ew);
}

// layer_deposit: count x config.layers (row per primary); tally: count entries.
template <class T, bool DropPhotoDeposit = false>
__global__ void em_shower_kernel(ShowerConfig<T> config, uint64_t seed, uint64_t first, uint64_t count,
                                 T* layer_deposit, ShowerTally<T>* tally) {
  const uint64_t i = global_thread_index();
  if (i >= count) return;
  shower_event<T, DropPhotoDeposit>(config, seed, first + i, layer_deposit + i * uint64_t(config.layers), tally + i);
}

// hits[i] and truth[i] of track first + i (truth[i].complete says whether it
// reached every layer).
template <class T>
__global__ void track_generate_kernel(TrackConfig<T> config, uint64_t seed, uint64_t first, uint64_t count,
                                      TrackHits<T>* hits, TrackTruth<T>* truth) {
  const uint64_t i = global_thread_index();
  if (i >= count) return;
  track_generate(config, seed, first + i, hits + i, truth + i);
}

template <class T, bool WrongCovarianceUpdate = false>
__global__ void track_fit_kernel(TrackConfig<T> config, uint64_t count, const TrackHits<T>* hits, TrackFit<T>* fits) {
  const uint64_t i = global_thread_index();
  if (i >= count) return;
  track_fit<T, WrongCovarianceUpdate>(config, hits[i], fits + i);
}

// inputs: count x mlp_inputs, generated on the device from Philox.
template <class S>
__global__ void mlp_input_kernel(uint64_t seed, uint64_t first, uint64_t count, S* inputs) {
  const uint64_t i = global_thread_index();
  if (i >= count) return;
  mlp_input_row<S>(seed, first + i, inputs + i * mlp_inputs);
}

// The vendor-GEMM forward pass's epilogue (gpu/vendor_blas.hpp) over a rows x
// width block, one thread per element.
template <class S>
__global__ void mlp_bias_kernel(const float* acc, const S* bias, uint64_t rows, int width, S* act, float* out) {
  const uint64_t i = global_thread_index();
  if (i >= rows * uint64_t(width)) return;
  mlp_bias_element(acc, bias, i, width, act, out);
}

// The tiled forward pass: a block owns mlp_kernel_tile samples, keeps their
// activations in shared memory and gives (sample, neuron) pairs to its threads,
// layer by layer. Launch with ceil(count / mlp_kernel_tile) blocks of any size.
inline constexpr int mlp_kernel_tile = 16;

template <class S, class W>
__global__ void mlp_forward_kernel(const W* weights, const W* biases, const S* inputs, uint64_t count,
                                   typename Storage<S>::Acc* outputs) {
  using Acc = typename Storage<S>::Acc;
  __shared__ S act[2][mlp_kernel_tile][mlp_max_width];
  const uint64_t base = uint64_t(blockIdx.x) * mlp_kernel_tile;
  const int tile = int(count - base < uint64_t(mlp_kernel_tile) ? count - base : uint64_t(mlp_kernel_tile));
  for (int idx = threadIdx.x; idx < tile * mlp_inputs; idx += blockDim.x)
    act[0][idx / mlp_inputs][idx % mlp_inputs] = inputs[base * mlp_inputs + idx];
  __syncthreads();
  int cur = 0;
  for (int l = 0; l < mlp_layers; ++l) {
    const int k_n = mlp_width(l), n_n = mlp_width(l + 1);
    const W* wt = weights + mlp_weight_offset(l);
    const W* b = biases + mlp_bias_offset(l);
    for (int idx = threadIdx.x; idx < tile * n_n; idx += blockDim.x) {
      const int s = idx / n_n, n = idx % n_n;
      const Acc acc = mlp_neuron<S, W>(act[cur][s], k_n, wt, n_n, n, b[n]);
      if (l + 1 == mlp_layers)
        outputs[(base + s) * mlp_outputs + n] = acc;
      else
        act[1 - cur][s][n] = Storage<S>::from_acc(acc > Acc(0) ? acc : Acc(0));
    }
    __syncthreads();
    cur = 1 - cur;
  }
}

}  // namespace gpukit::hep

#endif
