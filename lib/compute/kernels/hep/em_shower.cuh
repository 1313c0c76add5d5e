// Electromagnetic showers in a layered sampling calorimeter (the AdePT/Celeritas
// kind of work: per-particle stepping with divergent branches, random numbers at
// every step, secondaries on a stack). One thread transports one primary and all
// of its descendants with a fixed-size per-thread stack.
//
// Geometry: `layers` cells along z, each an absorber slab followed by a
// scintillator slab, infinite in x and y; the primary enters at z = 0 along +z.
// Physics (units MeV, cm), deliberately simplified but with the right scales:
// - photons: Compton scattering (Klein-Nishina total cross section per electron,
//   Butcher-Messel sampling as in Geant4's G4KleinNishinaCompton), photoelectric
//   absorption (power law in E, local deposit, no edges), pair production
//   (7/(9 X0) at high energy times Heitler's unscreened/Racah's threshold shape);
// - e-/e+: continuous loss (collision stopping power at minimum ionisation plus
//   bremsstrahlung below the production cut), discrete bremsstrahlung above the
//   cut (complete-screening spectrum, PDG "Passage of particles through matter"),
//   multiple scattering as one Gaussian deflection per step (Highland width),
//   positron annihilation at rest into two 511 keV photons;
// - cuts: photons and electrons below their cut deposit their energy locally.
#pragma once

#include "compute/kernels/hep/host_device.cuh"
#include "compute/kernels/hep/philox.cuh"

