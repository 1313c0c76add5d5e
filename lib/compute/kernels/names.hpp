// The kernels every backend offers, by name, and the KernelArgs fields each reads.
// Element type is double unless the name says otherwise; n counts elements.
#pragma once

namespace gpukit::kernel {

// out[i] = scalar
inline constexpr const char* fill_f64 = "fill_f64";
// out[i] = uniform in [scalar, scalar2) from (seed, i): kernels/random.cuh
inline constexpr const char* random_f64 = "random_f64";
// BabelStream's kernels with its names (out = c, b, c, a): copy c = a; mul b = s*c;
// add c = a + b; triad a = b + s*c.
inline constexpr const char* stream_copy = "stream_copy";    // out = in0
inline constexpr const char* stream_mul = "stream_mul";      // out = scalar * in0
inline constexpr const char* stream_add = "stream_add";      // out = in0 + in1
inline constexpr const char* stream_triad = "stream_triad";  // out = in0 + scalar * in1
// out[0] = sum in0[i] * in1[i]; scratch: partial sums, scratch_elements >= 1024
inline constexpr const char* stream_dot = "stream_dot";
// n work items, each running independent chains x = x*scalar + scalar2 for
// `iterations` steps (a multiple of 64) from starting values drawn from seed;
// out[item] (double) = the sum of its chains in order (kernels/fma.cuh).
inline constexpr const char* fma_fp64 = "fma_fp64";
inline constexpr const char* fma_fp32 = "fma_fp32";
inline constexpr const char* fma_fp16 = "fma_fp16";
inline constexpr const char* fma_bf16 = "fma_bf16";
inline constexpr const char* fma_int32 = "fma_int32";   // scalar, scalar2 taken as uint32
// Does nothing: launch latency.
inline constexpr const char* empty = "empty";
// out: n 64-bit words; write: out[i] = pattern(seed, i); verify: scratch[0] +=
// mismatches, scratch[1] = min(first bad index) (scratch holds uint64, [1]
// initialised to UINT64_MAX by the caller)
inline constexpr const char* memtest_write = "memtest_write";
inline constexpr const char* memtest_verify = "memtest_verify";

// HEP workloads (GPU plugins only; the CPU backend runs them through
// lib/bench/hep's drivers). kernels/hep/hep_kernels.cuh has the kernels.
// me_eemumu: out[i] (double / float) = |M|^2 of event i of `seed` at sqrt(s) = scalar GeV.
inline constexpr const char* hep_me_eemumu_fp64 = "hep_me_eemumu_fp64";
inline constexpr const char* hep_me_eemumu_fp32 = "hep_me_eemumu_fp32";
// mlp_infer: in0 = weights, in1 = biases (mlp_weight_count, mlp_bias_count
// values of the storage type), scratch = room for n x mlp_inputs inputs of the
// storage type (made on the device from `seed`), out = n x mlp_outputs floats.
// em_shower: n primary photons of scalar MeV in the calorimeter of
// bench/hep/em_shower.hpp; out = n x shower_layers deposits (double / float),
// scratch = n ShowerTally entries of the same type.
inline constexpr const char* hep_em_shower_fp64 = "hep_em_shower_fp64";
inline constexpr const char* hep_em_shower_fp32 = "hep_em_shower_fp32";
// track_fit, in two steps so that only the fit is timed, in the barrel of
// bench/hep/track_fit.hpp. generate: n tracks of `seed`; out = n TrackHits,
// scratch = n TrackTruth (of double / float). fit: in0 = n TrackHits,
// out = n TrackFit.
inline constexpr const char* hep_track_generate_fp64 = "hep_track_generate_fp64";
inline constexpr const char* hep_track_generate_fp32 = "hep_track_generate_fp32";
inline constexpr const char* hep_track_fit_fp64 = "hep_track_fit_fp64";
inline constexpr const char* hep_track_fit_fp32 = "hep_track_fit_fp32";
inline constexpr const char* hep_mlp_fp32 = "hep_mlp_fp32";
inline constexpr const char* hep_mlp_fp16 = "hep_mlp_fp16";
inline constexpr const char* hep_mlp_bf16 = "hep_mlp_bf16";
// mlp_infer through the vendor GEMM (cuBLAS / hipBLAS, gpu/vendor_blas.hpp):
// in0, in1 and out as hep_mlp_*; scratch = hep::mlp_gemm_workspace_bytes(n,
// storage size) bytes, the inputs made from `seed` into its start.
inline constexpr const char* hep_mlp_blas_fp32 = "hep_mlp_blas_fp32";
inline constexpr const char* hep_mlp_blas_fp16 = "hep_mlp_blas_fp16";
inline constexpr const char* hep_mlp_blas_bf16 = "hep_mlp_blas_bf16";

}  // namespace gpukit::kernel
