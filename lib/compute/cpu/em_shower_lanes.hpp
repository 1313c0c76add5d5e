// em_shower on SIMD lanes: one event per lane, every lane stepping its own
// particle through the single-source step (compute/kernels/hep/em_shower.cuh)
// with masks, and a lane that finishes its event taking the next one. Host
// only; included by hep_kernels.cpp once per instruction-set level.
//
// Why this shape: each lane keeps its event's Philox stream, stack and
// depth-first order, so it draws the scalar path's random numbers in the
// scalar order and an event's deposits are the scalar event's up to rounding
// (a rounding that flips a comparison sends the rest of that event down
// another history). Batching particles of one kind across events (the GPU
// codes' per-step queues) would keep the lanes busier but mix the events'
// random streams, and then no event could be compared with the scalar one.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "compute/kernels/hep/em_shower.cuh"
#include "compute/kernels/hep/simd.hpp"

namespace gpukit::hep {

// Regions and particle types as integer values of the lane type, so that
// their masks are the energies' masks.
template <class S, int N>
struct ShowerIndexOf<simd::Vec<S, N>> {
  using type = simd::Vec<S, N>;
};

namespace simd {
inline namespace GPUKIT_SIMD_TARGET_NS {

// region >> 1 and region & 1 of integer-valued lanes (-1 <= region < 2^20):
// rounding region / 2 - 1/4 to the nearest integer is the floor of region / 2.
template <class S, int N>
inline Vec<S, N> region_layer(Vec<S, N> region) {
  const Vec<S, N> magic(S(sizeof(S) == 8 ? 6755399441055744.0 : 12582912.0));
  return ((region * Vec<S, N>(S(0.5)) - Vec<S, N>(S(0.25))) + magic) - magic;
}
template <class S, int N>
inline Mask<S, N> region_odd(Vec<S, N> region) {
  return region - Vec<S, N>(S(2)) * region_layer(region) == Vec<S, N>(S(1));
}

}  // namespace GPUKIT_SIMD_TARGET_NS
}  // namespace simd

namespace shower_lanes {

// Bit l set where lane l of the mask is: the per-lane side effects (deposits,
// pushes) visit only the set lanes, without a branch per lane to mispredict.
template <class S, int N>
inline unsigned lane_bits(simd::Mask<S, N> m) {
  unsigned bits = 0;
#if defined(__SSE2__)
  constexpr int per = 16 / int(sizeof(S));
  for (int c = 0; c < N / per; ++c) {
    __m128i x;
    std::memcpy(&x, reinterpret_cast<const char*>(&m.m) + 16 * c, 16);
    const int k = sizeof(S) == 8 ? _mm_movemask_pd(_mm_castsi128_pd(x)) : _mm_movemask_ps(_mm_castsi128_ps(x));
    bits |= unsigned(k) << (c * per);
  }
#else
  for (int l = 0; l < N; ++l) bits |= unsigned(m.m[l] & 1) << l;
#endif
  return bits;
}
template <class S, int N, class F>
inline void for_lanes(simd::Mask<S, N> m, F&& f) {
  for (unsigned bits = lane_bits(m); bits != 0; bits &= bits - 1) f(__builtin_ctz(bits));
}

// Philox streams (seed, event, 1) with a counter per lane: a draw for some
// lanes takes the next uniform of each of those lanes only, so each lane's
// sequence is its event's scalar PhiloxStream whatever the other lanes draw.
// A uniform takes two words (float and double alike), a block holds two. Each
// lane buffers up to two blocks, and when a drawing lane has none left every
// lane with room gets its next block: one vector Philox then serves most lanes
// (a draw is for about a quarter of them).
template <class S, int N>
class LaneRng {
 public:
  using V = simd::Vec<S, N>;
  using W = simd::Vec<std::uint32_t, N>;
  using WI = typename simd::Vec<std::int32_t, N>::V;

  explicit LaneRng(std::uint64_t seed) : key0_(std::uint32_t(seed)), key1_(std::uint32_t(seed >> 32)) {}

  void start(int lane, std::uint64_t event) {
    lo_.v[lane] = std::uint32_t(event);
    hi_.v[lane] = std::uint32_t(event >> 32);
    counter_.v[lane] = 0;
    read_[lane] = 0;
    count_[lane] = 0;
  }

  V uniform(simd::Mask<S, N> on) {
    const WI on32 = __builtin_convertvector(on.m, WI);
    if (any32(on32 & (count_ == 0))) refill();
    // Uniform slot r (0-3) is words 2r and 2r + 1 of the two blocks.
    const WI r = read_;
    const W a(r == 0 ? words_[0].v : r == 1 ? words_[2].v : r == 2 ? words_[4].v : words_[6].v);
    const W b(r == 0 ? words_[1].v : r == 1 ? words_[3].v : r == 2 ? words_[5].v : words_[7].v);
    read_ = on32 ? (read_ + 1) & 3 : read_;
    count_ += on32;  // -1 where drawn
    if constexpr (sizeof(S) == sizeof(float)) {
      (void)b;
      return simd::philox_to_float(a);
    } else {
      return simd::philox_to_double(a, b);
    }
  }