namespace gpukit::hep {

inline constexpr double electron_mass_mev = 0.51099895;   // CODATA 2018
inline constexpr double classical_radius_cm = 2.8179403262e-13;

template <class T>
struct ShowerMaterial {
  T x0_cm;               // radiation length
  T compton_per_cm;      // 2 pi r_e^2 n_e: Klein-Nishina attenuation is this times the bracket
  T photo_per_cm_100kev; // photoelectric attenuation at 100 keV
  T dedx_mev_per_cm;     // collision stopping power (minimum ionisation)
  T screening_log;       // ln(183 Z^-1/3): complete-screening pair/brems log
};

template <class T>
struct ShowerConfig {
  int layers;               // cells along z (at most shower_max_layers)
  T absorber_cm, scintillator_cm;
  ShowerMaterial<T> material[2];  // 0 absorber, 1 scintillator
  T primary_mev;            // kinetic energy of the primary
  int primary_type;         // 0 photon, -1 electron, +1 positron
  T gamma_cut_mev, electron_cut_mev, brems_cut_mev;
};

inline constexpr int shower_max_layers = 128;
inline constexpr int shower_stack_size = 128;

// The integer fields' type: int, or on the CPU's SIMD lanes a lane type of
// the working precision holding integer values (simd.hpp masks then select
// particles' regions and types like their energies).
template <class T>
struct ShowerIndexOf {
  using type = int;
};
template <class T>
using ShowerIndex = typename ShowerIndexOf<T>::type;

template <class T>
struct ShowerParticle {
  T z, ux, uy, uz, energy;  // energy: kinetic
  ShowerIndex<T> region;    // 2 * layer + (0 absorber, 1 scintillator)
  ShowerIndex<T> type;      // 0 photon, -1 electron, +1 positron
};

// Per-event totals; the per-layer deposits go to a separate row.
template <class T>
struct ShowerTally {
  T escaped_mev;       // kinetic energy leaving the calorimeter (+ 2 m_e per positron)
  uint32_t steps;      // transport steps of all particles
  uint32_t secondaries;
  uint32_t overflows;  // secondaries deposited in place because the stack was full
};

namespace detail {

template <class T>
GPUKIT_HOST_DEVICE inline T me_mev() { return T(electron_mass_mev); }

// Klein-Nishina cross section per electron divided by 2 pi r_e^2; k = E / m_e.
template <class T>
GPUKIT_HOST_DEVICE inline T klein_nishina_bracket(T k) {
  const T a = T(1) + T(2) * k;
  const T l = log(a);
  return (T(1) + k) / (k * k) * (T(2) * (T(1) + k) / a - l / k) + l / (T(2) * k) - (T(1) + T(3) * k) / (a * a);
}

// Pair-production attenuation relative to its complete-screening limit 7/(9 X0).
template <class T>
GPUKIT_HOST_DEVICE inline T pair_fraction(T k, T screening_log) {
  const T unscreened = T(28.0 / 9.0) * log(T(2) * k) - T(218.0 / 27.0);
  const T r = (k - T(2)) / k;
  const T threshold = T(2.0 / 3.0) * pi<T>() * r * r * r;
  const T limit = T(28.0 / 9.0) * screening_log - T(2.0 / 27.0);
  return hd_select(k <= T(2), T(0), hd_min(T(1), hd_max(unscreened, threshold) / limit));
}

// Bremsstrahlung photons above `cut` per unit length (PDG complete screening).
template <class T>
GPUKIT_HOST_DEVICE inline T brems_rate(T e, T cut, T x0) {
  const T y = cut / e;
  const T rate = (T(4.0 / 3.0) * log(T(1) / y) - T(4.0 / 3.0) * (T(1) - y) + T(0.5) * (T(1) - y * y)) / x0;
  return hd_select(e <= cut, T(0), rate);
}

// Energy radiated below `cut` per unit length, deposited as continuous loss.
template <class T>
GPUKIT_HOST_DEVICE inline T soft_brems_loss(T e, T cut, T x0) {
  const T k = hd_min(e, cut);
  return (T(4.0 / 3.0) * k - T(2.0 / 3.0) * k * k / e + k * k * k / (T(3) * e * e)) / x0;
}

// Direction d given in the frame whose z axis is u, expressed in the lab frame
// (the rotateUz of CLHEP), then renormalised so rounding does not accumulate.
template <class T>
GPUKIT_HOST_DEVICE inline void rotate_to(T& ux, T& uy, T& uz, T sin_t, T cos_t, T phi) {
  const T px = sin_t * cos(phi), py = sin_t * sin(phi), pz = cos_t;
  const T up2 = ux * ux + uy * uy;
  const T up = sqrt(up2);
  // Along the z axis (up2 = 0) the frame is the lab's, mirrored when u is -z.
  const auto tilted = up2 > T(0);
  const auto forward = uz > T(0);
  const T x = hd_select(tilted, (ux * uz * px - uy * py) / up + ux * pz, hd_select(forward, px, -px));
  const T y = hd_select(tilted, (uy * uz * px + ux * py) / up + uy * pz, py);
  const T z = hd_select(tilted, -up * px + uz * pz, hd_select(forward, pz, -pz));
  const T n = T(1) / sqrt(x * x + y * y + z * z);
  ux = x * n, uy = y * n, uz = z * n;
}

template <class T>
struct ShowerStack {
  ShowerParticle<T> items[shower_stack_size];
  int size = 0;
};

// ---- One transport step, single-source for one particle and for SIMD lanes ----
// T is float/double (one particle: masks are bool, the GPU's and the scalar
// CPU path) or a lane type (one particle per lane, each lane an event of its
// own: masks select the lanes a branch applies to). Every draw, deposit and
// push goes through the context with the mask of the lanes it belongs to, so
// that each lane consumes its event's random stream in the scalar order.
// `active` lanes take a step; the result is the mask of those whose particle
// is still alive (the others pop their stack next).

GPUKIT_HOST_DEVICE inline int region_layer(int region) { return region >> 1; }
GPUKIT_HOST_DEVICE inline bool region_odd(int region) { return (region & 1) != 0; }

template <class T, class S>
GPUKIT_HOST_DEVICE inline ShowerMaterial<T> material_of(const ShowerConfig<S>& cfg, LaneMask<T> scintillator) {
  const ShowerMaterial<S>& a = cfg.material[0];
  const ShowerMaterial<S>& b = cfg.material[1];
  return ShowerMaterial<T>{hd_select(scintillator, T(b.x0_cm), T(a.x0_cm)),
                           hd_select(scintillator, T(b.compton_per_cm), T(a.compton_per_cm)),
                           hd_select(scintillator, T(b.photo_per_cm_100kev), T(a.photo_per_cm_100kev)),
                           hd_select(scintillator, T(b.dedx_mev_per_cm), T(a.dedx_mev_per_cm)),
                           hd_select(scintillator, T(b.screening_log), T(a.screening_log))};
}

// The current region's bounds along z.
template <class T, class S>
GPUKIT_HOST_DEVICE inline void region_bounds(const ShowerConfig<S>& cfg, const ShowerParticle<T>& q, T* lo, T* hi) {
  const T pitch = T(cfg.absorber_cm + cfg.scintillator_cm);
  const auto odd = region_odd(q.region);
  *lo = T(region_layer(q.region)) * pitch + hd_select(odd, T(cfg.absorber_cm), T(0));
  *hi = *lo + hd_select(odd, T(cfg.scintillator_cm), T(cfg.absorber_cm));
}

// Distance along the direction to the current region's boundary.
template <class T, class S>
GPUKIT_HOST_DEVICE inline T boundary_distance(const ShowerConfig<S>& cfg, const ShowerParticle<T>& q) {
  T lo, hi;
  region_bounds(cfg, q, &lo, &hi);
  return hd_select(q.uz > T(0), hd_max(T(0), (hi - q.z) / q.uz),
                   hd_select(q.uz < T(0), hd_max(T(0), (lo - q.z) / q.uz), T(1e30)));
}

// Moves the lanes `on` onto the boundary they reached; true in the lanes still
// inside the calorimeter.
template <class T, class S>
GPUKIT_HOST_DEVICE inline LaneMask<T> cross(const ShowerConfig<S>& cfg, ShowerParticle<T>& q, LaneMask<T> on) {
  using I = ShowerIndex<T>;
  T lo, hi;
  region_bounds(cfg, q, &lo, &hi);
  const auto up = q.uz > T(0);
  q.z = hd_select(on, hd_select(up, hi, lo), q.z);
  q.region = hd_select(on, q.region + hd_select(up, I(1), I(-1)), q.region);
  return q.region >= I(0) && q.region < I(2 * cfg.layers);
}

template <class T, class Ctx>
GPUKIT_HOST_DEVICE inline void annihilate(Ctx& ctx, const ShowerParticle<T>& q, LaneMask<T> on) {
  using I = ShowerIndex<T>;
  const T cos_t = T(2) * ctx.uniform(on) - T(1);
  const T sin_t = sqrt(hd_max(T(0), (T(1) - cos_t) * (T(1) + cos_t)));
  const T phi = T(2) * pi<T>() * ctx.uniform(on);
  const T ux = sin_t * cos(phi), uy = sin_t * sin(phi);
  ctx.push(on, ShowerParticle<T>{q.z, ux, uy, cos_t, me_mev<T>(), q.region, I(0)});
  ctx.push(on, ShowerParticle<T>{q.z, -ux, -uy, -cos_t, me_mev<T>(), q.region, I(0)});
}

// Compton scattering in the lanes `on`: Butcher-Messel sampling of eps = E'/E,
// the scattered photon continues, the electron is pushed or deposited.
template <class T, class S, class Ctx>
GPUKIT_HOST_DEVICE inline void compton(const ShowerConfig<S>& cfg, Ctx& ctx, ShowerParticle<T>& p, T k,
                                       LaneMask<T> on) {
  using I = ShowerIndex<T>;
  using M = LaneMask<T>;
  const T eps0 = T(1) / (T(1) + T(2) * k);
  const T eps0sq = eps0 * eps0;
  const T alpha1 = -log(eps0);
  const T alpha2 = T(0.5) * (T(1) - eps0sq);
  T eps(0), epssq(0), onecost(0), sint2(0);
  M pending = on;
  do {
    const M first = pending && (alpha1 / (alpha1 + alpha2) > ctx.uniform(pending));
    const M second = pending && !first;
    if (hd_any(first)) {
      const T e = exp(-alpha1 * ctx.uniform(first));
      eps = hd_select(first, e, eps);
      epssq = hd_select(first, e * e, epssq);
    }
    if (hd_any(second)) {
      const T e2 = eps0sq + (T(1) - eps0sq) * ctx.uniform(second);
      epssq = hd_select(second, e2, epssq);
      eps = hd_select(second, sqrt(e2), eps);
    }
    onecost = hd_select(pending, (T(1) - eps) / (eps * k), onecost);
    sint2 = hd_select(pending, onecost * (T(2) - onecost), sint2);
    const T greject = T(1) - eps * sint2 / (T(1) + epssq);
    pending = pending && (greject < ctx.uniform(pending));
  } while (hd_any(pending));
  const T e0 = p.energy, e1 = eps * e0;
  T ux = p.ux, uy = p.uy, uz = p.uz;
  rotate_to(ux, uy, uz, sqrt(hd_max(T(0), sint2)), T(1) - onecost, T(2) * pi<T>() * ctx.uniform(on));
  const T te = e0 - e1;
  // Electron direction from momentum conservation.
  const T ex = e0 * p.ux - e1 * ux, ey = e0 * p.uy - e1 * uy, ez = e0 * p.uz - e1 * uz;
  const T en = sqrt(ex * ex + ey * ey + ez * ez);
  p.ux = hd_select(on, ux, p.ux);
  p.uy = hd_select(on, uy, p.uy);
  p.uz = hd_select(on, uz, p.uz);
  p.energy = hd_select(on, e1, p.energy);
  const M emit = on && te > T(cfg.electron_cut_mev) && en > T(0);
  ctx.push(emit, ShowerParticle<T>{p.z, ex / en, ey / en, ez / en, te, p.region, I(-1)});
  ctx.deposit(on && !emit, p.region, te);
}

// Pair production in the lanes `on`: eps = fraction of the photon energy taken
// by the electron, complete-screening Bethe-Heitler shape 1 - 4/3 eps (1 - eps).
template <class T, class S, class Ctx>
GPUKIT_HOST_DEVICE inline void pair(const ShowerConfig<S>&, Ctx& ctx, const ShowerParticle<T>& p, LaneMask<T> on) {
  using I = ShowerIndex<T>;
  const T m = me_mev<T>();
  const T eps0 = m / p.energy;
  T eps(0);
  LaneMask<T> pending = on;
  do {
    eps = hd_select(pending, eps0 + (T(1) - T(2) * eps0) * ctx.uniform(pending), eps);
    pending = pending && (ctx.uniform(pending) > T(1) - T(4.0 / 3.0) * eps * (T(1) - eps));
  } while (hd_any(pending));
  const T te = hd_max(T(0), eps * p.energy - m);
  const T tp = hd_max(T(0), p.energy - te - T(2) * m);
  ctx.push(on, ShowerParticle<T>{p.z, p.ux, p.uy, p.uz, te, p.region, I(-1)});
  ctx.push(on, ShowerParticle<T>{p.z, p.ux, p.uy, p.uz, tp, p.region, I(1)});
}

// A photon step in the lanes `on`; returns the lanes whose photon ended.
template <bool DropPhotoDeposit, class T, class S, class Ctx>
GPUKIT_HOST_DEVICE inline LaneMask<T> photon_step(const ShowerConfig<S>& cfg, Ctx& ctx, ShowerParticle<T>& p,
                                                    const ShowerMaterial<T>& mat, LaneMask<T> on) {
  using M = LaneMask<T>;
  const M below = on && p.energy <= T(cfg.gamma_cut_mev);
  ctx.deposit(below, p.region, p.energy);
  M ended = below;
  const M go = on && !below;
  if (!hd_any(go)) return ended;
  const T k = p.energy / me_mev<T>();
  const T mu_c = mat.compton_per_cm * klein_nishina_bracket(k);
  const T mu_p = mat.photo_per_cm_100kev * exp(T(-2.5) * log(p.energy / T(0.1)));
  const T mu_pair = T(7.0 / 9.0) / mat.x0_cm * pair_fraction(k, mat.screening_log);
  const T mu = mu_c + mu_p + mu_pair;
  const T s = -log(ctx.uniform(go)) / mu;
  const T d = boundary_distance(cfg, p);
  const M crossing = go && (s >= d);
  if (hd_any(crossing)) {
    const M left = crossing && !cross(cfg, p, crossing);
    ctx.escape(left, p.energy);
    ended = ended || left;
  }
  const M interact = go && !crossing;
  if (!hd_any(interact)) return ended;
  p.z = hd_select(interact, p.z + s * p.uz, p.z);
  const T r = ctx.uniform(interact) * mu;
  const M photo = interact && (r < mu_p);
  if (!DropPhotoDeposit) ctx.deposit(photo, p.region, p.energy);
  const M rest = interact && !photo;
  const M scatter = rest && (r < mu_p + mu_c);
  const M convert = rest && !scatter;
  if (hd_any(scatter)) compton(cfg, ctx, p, k, scatter);
  if (hd_any(convert)) pair(cfg, ctx, p, convert);
  return ended || photo || convert;
}

// An electron or positron step in the lanes `on`; returns the lanes whose
// particle ended.
template <class T, class S, class Ctx>
GPUKIT_HOST_DEVICE inline LaneMask<T> charged_step(const ShowerConfig<S>& cfg, Ctx& ctx, ShowerParticle<T>& p,
                                                     const ShowerMaterial<T>& mat, LaneMask<T> on) {
  using I = ShowerIndex<T>;
  using M = LaneMask<T>;
  const T m = me_mev<T>();
  const T e_cut = T(cfg.electron_cut_mev), b_cut = T(cfg.brems_cut_mev);
  const M below = on && p.energy <= e_cut;
  ctx.deposit(below, p.region, p.energy);
  const M below_positron = below && (p.type > I(0));
  if (hd_any(below_positron)) annihilate(ctx, p, below_positron);
  M ended = below;
  const M go = on && !below;
  if (!hd_any(go)) return ended;
  const T dedx = mat.dedx_mev_per_cm + soft_brems_loss(p.energy, b_cut, mat.x0_cm);
  const T rate = brems_rate(p.energy, b_cut, mat.x0_cm);
  const M radiates = go && (rate > T(0));
  T s_brems = T(1e30);
  if (hd_any(radiates)) s_brems = hd_select(radiates, -log(ctx.uniform(radiates)) / rate, s_brems);
  const T range = p.energy / dedx;
  const T s_limit = hd_max(T(0.2) * range, T(1e-3));
  const T d = boundary_distance(cfg, p);
  // Which limit ends the step (the last one shorter than those before it):
  // bremsstrahlung, the boundary, the energy-loss step or the range.
  T s = s_brems;
  M by_boundary = d < s;
  s = hd_select(by_boundary, d, s);
  M by_limit = s_limit < s;
  s = hd_select(by_limit, s_limit, s);
  const M by_range = range <= s;
  s = hd_select(by_range, range, s);
  by_limit = by_limit && !by_range;
  by_boundary = by_boundary && !by_limit && !by_range;
  const M by_brems = !by_boundary && !by_limit && !by_range;
  const T e_before = p.energy;
  const T loss = hd_min(p.energy, dedx * s);
  ctx.deposit(go, p.region, loss);
  p.energy = hd_select(go, p.energy - loss, p.energy);
  const M crossing = go && by_boundary;
  M left = hd_no_lanes<T>();
  if (hd_any(crossing)) {
    left = crossing && !cross(cfg, p, crossing);
    ctx.escape(left, p.energy + hd_select(p.type > I(0), T(2) * m, T(0)));
  }
  p.z = hd_select(go && !by_boundary, p.z + s * p.uz, p.z);
  const M stays = go && !left;
  const M stops = stays && (by_range || p.energy <= e_cut);
  ctx.deposit(stops, p.region, p.energy);
  const M stops_positron = stops && (p.type > I(0));
  if (hd_any(stops_positron)) annihilate(ctx, p, stops_positron);
  ended = ended || left || stops;
  const M scatters = stays && !stops;
  if (!hd_any(scatters)) return ended;
  // Multiple scattering over the step (Highland width, unit charge).
  const T pmom = sqrt(e_before * (e_before + T(2) * m));
  const T beta = pmom / (e_before + m);
  const T x = s / mat.x0_cm;
  const T theta0 = hd_max(T(0), T(13.6) / (beta * pmom) * sqrt(x) * (T(1) + T(0.038) * log(x / (beta * beta))));
  const T theta = hd_min(pi<T>(), theta0 * sqrt(T(-2) * log(ctx.uniform(scatters))));
  T ux = p.ux, uy = p.uy, uz = p.uz;
  rotate_to(ux, uy, uz, sin(theta), cos(theta), T(2) * pi<T>() * ctx.uniform(scatters));
  p.ux = hd_select(scatters, ux, p.ux);
  p.uy = hd_select(scatters, uy, p.uy);
  p.uz = hd_select(scatters, uz, p.uz);
  // y = k/E from (4/3 - 4/3 y + y^2)/y on [cut/E, 1]: 1/y sampled, the rest rejected.
  const T ymin = b_cut / p.energy;
  const M emits = scatters && by_brems && (ymin < T(1));
  if (!hd_any(emits)) return ended;
  const T log_ymin = log(ymin);
  T y(0);
  M pending = emits;
  do {
    y = hd_select(pending, exp(log_ymin * ctx.uniform(pending)), y);
    pending = pending && (ctx.uniform(pending) > T(1) - y + T(0.75) * y * y);
  } while (hd_any(pending));
  const T kphoton = y * p.energy;
  p.energy = hd_select(emits, p.energy - kphoton, p.energy);
  ctx.push(emits, ShowerParticle<T>{p.z, p.ux, p.uy, p.uz, kphoton, p.region, I(0)});
  return ended;
}

template <bool DropPhotoDeposit, class T, class S, class Ctx>
GPUKIT_HOST_DEVICE inline LaneMask<T> shower_step(const ShowerConfig<S>& cfg, Ctx& ctx, ShowerParticle<T>& p,
                                                    LaneMask<T> active) {
  using I = ShowerIndex<T>;
  using M = LaneMask<T>;
  ctx.count_step(active);
  const ShowerMaterial<T> mat = material_of<T>(cfg, region_odd(p.region));
  const M photon = active && (p.type == I(0));
  const M charged = active && !photon;
  M ended = hd_no_lanes<T>();
  if (hd_any(photon)) ended = photon_step<DropPhotoDeposit>(cfg, ctx, p, mat, photon);
  if (hd_any(charged)) ended = ended || charged_step(cfg, ctx, p, mat, charged);
  return active && !ended;
}

// One event's side effects: its random stream, stack, deposits and totals.
template <class T>
struct ShowerEventContext {
  T* layer_deposit;
  PhiloxStream rng;
  ShowerStack<T> stack;
  ShowerTally<T> t{T(0), 0u, 0u, 0u};

