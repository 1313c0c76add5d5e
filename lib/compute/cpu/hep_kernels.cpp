// Compiled once per instruction-set level, like cpu_kernels.cpp (same macros).
#include "compute/cpu/hep_kernels.hpp"

#include <memory>

#include "compute/kernels/hep/simd.hpp"

#ifndef GPUKIT_CPU_ISA_NS
#error "GPUKIT_CPU_ISA_NS must name the instruction-set namespace"
#endif

namespace gpukit::cpu::GPUKIT_CPU_ISA_NS {

namespace {

using u64 = std::uint64_t;

// Lanes per item batch: one register of the level, but at least four items
// (two SSE2 registers give the out-of-order core independent work).
constexpr int lanes_for(int bytes) {
  return GPUKIT_CPU_VECTOR_BYTES / bytes < 16 / bytes * 2 ? 16 / bytes * 2 : GPUKIT_CPU_VECTOR_BYTES / bytes;
}
constexpr int lanes_f64 = lanes_for(8);
constexpr int lanes_f32 = lanes_for(4);

// Item indices first .. first + N - 1 as the low and high words of Philox's counter.
template <int N>
void item_words(u64 first, hep::simd::Vec<std::uint32_t, N>* lo, hep::simd::Vec<std::uint32_t, N>* hi) {
  for (int i = 0; i < N; ++i) {
    lo->v[i] = std::uint32_t(first + u64(i));
    hi->v[i] = std::uint32_t((first + u64(i)) >> 32);
  }
}

// Lanes past `count` compute events that are not stored: the tail costs one
// batch, and every stored value comes from the same code path.
template <class S, int N, bool Flip>
void me_eemumu_lanes(u64 seed, u64 first, u64 count, S sqrt_s, const hep::EwParameters<S>& ew, S* out) {
  using V = hep::simd::Vec<S, N>;
  using W = hep::simd::Vec<std::uint32_t, N>;
  const hep::EwParameters<V> ewv{V(ew.alpha), V(ew.mz), V(ew.wz), V(ew.sin2w)};
  for (u64 i = 0; i < count; i += N) {
    W lo, hi;
    item_words<N>(first + i, &lo, &hi);
    const V m2 = hep::me_eemumu_event<V, Flip>(seed, lo, hi, V(sqrt_s), ewv);
    if (count - i >= u64(N)) {
      m2.store(out + i);
    } else {
      for (u64 l = 0; l < count - i; ++l) out[i + l] = m2[int(l)];
    }
  }
}

template <class S, int N>
void me_eemumu(u64 seed, u64 first, u64 count, S sqrt_s, const hep::EwParameters<S>& ew, bool flip, S* out) {
  if (flip)
    me_eemumu_lanes<S, N, true>(seed, first, count, sqrt_s, ew, out);
  else
    me_eemumu_lanes<S, N, false>(seed, first, count, sqrt_s, ew, out);
}

// ---- mlp_infer ----
// One register of floats per vector; a register block of mlp_rows samples by
// two vectors of neurons keeps 2 * mlp_rows accumulators, two weight vectors
// and a broadcast input in the level's registers (16 under SSE2 and AVX2, 32
// under AVX-512): 2 + mlp_rows loads feed 2 * mlp_rows FMAs. SSE2 has
// no FMA (a product needs a copy) and the FP16 rounding's constants stay in
// registers too: four rows spilled an accumulator there, three do not.
constexpr int mlp_lanes = GPUKIT_CPU_VECTOR_BYTES / 4;
constexpr int mlp_rows = mlp_lanes >= 16 ? 8 : mlp_lanes == 8 ? 6 : 3;
constexpr int mlp_cols = 2;
// The 8 outputs: one AVX register, or two SSE2 ones.
constexpr int mlp_last_lanes = mlp_lanes < 8 ? mlp_lanes : 8;
constexpr int mlp_last_cols = hep::mlp_outputs / mlp_last_lanes;
// Samples per tile: its activations (2 x tile x 1 KiB) and a neuron block's
// weight panel (256 x 2 vectors) stay near L1.
constexpr int mlp_tile = 4 * mlp_rows;

template <class S>
void mlp_forward(const float* weights, const float* biases, const S* in, u64 count, float* out) {
  using V = hep::simd::Vec<float, mlp_lanes>;
  using VLast = hep::simd::Vec<float, mlp_last_lanes>;
  auto scratch = std::make_unique<hep::MlpLaneScratch<mlp_tile>>();
  for (u64 i = 0; i < count; i += mlp_tile) {
    const int n = count - i < u64(mlp_tile) ? int(count - i) : mlp_tile;
    hep::mlp_forward_tile_lanes<S, V, mlp_rows, mlp_cols, VLast, mlp_last_cols, mlp_tile>(
        weights, biases, in + i * hep::mlp_inputs, n, out + i * hep::mlp_outputs, *scratch);
  }
}


// ---- track_fit: N tracks per call, one per lane ----

// The configuration in every lane (the kernel's arithmetic mixes it with the lanes).
template <class S, int N>
hep::TrackConfig<hep::simd::Vec<S, N>> lane_config(const hep::TrackConfig<S>& c) {
  using V = hep::simd::Vec<S, N>;
  hep::TrackConfig<V> v{};
  v.layers = c.layers;
  for (int l = 0; l < c.layers; ++l) v.radius_cm[l] = V(c.radius_cm[l]);
  v.sigma_rphi_cm = V(c.sigma_rphi_cm);
  v.sigma_z_cm = V(c.sigma_z_cm);
  v.x_over_x0 = V(c.x_over_x0);
  v.bfield_t = V(c.bfield_t);
  v.pt_min_gev = V(c.pt_min_gev);
  v.pt_max_gev = V(c.pt_max_gev);
  v.eta_max = V(c.eta_max);
  v.vertex_sigma_xy_cm = V(c.vertex_sigma_xy_cm);
  v.vertex_sigma_z_cm = V(c.vertex_sigma_z_cm);
  v.mass_gev = V(c.mass_gev);
  return v;
}

// Tracks past `count` in the last batch repeat its last track and are not stored.
template <class S, int N, bool Wrong>
void track_fit_batch(const hep::TrackConfig<S>& cfg, const hep::TrackHits<S>* hits, u64 count, hep::TrackFit<S>* out) {
  using V = hep::simd::Vec<S, N>;
  const hep::TrackConfig<V> cv = lane_config<S, N>(cfg);
  for (u64 i = 0; i < count; i += N) {
    const int used = count - i >= u64(N) ? N : int(count - i);
    hep::TrackHits<V> h;
    for (int lane = 0; lane < N; ++lane) {
      const hep::TrackHits<S>& one = hits[i + u64(lane < used ? lane : used - 1)];
      for (int l = 0; l < cfg.layers; ++l) {
        h.rphi[l].v[lane] = one.rphi[l];
        h.z[l].v[lane] = one.z[l];
      }
    }
    hep::TrackFitLanes<V> f;
    hep::track_fit_lanes<V, Wrong>(cv, h, &f);
    for (int lane = 0; lane < used; ++lane) {
      hep::TrackFit<S>& o = out[i + u64(lane)];
      for (int k = 0; k < 5; ++k) {
        o.state[k] = f.state[k][lane];
        o.variance[k] = f.variance[k][lane];
      }
      o.chi2 = f.chi2[lane];
      o.ndf = 2 * cfg.layers - 5;
      o.status = f.ok.m[lane] ? 0 : 1;
    }
  }
}

template <class S, int N>
void track_fit(const hep::TrackConfig<S>& cfg, const hep::TrackHits<S>* hits, u64 count, bool wrong_covariance_update,
               hep::TrackFit<S>* out) {
  if (wrong_covariance_update)
    track_fit_batch<S, N, true>(cfg, hits, count, out);
  else
    track_fit_batch<S, N, false>(cfg, hits, count, out);
}

}  // namespace

// em_shower's lanes: v4 only, in their own translation unit (em_shower_kernels.cpp says why).
#if GPUKIT_CPU_VECTOR_BYTES >= 64
constexpr auto shower_f64 = em_shower_lanes_f64;
constexpr auto shower_f32 = em_shower_lanes_f32;
#else
constexpr decltype(HepKernels::em_shower_f64) shower_f64 = nullptr;
constexpr decltype(HepKernels::em_shower_f32) shower_f32 = nullptr;
#endif

const HepKernels& hep_kernels() {
  static const HepKernels set{lanes_f64, lanes_f32, me_eemumu<double, lanes_f64>, me_eemumu<float, lanes_f32>,
                              mlp_lanes, mlp_forward<float>, mlp_forward<hep::Half>, mlp_forward<hep::BFloat16>,
                              track_fit<double, lanes_f64>, track_fit<float, lanes_f32>, shower_f64, shower_f32};
  return set;
}

}  // namespace gpukit::cpu::GPUKIT_CPU_ISA_NS
