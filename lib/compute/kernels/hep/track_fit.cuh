// Kalman-filter track fitting in a solenoid barrel (the tracking kind of work:
// small dense matrices, transcendental functions, one thread per track).
//
// Uniform field B along z; cylindrical silicon layers at radii R_l measuring
// r*phi and z. The state on a cylinder of radius R is the 5-parameter helix
//   (Phi, z, phi, t, kappa) = (azimuth of the position, z, azimuth of the
//   momentum, cot(theta), q/pT [1/GeV]),
// so the measurement is linear (H = [[R,0,0,0,0],[0,1,0,0,0]]). The transverse
// curvature is k = c_B kappa [1/cm] with c_B = -0.00299792458 B[T] (a positive
// charge turns clockwise seen from +z), dphi/ds = k per transverse path length s.
// Material: each layer is a thin scatterer (multiple scattering, Highland width)
// placed right after the measurement; energy loss is neglected.
#pragma once

#include "compute/kernels/hep/host_device.cuh"
#include "compute/kernels/hep/philox.cuh"

namespace gpukit::hep {

inline constexpr int track_max_layers = 16;

template <class T>
struct TrackConfig {
  int layers;
  T radius_cm[track_max_layers];  // increasing
  T sigma_rphi_cm, sigma_z_cm;    // hit resolutions
  T x_over_x0;                    // layer material at normal incidence
  T bfield_t;
  T pt_min_gev, pt_max_gev;       // q/pT uniform in +-[1/pt_max, 1/pt_min]
  T eta_max;                      // eta uniform in [-eta_max, eta_max]
  T vertex_sigma_xy_cm, vertex_sigma_z_cm;
  T mass_gev;                     // of the tracked particle (for beta in Highland)
};

template <class T>
struct TrackHits {
  T rphi[track_max_layers];
  T z[track_max_layers];
};

// The true state at the outermost layer, where the forward filter's estimate is.
template <class T>
struct TrackTruth {
  T state[5];
  int complete;  // 1 when the track reached every layer (track_generate returned true)
};

// What track_fit_lanes computes: the fields of TrackFit for every lane of T, and
// which lanes' propagations all succeeded (TrackFit::status 0).
template <class T>
struct TrackFitLanes {
  T state[5];
  T variance[5];
  T chi2;
  LaneMask<T> ok;
};

template <class T>
struct TrackFit {
  T state[5];     // at the outermost layer
  T variance[5];  // diagonal of its covariance
  T chi2;
  int ndf;
  int status;     // 0 ok, 1 a propagation failed (no intersection)
};

namespace detail {

template <class T>
GPUKIT_HOST_DEVICE inline T wrap_angle(T a) {
  const T two_pi = T(2) * pi<T>();
  return a - two_pi * floor((a + pi<T>()) / two_pi);
}

template <class T>
GPUKIT_HOST_DEVICE inline T sinc(T u) {
  return hd_select(hd_abs(u) < T(1e-3), T(1) - u * u / T(6), sin(u) / u);
}

// (a cos a - sin a)/a^2 and (1 - cos a - a sin a)/a^2, the derivatives of the
// helix position with respect to the curvature; series below |a| = 0.05 where
// the closed forms cancel.
template <class T>
GPUKIT_HOST_DEVICE inline T helix_f1(T a) {
  const T a2 = a * a;
  return hd_select(hd_abs(a) < T(0.05), a * (T(-1.0 / 3.0) + a2 * (T(1.0 / 30.0) - a2 * T(1.0 / 840.0))),
                   (a * cos(a) - sin(a)) / (a * a));
}
template <class T>
GPUKIT_HOST_DEVICE inline T helix_f2(T a) {
  const T a2 = a * a;
  return hd_select(hd_abs(a) < T(0.05), T(-0.5) + a2 * (T(1.0 / 8.0) - a2 * T(1.0 / 144.0)),
                   (T(1) - cos(a) - a * sin(a)) / (a * a));
}

// Transverse path length s > 0 from (x0, y0) with direction phi and curvature k
// to the cylinder of radius r: Newton's method on x(s)^2 + y(s)^2 = r^2 from the
// straight-line solution, with the chord form of the helix (stable for k -> 0).
// The lanes where no intersection exists are false; the others carry on while
// any lane does (a scalar T returns at its first failure, as a branch would).
template <class T>
GPUKIT_HOST_DEVICE inline LaneMask<T> helix_path_to_radius(T x0, T y0, T phi, T k, T r, T& s) {
  const T a_lin = x0 * cos(phi) + y0 * sin(phi);
  const T disc = a_lin * a_lin + r * r - (x0 * x0 + y0 * y0);
  LaneMask<T> ok = !(disc < T(0));
  if (!hd_any(ok)) return ok;
  s = -a_lin + sqrt(disc);
  for (int it = 0; it < 6; ++it) {
    const T a = k * s;
    const T c = s * sinc(a / T(2));
    const T x = x0 + c * cos(phi + a / T(2)), y = y0 + c * sin(phi + a / T(2));
    const T f = x * x + y * y - r * r;
    const T df = T(2) * (x * cos(phi + a) + y * sin(phi + a));
    ok = ok && !(df <= T(0));  // the helix turns back before reaching r
    if (!hd_any(ok)) return ok;
    s -= f / df;
  }
  const T a = k * s;
  const T c = s * sinc(a / T(2));
  const T x = x0 + c * cos(phi + a / T(2)), y = y0 + c * sin(phi + a / T(2));
  return ok && s > T(0) && hd_abs(sqrt(x * x + y * y) - r) < r * T(1e-3);
}

// Highland width for unit charge over x/X0 (path-length corrected).
template <class T>
GPUKIT_HOST_DEVICE inline T highland(T p_gev, T beta, T x) {
  return hd_max(T(0), T(0.0136) / (beta * p_gev) * sqrt(x) * (T(1) + T(0.038) * log(x / (beta * beta))));
}

// Effective material and Highland width of layer crossing for a state.
template <class T>
GPUKIT_HOST_DEVICE inline T layer_theta0(const TrackConfig<T>& cfg, const T st[5]) {
  const T t = st[3];
  const T one_t2 = T(1) + t * t;
  const T sin_theta = T(1) / sqrt(one_t2);
  const T p = sqrt(one_t2) / hd_max(hd_abs(st[4]), T(1e-6));
  const T beta = p / sqrt(p * p + cfg.mass_gev * cfg.mass_gev);
  const T cos_incidence = hd_max(T(0.05), sin_theta * hd_abs(cos(st[2] - st[0])));
  return highland(p, beta, cfg.x_over_x0 / cos_incidence);
}

// The estimate of the lanes in `which` into fit (the others keep theirs).
template <class T>
GPUKIT_HOST_DEVICE inline void store_fit(LaneMask<T> which, const T st[5], const T (*cov)[5], T chi2,
                                         TrackFitLanes<T>* fit) {
  for (int i = 0; i < 5; ++i) {
    fit->state[i] = hd_select(which, st[i], fit->state[i]);
    fit->variance[i] = hd_select(which, cov[i][i], fit->variance[i]);
  }
  fit->chi2 = hd_select(which, chi2, fit->chi2);
}

}  // namespace detail

template <class T>
GPUKIT_HOST_DEVICE inline T track_curvature_constant(const TrackConfig<T>& cfg) {
  return T(-0.00299792458) * cfg.bfield_t;
}

// Propagates a state from the cylinder r1 to the cylinder r2; `jac` (row = out,
// column = in, order Phi z phi t kappa) receives d(out)/d(in) when not null.
// False in the lanes without an intersection (their outputs are meaningless).
template <class T>
GPUKIT_HOST_DEVICE inline LaneMask<T> helix_propagate(const T in[5], T r1, T r2, T c_b, T out[5], T (*jac)[5]) {
  using namespace detail;
  const T x0 = r1 * cos(in[0]), y0 = r1 * sin(in[0]);
  const T phi = in[2], t = in[3], kap = in[4];
  const T k = c_b * kap;
  T s = T(0);  // set where ok
  const LaneMask<T> ok = helix_path_to_radius(x0, y0, phi, k, r2, s);
  if (!hd_any(ok)) return ok;
  const T a = k * s;
  const T c = s * sinc(a / T(2));
  const T x1 = x0 + c * cos(phi + a / T(2)), y1 = y0 + c * sin(phi + a / T(2));
  out[0] = atan2(y1, x1);
  out[1] = in[1] + t * s;
  out[2] = wrap_angle(phi + a);
  out[3] = t;
  out[4] = kap;
  if (!jac) return ok;

  // s is fixed implicitly by x1^2 + y1^2 = r2^2: ds/dp = -(dG/dp)/(dG/ds).
  const T ca = cos(phi + a), sa = sin(phi + a);
  const T gs = x1 * ca + y1 * sa;
  const T cphi = cos(phi), sphi = sin(phi);
  const T f1 = helix_f1(a), f2 = helix_f2(a);
  // Partial derivatives of (x1, y1) at fixed s, for Phi, phi, kappa.
  const T dx[3] = {-y0, -(y1 - y0), c_b * s * s * (cphi * f1 + sphi * f2)};
  const T dy[3] = {x0, x1 - x0, c_b * s * s * (sphi * f1 - cphi * f2)};
  T ds[3], dphi_pos[3];
  for (int i = 0; i < 3; ++i) {
    ds[i] = -(x1 * dx[i] + y1 * dy[i]) / gs;
    const T tx = dx[i] + ca * ds[i], ty = dy[i] + sa * ds[i];
    dphi_pos[i] = (x1 * ty - y1 * tx) / (r2 * r2);
  }
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) jac[i][j] = T(0);
  jac[0][0] = dphi_pos[0];
  jac[0][2] = dphi_pos[1];
  jac[0][4] = dphi_pos[2];
  jac[1][0] = t * ds[0];
  jac[1][1] = T(1);
  jac[1][2] = t * ds[1];
  jac[1][3] = s;
  jac[1][4] = t * ds[2];
  jac[2][0] = k * ds[0];
  jac[2][2] = T(1) + k * ds[1];
  jac[2][4] = k * ds[2] + c_b * s;
  jac[3][3] = T(1);
  jac[4][4] = T(1);
  return ok;
}

