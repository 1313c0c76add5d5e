// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy
// as 1, 2, 3", SC'11), the counter-based generator of Random123, cuRAND and
// rocRAND. Counter-based means a draw is a pure function of (key, counter): the
// CPU backend and a GPU thread that handle the same event index produce the same
// numbers, whatever the thread count or launch geometry.
#pragma once

#include "compute/kernels/hep/host_device.cuh"

namespace gpukit::hep {

// One block of four words. U is uint32_t, or on the CPU a lane type of uint32
// words (simd.hpp) that runs one stream per item in each lane.
template <class U>
struct Philox4x32BlockT {
  U v[4];
};
using Philox4x32Block = Philox4x32BlockT<uint32_t>;

// Multipliers and Weyl key increments of Philox4x32 (Random123 philox.h).
inline constexpr uint32_t philox_m0 = 0xD2511F53u;
inline constexpr uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr uint32_t philox_w0 = 0x9E3779B9u;
inline constexpr uint32_t philox_w1 = 0xBB67AE85u;

GPUKIT_HOST_DEVICE inline void philox_mulhilo(uint32_t m, uint32_t x, uint32_t* hi, uint32_t* lo) {
  const uint64_t p = uint64_t(m) * x;
  *hi = uint32_t(p >> 32);
  *lo = uint32_t(p);
}

// Ten rounds over one 128-bit counter with a 64-bit key.
template <class U>
GPUKIT_HOST_DEVICE inline Philox4x32BlockT<U> philox4x32_10(Philox4x32BlockT<U> ctr, uint32_t key0, uint32_t key1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += philox_w0;
      key1 += philox_w1;
    }
    U hi0, lo0, hi1, lo1;
    philox_mulhilo(philox_m0, ctr.v[0], &hi0, &lo0);
    philox_mulhilo(philox_m1, ctr.v[2], &hi1, &lo1);
    ctr = Philox4x32BlockT<U>{{hi1 ^ ctr.v[1] ^ U(key0), lo1, hi0 ^ ctr.v[3] ^ U(key1), lo0}};
  }
  return ctr;
}

// The top 23 bits of a word as a float in (0, 1): (2k + 1) / 2^24 is exact in
// binary32 and never 0 or 1, so log(u) and 1/u are always finite.
GPUKIT_HOST_DEVICE inline float philox_to_float(uint32_t a) {
  return float(((a >> 9) << 1) | 1u) * (1.0f / 16777216.0f);
}
// 52 random bits from two words as a double in (0, 1), likewise never 0 or 1.
GPUKIT_HOST_DEVICE inline double philox_to_double(uint32_t a, uint32_t b) {
  const uint64_t k = (uint64_t(a) << 20) | (b >> 12);
  return double((k << 1) | 1u) * (1.0 / 9007199254740992.0);
}

// A stream of uniforms for one (seed, item, stream) triple: counter words 0-1
// hold the item index (event, primary, track, sample), word 2 the stream (which
// use of randomness), word 3 the block number within the stream. With U a lane
// type, lane i follows item_lo[i], item_hi[i]'s stream.
template <class U>
class BasicPhiloxStream {
 public:
  GPUKIT_HOST_DEVICE BasicPhiloxStream(uint64_t seed, U item_lo, U item_hi, uint32_t stream)
      : key0_(uint32_t(seed)), key1_(uint32_t(seed >> 32)), item_lo_(item_lo), item_hi_(item_hi), stream_(stream) {}

  GPUKIT_HOST_DEVICE U next_u32() {
    if (used_ == 4) {
      block_ = philox4x32_10(Philox4x32BlockT<U>{{item_lo_, item_hi_, U(stream_), U(counter_)}}, key0_, key1_);
      ++counter_;
      used_ = 0;
    }
    return block_.v[used_++];
  }

  // Uniform in (0, 1) in the precision T (float or double, or a lane type of
  // them). Both take two words, and the float is the double rounded to the
  // 2^-23 grid (within 2^-24), so a run in FP32 follows the same random sequence
  // as one in FP64: its results can be checked against the FP64 reference point
  // by point.
  template <class T>
  GPUKIT_HOST_DEVICE T uniform() {
    const U a = next_u32();
    const U b = next_u32();
    if constexpr (sizeof(typename LaneTraits<T>::Scalar) == sizeof(float)) {
      (void)b;
      return T(philox_to_float(a));
    } else {
      return T(philox_to_double(a, b));
    }
  }

 private:
  uint32_t key0_, key1_;
  U item_lo_, item_hi_;
  uint32_t stream_;
  uint32_t counter_ = 0;
  int used_ = 4;
  Philox4x32BlockT<U> block_{};
};

class PhiloxStream : public BasicPhiloxStream<uint32_t> {
 public:
  GPUKIT_HOST_DEVICE PhiloxStream(uint64_t seed, uint64_t item, uint32_t stream)
      : BasicPhiloxStream<uint32_t>(seed, uint32_t(item), uint32_t(item >> 32), stream) {}
};

// A standard normal variate (Box-Muller, one of the pair; the other is dropped so
// that the number of draws per call is fixed).
template <class T>
GPUKIT_HOST_DEVICE inline T normal(PhiloxStream& rng) {
  const T u1 = rng.uniform<T>();
  const T u2 = rng.uniform<T>();
  return sqrt(T(-2) * log(u1)) * cos(T(2) * pi<T>() * u2);
}

}  // namespace gpukit::hep