  // The stack's items are left uninitialised, as a local array would be.
  GPUKIT_HOST_DEVICE ShowerEventContext(T* deposit_row, uint64_t seed, uint64_t event)
      : layer_deposit(deposit_row), rng(seed, event, 1) {}

  GPUKIT_HOST_DEVICE T uniform(bool) { return rng.uniform<T>(); }
  GPUKIT_HOST_DEVICE void deposit(bool on, int region, T e) {
    if (on) layer_deposit[region >> 1] += e;
  }
  GPUKIT_HOST_DEVICE void push(bool on, const ShowerParticle<T>& q) {
    if (!on) return;
    ++t.secondaries;
    if (stack.size < shower_stack_size) {
      stack.items[stack.size++] = q;
    } else {
      ++t.overflows;
      layer_deposit[q.region >> 1] += q.energy + (q.type > 0 ? T(2) * me_mev<T>() : T(0));
    }
  }
  GPUKIT_HOST_DEVICE void escape(bool on, T e) {
    if (on) t.escaped_mev += e;
  }
  GPUKIT_HOST_DEVICE void count_step(bool on) {
    if (on) ++t.steps;
  }
};

}  // namespace detail

// Transports primary `event` and its descendants. `layer_deposit` (config.layers
// entries) receives the energy deposited per cell. DropPhotoDeposit is the
// test-only wrong variant: photoelectric absorptions lose their energy, which the
// per-event energy-conservation check must catch.
template <class T, bool DropPhotoDeposit = false>
GPUKIT_HOST_DEVICE inline void shower_event(const ShowerConfig<T>& cfg, uint64_t seed, uint64_t event,
                                            T* layer_deposit, ShowerTally<T>* tally) {
  for (int l = 0; l < cfg.layers; ++l) layer_deposit[l] = T(0);
  detail::ShowerEventContext<T> ctx(layer_deposit, seed, event);
  ShowerParticle<T> p{T(0), T(0), T(0), T(1), cfg.primary_mev, 0, cfg.primary_type};
  for (;;) {
    while (detail::shower_step<DropPhotoDeposit>(cfg, ctx, p, true)) {
    }
    if (ctx.stack.size == 0) break;
    p = ctx.stack.items[--ctx.stack.size];
  }
  *tally = ctx.t;
}

}  // namespace gpukit::hep