// Simulates track `index`: a muon from the beam spot through every layer, with
// multiple scattering after each measurement and Gaussian hit smearing. Returns
// false, and leaves truth->complete 0, when the track does not reach every
// layer (not with sane configs).
template <class T>
GPUKIT_HOST_DEVICE inline bool track_generate(const TrackConfig<T>& cfg, uint64_t seed, uint64_t index,
                                              TrackHits<T>* hits, TrackTruth<T>* truth) {
  using namespace detail;
  truth->complete = 0;
  PhiloxStream rng(seed, index, 2);
  const T inv_min = T(1) / cfg.pt_max_gev, inv_max = T(1) / cfg.pt_min_gev;
  const T inv_pt = inv_min + (inv_max - inv_min) * rng.uniform<T>();
  const T q = rng.uniform<T>() < T(0.5) ? T(-1) : T(1);
  T phi = pi<T>() * (T(2) * rng.uniform<T>() - T(1));
  const T eta = cfg.eta_max * (T(2) * rng.uniform<T>() - T(1));
  T t = (exp(eta) - exp(-eta)) / T(2);
  T kap = q * inv_pt;
  T x = cfg.vertex_sigma_xy_cm * normal<T>(rng);
  T y = cfg.vertex_sigma_xy_cm * normal<T>(rng);
  T z = cfg.vertex_sigma_z_cm * normal<T>(rng);
  const T c_b = track_curvature_constant(cfg);
  for (int l = 0; l < cfg.layers; ++l) {
    const T r = cfg.radius_cm[l];
    const T k = c_b * kap;
    T s;
    if (!helix_path_to_radius(x, y, phi, k, r, s)) return false;
    const T a = k * s;
    const T c = s * sinc(a / T(2));
    x += c * cos(phi + a / T(2));
    y += c * sin(phi + a / T(2));
    z += t * s;
    phi = wrap_angle(phi + a);
    const T phi_pos = atan2(y, x);
    hits->rphi[l] = r * phi_pos + cfg.sigma_rphi_cm * normal<T>(rng);
    hits->z[l] = z + cfg.sigma_z_cm * normal<T>(rng);
    const T st[5] = {phi_pos, z, phi, t, kap};
    if (l + 1 == cfg.layers) {
      for (int i = 0; i < 5; ++i) truth->state[i] = st[i];
      truth->complete = 1;
      break;
    }
    // Scattering by independent angles d1 (in theta) and d2 (transverse to it),
    // momentum magnitude unchanged.
    const T theta0 = layer_theta0(cfg, st);
    const T d1 = theta0 * normal<T>(rng), d2 = theta0 * normal<T>(rng);
    const T theta = atan2(T(1), t);
    const T theta_new = theta + d1;
    phi = wrap_angle(phi + d2 / sin(theta));
    t = cos(theta_new) / sin(theta_new);
    kap = kap * sin(theta) / sin(theta_new);
    x = r * cos(phi_pos);
    y = r * sin(phi_pos);
  }
  return true;
}

