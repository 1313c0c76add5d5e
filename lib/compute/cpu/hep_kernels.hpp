// The HEP workloads' kernels on the CPU, several items per call in SIMD lanes:
// the same templates the GPUs run (compute/kernels/hep/*.cuh) at a lane type
// (compute/kernels/hep/simd.hpp), compiled once per instruction-set level with
// the stream kernels and chosen with them (KernelSet::hep, select_kernel_set).
#pragma once

#include <cstdint>

#include "compute/kernels/hep/em_shower.cuh"
#include "compute/kernels/hep/me_eemumu.cuh"
#include "compute/kernels/hep/mlp.cuh"
#include "compute/kernels/hep/track_fit.cuh"

namespace gpukit::cpu {

struct HepKernels {
  int lanes_fp64;  // items computed together
  int lanes_fp32;
  // out[i] = |M|^2 of event first + i, i < count (me_eemumu_event).
  void (*me_eemumu_f64)(std::uint64_t seed, std::uint64_t first, std::uint64_t count, double sqrt_s,
                        const hep::EwParameters<double>& ew, bool flip_z_sign, double* out);
  void (*me_eemumu_f32)(std::uint64_t seed, std::uint64_t first, std::uint64_t count, float sqrt_s,
                        const hep::EwParameters<float>& ew, bool flip_z_sign, float* out);
  // mlp_infer: outputs (count x 8) of inputs in (count x 64) of the storage
  // type, through FP32 weights and biases (the stored ones widened), with
  // activations rounded to the storage type between layers (mlp_forward_tile_lanes).
  int lanes_mlp;
  void (*mlp_forward_f32)(const float* weights, const float* biases, const float* in, std::uint64_t count,
                          float* out);
  void (*mlp_forward_f16)(const float* weights, const float* biases, const hep::Half* in, std::uint64_t count,
                          float* out);
  void (*mlp_forward_bf16)(const float* weights, const float* biases, const hep::BFloat16* in,
                           std::uint64_t count, float* out);
  // out[i] = the fit of hits[i], i < count (track_fit; the wrong variant when asked).
  void (*track_fit_f64)(const hep::TrackConfig<double>& cfg, const hep::TrackHits<double>* hits, std::uint64_t count,
                        bool wrong_covariance_update, hep::TrackFit<double>* out);
  void (*track_fit_f32)(const hep::TrackConfig<float>& cfg, const hep::TrackHits<float>* hits, std::uint64_t count,
                        bool wrong_covariance_update, hep::TrackFit<float>* out);
  // em_shower: events first .. first + count - 1 (shower_event), one per lane;
  // deposits[i * layers ..] and tally[i] for event first + i. Null at levels
  // where the lanes are slower than the scalar kernel (em_shower_kernels.cpp).
  void (*em_shower_f64)(const hep::ShowerConfig<double>& cfg, std::uint64_t seed, std::uint64_t first,
                        std::uint64_t count, bool drop_photo_deposit, double* deposits,
                        hep::ShowerTally<double>* tally);
  void (*em_shower_f32)(const hep::ShowerConfig<float>& cfg, std::uint64_t seed, std::uint64_t first,
                        std::uint64_t count, bool drop_photo_deposit, float* deposits, hep::ShowerTally<float>* tally);
};

namespace isa_v4 {
const HepKernels& hep_kernels();
// em_shower's lanes (em_shower_kernels.cpp), which exist at v4 only.
void em_shower_lanes_f64(const hep::ShowerConfig<double>& cfg, std::uint64_t seed, std::uint64_t first,
                         std::uint64_t count, bool drop_photo_deposit, double* deposits,
                         hep::ShowerTally<double>* tally);
void em_shower_lanes_f32(const hep::ShowerConfig<float>& cfg, std::uint64_t seed, std::uint64_t first,
                         std::uint64_t count, bool drop_photo_deposit, float* deposits, hep::ShowerTally<float>* tally);
}  // namespace isa_v4
namespace isa_v3 { const HepKernels& hep_kernels(); }
namespace isa_generic { const HepKernels& hep_kernels(); }

}  // namespace gpukit::cpu
