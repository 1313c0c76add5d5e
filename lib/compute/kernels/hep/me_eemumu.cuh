// Leading-order e+e- -> mu+mu- through photon and Z exchange: the matrix-element
// workload (madgraph4gpu's kind of work: spinors, currents and propagators in
// complex arithmetic, one thread per phase-space point).
//
// Massless leptons. The amplitude of each helicity configuration is built the
// HELAS way from two-component Weyl spinors and the vector currents
// vbar(p2) gamma^mu P_{L,R} u(p1) and ubar(p3) gamma^mu P_{L,R} v(p4); the four
// chirality-conserving configurations are summed (the other twelve vanish for
// massless fermions).
#pragma once

#include "compute/kernels/hep/host_device.cuh"
#include "compute/kernels/hep/philox.cuh"

namespace gpukit::hep {

template <class T>
struct Cplx {
  T re, im;
};
template <class T>
GPUKIT_HOST_DEVICE inline Cplx<T> operator+(Cplx<T> a, Cplx<T> b) { return {a.re + b.re, a.im + b.im}; }
template <class T>
GPUKIT_HOST_DEVICE inline Cplx<T> operator-(Cplx<T> a, Cplx<T> b) { return {a.re - b.re, a.im - b.im}; }
template <class T>
GPUKIT_HOST_DEVICE inline Cplx<T> operator*(Cplx<T> a, Cplx<T> b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template <class T>
GPUKIT_HOST_DEVICE inline Cplx<T> conj(Cplx<T> a) { return {a.re, -a.im}; }
template <class T>
GPUKIT_HOST_DEVICE inline T norm2(Cplx<T> a) { return a.re * a.re + a.im * a.im; }

// Electroweak inputs (values and sources in lib/bench/hep/me_eemumu.hpp).
template <class T>
struct EwParameters {
  T alpha;     // fine-structure constant
  T mz, wz;    // Z mass and width, GeV
  T sin2w;     // sin^2 theta_W
};

// Four-momenta (E, px, py, pz) in GeV, centre-of-mass frame, beams along z:
// 0 = e-, 1 = e+, 2 = mu-, 3 = mu+.
template <class T>
struct MePoint {
  T p[4][4];
};

// The exact two-body phase-space generator: for massless products the phase space
// is flat in cos(theta) and phi with volume 1/(8 pi), so a point is two uniforms.
template <class T>
GPUKIT_HOST_DEVICE inline MePoint<T> me_phase_space_point(T sqrt_s, T u1, T u2) {
  const T e = sqrt_s / T(2);
  const T cos_t = T(2) * u1 - T(1);
  const T sin_t = sqrt(hd_max(T(0), (T(1) - cos_t) * (T(1) + cos_t)));
  const T phi = T(2) * pi<T>() * u2;
  const T px = e * sin_t * cos(phi), py = e * sin_t * sin(phi), pz = e * cos_t;
  MePoint<T> k{{{e, T(0), T(0), e}, {e, T(0), T(0), -e}, {e, px, py, pz}, {e, -px, -py, -pz}}};
  return k;
}

// The phase-space point of event `event`: Philox stream 0 of that event. The
// event's index comes as two words (low, high), one event per lane on a lane type.
template <class T>
GPUKIT_HOST_DEVICE inline MePoint<T> me_event_point(uint64_t seed, typename LaneTraits<T>::Word event_lo,
                                                    typename LaneTraits<T>::Word event_hi, T sqrt_s) {
  BasicPhiloxStream<typename LaneTraits<T>::Word> rng(seed, event_lo, event_hi, 0);
  const T u1 = rng.template uniform<T>();
  const T u2 = rng.template uniform<T>();
  return me_phase_space_point(sqrt_s, u1, u2);
}
template <class T>
GPUKIT_HOST_DEVICE inline MePoint<T> me_event_point(uint64_t seed, uint64_t event, T sqrt_s) {
  return me_event_point<T>(seed, uint32_t(event), uint32_t(event >> 32), sqrt_s);
}

// Helicity eigenstates chi_+ and chi_- of sigma.p_hat for a massless momentum,
// scaled by sqrt(2E) as they enter u and v spinors. Along -z the general formula
// is 0/0; the limit taken there is HELAS's (chi_+ = (0, 1), chi_- = (-1, 0)).
template <class T>
GPUKIT_HOST_DEVICE inline void weyl_spinors(const T p[4], Cplx<T> plus[2], Cplx<T> minus[2]) {
  const T pt2 = p[1] * p[1] + p[2] * p[2];
  const T pp = sqrt(pt2 + p[3] * p[3]);
  // |p| + pz without cancellation when the momentum points backwards.
  const T ppz = hd_select(p[3] >= T(0), pp + p[3], pt2 / (pp - p[3]));
  const T scale = sqrt(T(2) * p[0]);
  // Both forms are computed and the limit's lanes selected (n is infinite there).
  const auto along_minus_z = ppz <= pp * T(1e-6);
  const T n = scale / sqrt(T(2) * pp * ppz);
  plus[0] = {hd_select(along_minus_z, T(0), n * ppz), T(0)};
  plus[1] = {hd_select(along_minus_z, scale, n * p[1]), hd_select(along_minus_z, T(0), n * p[2])};
  minus[0] = {hd_select(along_minus_z, -scale, -n * p[1]), hd_select(along_minus_z, T(0), n * p[2])};
  minus[1] = {hd_select(along_minus_z, T(0), n * ppz), T(0)};
}

// a^dagger sigma^mu b (sign = +1) or a^dagger sigmabar^mu b (sign = -1), with
// sigma^mu = (1, sigma_x, sigma_y, sigma_z) and sigmabar^mu = (1, -sigma).
template <class T>
GPUKIT_HOST_DEVICE inline void weyl_current(const Cplx<T> a[2], const Cplx<T> b[2], T sign, Cplx<T> j[4]) {
  const Cplx<T> a0 = conj(a[0]), a1 = conj(a[1]);
  const Cplx<T> a0b0 = a0 * b[0], a0b1 = a0 * b[1], a1b0 = a1 * b[0], a1b1 = a1 * b[1];
  j[0] = a0b0 + a1b1;
  const Cplx<T> x = a0b1 + a1b0;
  const Cplx<T> d = a1b0 - a0b1;  // sigma_y: -i a0* b1 + i a1* b0 = i (a1* b0 - a0* b1)
  const Cplx<T> z = a0b0 - a1b1;
  j[1] = {sign * x.re, sign * x.im};
  j[2] = {-sign * d.im, sign * d.re};
  j[3] = {sign * z.re, sign * z.im};
}

// Minkowski product of two complex four-vectors, no conjugation.
template <class T>
GPUKIT_HOST_DEVICE inline Cplx<T> minkowski(const Cplx<T> a[4], const Cplx<T> b[4]) {
  return a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3];
}

// |M|^2 summed over all helicities (not averaged) at one point. FlipZSign is the
// test-only wrong variant: the Z amplitude enters with the opposite sign relative
// to the photon, which must fail the validation (the interference, hence the
// forward-backward asymmetry and the cross section away from the pole, change).
template <class T, bool FlipZSign = false>
GPUKIT_HOST_DEVICE inline T me_eemumu_squared(const MePoint<T>& k, const EwParameters<T>& ew) {
  const T s = T(2) * (k.p[0][0] * k.p[1][0] - k.p[0][1] * k.p[1][1] - k.p[0][2] * k.p[1][2] - k.p[0][3] * k.p[1][3]);
  const T e2 = T(4) * pi<T>() * ew.alpha;

  // Z propagator relative to the photon's, times 1/(sin^2 cos^2): the couplings
  // below are in units of e/(sin theta_W cos theta_W).
  const T mz2 = ew.mz * ew.mz;
  const T dre = s - mz2, dim = ew.mz * ew.wz;
  const T f = s / ((dre * dre + dim * dim) * ew.sin2w * (T(1) - ew.sin2w));
  const Cplx<T> chi = {f * dre, -f * dim};

  // Lepton couplings to the Z: g_L = T3 - Q sin^2 = -1/2 + sin^2, g_R = -Q sin^2.
  const T g[2] = {T(-0.5) + ew.sin2w, ew.sin2w};
  const T qq = T(1);  // Q_e Q_mu
  const T zsign = FlipZSign ? T(-1) : T(1);

  Cplx<T> s1p[2], s1m[2], s2p[2], s2m[2], s3p[2], s3m[2], s4p[2], s4m[2];
  weyl_spinors(k.p[0], s1p, s1m);
  weyl_spinors(k.p[1], s2p, s2m);
  weyl_spinors(k.p[2], s3p, s3m);
  weyl_spinors(k.p[3], s4p, s4m);

  // Index 0 = left-handed, 1 = right-handed chirality of the fermion line.
  Cplx<T> je[2][4], jm[2][4];
  weyl_current(s2m, s1m, T(-1), je[0]);  // vbar(p2) gamma^mu P_L u(p1)
  weyl_current(s2p, s1p, T(1), je[1]);   // vbar(p2) gamma^mu P_R u(p1)
  weyl_current(s3m, s4m, T(-1), jm[0]);  // ubar(p3) gamma^mu P_L v(p4)
  weyl_current(s3p, s4p, T(1), jm[1]);   // ubar(p3) gamma^mu P_R v(p4)

  T sum = T(0);
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const T gg = zsign * g[i] * g[j];
      const Cplx<T> c = {qq + gg * chi.re, gg * chi.im};
      const Cplx<T> amp = c * minkowski(je[i], jm[j]);
      sum += norm2(amp);
    }
  }
  const T scale = e2 / s;
  return sum * scale * scale;
}

// One event: its phase-space point and |M|^2 summed over helicities.
template <class T, bool FlipZSign = false>
GPUKIT_HOST_DEVICE inline T me_eemumu_event(uint64_t seed, uint64_t event, T sqrt_s, const EwParameters<T>& ew) {
  return me_eemumu_squared<T, FlipZSign>(me_event_point<T>(seed, event, sqrt_s), ew);
}
// The same for a lane type: lane i computes event (event_hi[i] << 32 | event_lo[i]).
template <class T, bool FlipZSign = false>
GPUKIT_HOST_DEVICE inline T me_eemumu_event(uint64_t seed, typename LaneTraits<T>::Word event_lo,
                                            typename LaneTraits<T>::Word event_hi, T sqrt_s,
                                            const EwParameters<T>& ew) {
  return me_eemumu_squared<T, FlipZSign>(me_event_point<T>(seed, event_lo, event_hi, sqrt_s), ew);
}

}  // namespace gpukit::hep