// Forward Kalman filter over all layers. The seed comes from a circle through the
// first, middle and last hits and is given a covariance wide enough that the
// result is determined by the hits. WrongCovarianceUpdate is the test-only wrong
// variant: the measurement update leaves the covariance unchanged, which the pull
// widths and the chi2-probability flatness must catch.
//
// On a lane type every lane is a track. A track whose propagation fails keeps
// the estimate it had there (a scalar T leaves the loop at that point); the
// other lanes go on, and the loop ends early once no lane is left.
template <class T, bool WrongCovarianceUpdate = false>
GPUKIT_HOST_DEVICE inline void track_fit_lanes(const TrackConfig<T>& cfg, const TrackHits<T>& hits,
                                               TrackFitLanes<T>* fit) {
  using namespace detail;
  const int n = cfg.layers;
  const T c_b = track_curvature_constant(cfg);
  const T v0 = cfg.sigma_rphi_cm * cfg.sigma_rphi_cm, v1 = cfg.sigma_z_cm * cfg.sigma_z_cm;

  // ---- seed ----
  const int ids[3] = {0, n / 2, n - 1};
  T px[3], py[3], pz[3];
  for (int i = 0; i < 3; ++i) {
    const T r = cfg.radius_cm[ids[i]];
    const T ph = hits.rphi[ids[i]] / r;
    px[i] = r * cos(ph);
    py[i] = r * sin(ph);
    pz[i] = hits.z[ids[i]];
  }
  const T ax = px[1] - px[0], ay = py[1] - py[0], bx = px[2] - px[0], by = py[2] - py[0];
  const T c01 = sqrt(ax * ax + ay * ay), c02 = sqrt(bx * bx + by * by);
  const T c12 = sqrt((px[2] - px[1]) * (px[2] - px[1]) + (py[2] - py[1]) * (py[2] - py[1]));
  const T k = T(2) * (ax * by - ay * bx) / (c01 * c02 * c12);
  const T half01 = asin(hd_max(T(-1), hd_min(T(1), k * c01 / T(2))));
  const T half02 = asin(hd_max(T(-1), hd_min(T(1), k * c02 / T(2))));
  const T arc02 = hd_select(hd_abs(k) * c02 > T(1e-4), T(2) * half02 / k, c02);
  T st[5] = {hits.rphi[0] / cfg.radius_cm[0], hits.z[0], wrap_angle(atan2(ay, ax) - half01),
             (pz[2] - pz[0]) / arc02, k / c_b};
  T cov[5][5] = {};
  const T r0 = cfg.radius_cm[0];
  cov[0][0] = T(1e4) * v0 / (r0 * r0);
  cov[1][1] = T(1e4) * v1;
  cov[2][2] = T(4e-4);
  cov[3][3] = T(4e-4) * (T(1) + st[3] * st[3]) * (T(1) + st[3] * st[3]);
  const T sk = T(0.05) + T(0.1) * hd_abs(st[4]);
  cov[4][4] = sk * sk;

  T chi2 = T(0);
  LaneMask<T> alive = hd_all_lanes<T>();
  for (int i = 0; i < 5; ++i) fit->state[i] = fit->variance[i] = T(0);
  fit->chi2 = T(0);
  for (int l = 0; l < n; ++l) {
    const T r = cfg.radius_cm[l];
    if (l > 0) {
      T next[5], jac[5][5];
      const LaneMask<T> ok = helix_propagate(st, cfg.radius_cm[l - 1], r, c_b, next, jac);
      if (!hd_all(ok)) {
        detail::store_fit(alive && !ok, st, cov, chi2, fit);
        alive = alive && ok;
        if (!hd_any(alive)) break;
      }
      T tmp[5][5];
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) {
          T acc = T(0);
          for (int m = 0; m < 5; ++m) acc += jac[i][m] * cov[m][j];
          tmp[i][j] = acc;
        }
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j <= i; ++j) {
          T acc = T(0);
          for (int m = 0; m < 5; ++m) acc += tmp[i][m] * jac[j][m];
          cov[i][j] = acc;
          cov[j][i] = acc;
        }
      for (int i = 0; i < 5; ++i) st[i] = next[i];
    }

    // ---- measurement update ----
    const T res0 = r * wrap_angle(hits.rphi[l] / r - st[0]);
    const T res1 = hits.z[l] - st[1];
    const T s00 = r * r * cov[0][0] + v0, s01 = r * cov[0][1], s11 = cov[1][1] + v1;
    const T det = s00 * s11 - s01 * s01;
    const T i00 = s11 / det, i01 = -s01 / det, i11 = s00 / det;
    chi2 += res0 * (i00 * res0 + i01 * res1) + res1 * (i01 * res0 + i11 * res1);
    T gain[5][2], hc0[5], hc1[5];
    for (int i = 0; i < 5; ++i) {
      const T ch0 = r * cov[i][0], ch1 = cov[i][1];  // (C H^T) row i
      gain[i][0] = ch0 * i00 + ch1 * i01;
      gain[i][1] = ch0 * i01 + ch1 * i11;
      hc0[i] = r * cov[0][i];
      hc1[i] = cov[1][i];
    }
    for (int i = 0; i < 5; ++i) st[i] += gain[i][0] * res0 + gain[i][1] * res1;
    st[0] = wrap_angle(st[0]);
    st[2] = wrap_angle(st[2]);
    if (!WrongCovarianceUpdate) {
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j <= i; ++j) {
          const T v = cov[i][j] - (gain[i][0] * hc0[j] + gain[i][1] * hc1[j]);
          cov[i][j] = v;
          cov[j][i] = v;
        }
    }

    // ---- material of this layer, crossed after the measurement ----
    if (l + 1 < n) {
      const T theta0 = layer_theta0(cfg, st);
      const T t = st[3], kap = st[4];
      const T one_t2 = T(1) + t * t;
      const T v = theta0 * theta0;
      cov[2][2] += v * one_t2;
      cov[3][3] += v * one_t2 * one_t2;
      cov[4][4] += v * kap * kap * t * t;
      cov[3][4] += v * one_t2 * kap * t;
      cov[4][3] = cov[3][4];
    }
  }
  detail::store_fit(alive, st, cov, chi2, fit);
  fit->ok = alive;
}

// One track (T float or double; on the GPUs, one thread).
template <class T, bool WrongCovarianceUpdate = false>
GPUKIT_HOST_DEVICE inline void track_fit(const TrackConfig<T>& cfg, const TrackHits<T>& hits, TrackFit<T>* fit) {
  TrackFitLanes<T> lanes;
  track_fit_lanes<T, WrongCovarianceUpdate>(cfg, hits, &lanes);
  for (int i = 0; i < 5; ++i) {
    fit->state[i] = lanes.state[i];
    fit->variance[i] = lanes.variance[i];
  }
  fit->chi2 = lanes.chi2;
  fit->ndf = 2 * cfg.layers - 5;
  fit->status = lanes.ok ? 0 : 1;
}

}  // namespace gpukit::hep