 private:
  static bool any32(WI m) {
    std::int32_t r = 0;
    for (int i = 0; i < N; ++i) r |= m[i];
    return r != 0;
  }
  // The next block of every lane with room for one, after its buffered ones.
  void refill() {
    const WI room = count_ <= 2;
    const Philox4x32BlockT<W> b =
        philox4x32_10(Philox4x32BlockT<W>{{lo_, hi_, W(std::uint32_t(1)), counter_}}, key0_, key1_);
    const WI write = (read_ + count_) & 3;  // 0 or 2: blocks stay whole
    const WI first = room & (write == 0), second = room & (write == 2);
    for (int i = 0; i < 4; ++i) {
      words_[i] = W(first ? b.v[i].v : words_[i].v);
      words_[4 + i] = W(second ? b.v[i].v : words_[4 + i].v);
    }
    counter_ = counter_ + W(__builtin_convertvector(room & 1, typename W::V));
    count_ += room & 2;
  }
  std::uint32_t key0_, key1_;
  W lo_{}, hi_{}, counter_{};
  WI read_{}, count_{};  // next uniform slot, uniforms buffered
  W words_[8]{};
};

// The lanes' events: deposits, stacks and totals per lane, the scalar
// context's (detail::ShowerEventContext) operations under a mask.
template <class S, int N>
struct LaneContext {
  using V = simd::Vec<S, N>;
  using M = simd::Mask<S, N>;

  int layers;
  LaneRng<S, N> rng;
  S* deposit_row[N] = {};
  ShowerTally<S> tally[N] = {};
  int stack_size[N] = {};
  ShowerParticle<S> stack[N][shower_stack_size];

  LaneContext(int layers_, std::uint64_t seed) : layers(layers_), rng(seed) {}

  V uniform(M on) { return rng.uniform(on); }
  void deposit(M on, V region, V e) {
    for_lanes(on, [&](int l) { deposit_row[l][int(region[l]) >> 1] += e[l]; });
  }
  void push(M on, const ShowerParticle<V>& q) {
    for_lanes(on, [&](int l) {
      ++tally[l].secondaries;
      const ShowerParticle<S> s{q.z[l], q.ux[l], q.uy[l], q.uz[l], q.energy[l], int(q.region[l]), int(q.type[l])};
      if (stack_size[l] < shower_stack_size) {
        stack[l][stack_size[l]++] = s;
      } else {
        ++tally[l].overflows;
        deposit_row[l][s.region >> 1] += s.energy + (s.type > 0 ? S(2) * S(electron_mass_mev) : S(0));
      }
    });
  }
  void escape(M on, V e) {
    for_lanes(on, [&](int l) { tally[l].escaped_mev += e[l]; });
  }
  void count_step(M on) {
    for (int l = 0; l < N; ++l) tally[l].steps += on.m[l] ? 1u : 0u;
  }
};

template <class S, int N>
inline void set_lane(ShowerParticle<simd::Vec<S, N>>& p, int l, const ShowerParticle<S>& q) {
  p.z.v[l] = q.z;
  p.ux.v[l] = q.ux;
  p.uy.v[l] = q.uy;
  p.uz.v[l] = q.uz;
  p.energy.v[l] = q.energy;
  p.region.v[l] = S(q.region);
  p.type.v[l] = S(q.type);
}

// Events first .. first + count - 1: deposits[i * layers ..] and tally[i] of
// event first + i, as shower_event writes them.
template <class S, int N, bool DropPhotoDeposit>
void shower_events(const ShowerConfig<S>& cfg, std::uint64_t seed, std::uint64_t first, std::uint64_t count,
                   S* deposits, ShowerTally<S>* tally) {
  using V = simd::Vec<S, N>;
  using M = simd::Mask<S, N>;
  const int layers = cfg.layers;
  auto ctx = std::make_unique<LaneContext<S, N>>(layers, seed);
  ShowerParticle<V> p{V(0), V(0), V(0), V(1), V(0), V(0), V(0)};
  M active = hd_no_lanes<V>();
  std::uint64_t lane_item[N] = {};
  std::uint64_t next = 0;
  // Lane l takes the next event, or goes idle when none is left.
  auto start = [&](int l) {
    if (next == count) {
      active.m[l] = 0;
      return;
    }
    const std::uint64_t i = next++;
    lane_item[l] = i;
    ctx->deposit_row[l] = deposits + i * std::uint64_t(layers);
    for (int c = 0; c < layers; ++c) ctx->deposit_row[l][c] = S(0);
    ctx->tally[l] = ShowerTally<S>{S(0), 0u, 0u, 0u};
    ctx->stack_size[l] = 0;
    ctx->rng.start(l, first + i);
    set_lane(p, l, ShowerParticle<S>{S(0), S(0), S(0), S(1), cfg.primary_mev, 0, cfg.primary_type});
    active.m[l] = -1;
  };
  for (int l = 0; l < N; ++l) start(l);
  while (hd_any(active)) {
    // Both kinds of particle step together, photons in some lanes, electrons
    // in others (letting one kind wait for fuller steps measured no faster).
    const M alive = detail::shower_step<DropPhotoDeposit>(cfg, *ctx, p, active);
    const M ended = active && !alive;
    for_lanes(ended, [&](int l) {
      if (ctx->stack_size[l] > 0) {
        set_lane(p, l, ctx->stack[l][--ctx->stack_size[l]]);
      } else {
        tally[lane_item[l]] = ctx->tally[l];
        start(l);
      }
    });
  }
}

}  // namespace shower_lanes
}  // namespace gpukit::hep
