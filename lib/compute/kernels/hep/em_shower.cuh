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

template <class T>
struct ShowerParticle {
  T z, ux, uy, uz, energy;  // energy: kinetic
  int region;               // 2 * layer + (0 absorber, 1 scintillator)
  int type;                 // 0 photon, -1 electron, +1 positron
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
  if (k <= T(2)) return T(0);
  const T unscreened = T(28.0 / 9.0) * log(T(2) * k) - T(218.0 / 27.0);
  const T r = (k - T(2)) / k;
  const T threshold = T(2.0 / 3.0) * pi<T>() * r * r * r;
  const T limit = T(28.0 / 9.0) * screening_log - T(2.0 / 27.0);
  return hd_min(T(1), hd_max(unscreened, threshold) / limit);
}

// Bremsstrahlung photons above `cut` per unit length (PDG complete screening).
template <class T>
GPUKIT_HOST_DEVICE inline T brems_rate(T e, T cut, T x0) {
  if (e <= cut) return T(0);
  const T y = cut / e;
  return (T(4.0 / 3.0) * log(T(1) / y) - T(4.0 / 3.0) * (T(1) - y) + T(0.5) * (T(1) - y * y)) / x0;
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
  T x, y, z;
  if (up2 > T(0)) {
    const T up = sqrt(up2);
    x = (ux * uz * px - uy * py) / up + ux * pz;
    y = (uy * uz * px + ux * py) / up + uy * pz;
    z = -up * px + uz * pz;
  } else if (uz > T(0)) {
    x = px, y = py, z = pz;
  } else {
    x = -px, y = py, z = -pz;
  }
  const T n = T(1) / sqrt(x * x + y * y + z * z);
  ux = x * n, uy = y * n, uz = z * n;
}

template <class T>
struct ShowerStack {
  ShowerParticle<T> items[shower_stack_size];
  int size = 0;
};

}  // namespace detail

// Transports primary `event` and its descendants. `layer_deposit` (config.layers
// entries) receives the energy deposited per cell. DropPhotoDeposit is the
// test-only wrong variant: photoelectric absorptions lose their energy, which the
// per-event energy-conservation check must catch.
template <class T, bool DropPhotoDeposit = false>
GPUKIT_HOST_DEVICE inline void shower_event(const ShowerConfig<T>& cfg, uint64_t seed, uint64_t event,
                                            T* layer_deposit, ShowerTally<T>* tally) {
  using namespace detail;
  const T m = me_mev<T>();
  const T pitch = cfg.absorber_cm + cfg.scintillator_cm;
  const int regions = 2 * cfg.layers;
  for (int l = 0; l < cfg.layers; ++l) layer_deposit[l] = T(0);
  ShowerTally<T> t{T(0), 0u, 0u, 0u};

  PhiloxStream rng(seed, event, 1);
  ShowerStack<T> stack;
  ShowerParticle<T> p{T(0), T(0), T(0), T(1), cfg.primary_mev, 0, cfg.primary_type};

  auto deposit = [&](int region, T e) { layer_deposit[region >> 1] += e; };
  auto push = [&](const ShowerParticle<T>& q) {
    ++t.secondaries;
    if (stack.size < shower_stack_size) {
      stack.items[stack.size++] = q;
    } else {
      ++t.overflows;
      layer_deposit[q.region >> 1] += q.energy + (q.type > 0 ? T(2) * m : T(0));
    }
  };
  // Distance along the direction to the current region's boundary.
  auto boundary_distance = [&](const ShowerParticle<T>& q) {
    const T lo = T(q.region >> 1) * pitch + ((q.region & 1) ? cfg.absorber_cm : T(0));
    const T hi = lo + ((q.region & 1) ? cfg.scintillator_cm : cfg.absorber_cm);
    if (q.uz > T(0)) return hd_max(T(0), (hi - q.z) / q.uz);
    if (q.uz < T(0)) return hd_max(T(0), (lo - q.z) / q.uz);
    return T(1e30);
  };
  // Moves q onto the boundary it reached; false when it left the calorimeter.
  auto cross = [&](ShowerParticle<T>& q) {
    const T lo = T(q.region >> 1) * pitch + ((q.region & 1) ? cfg.absorber_cm : T(0));
    const T hi = lo + ((q.region & 1) ? cfg.scintillator_cm : cfg.absorber_cm);
    q.z = q.uz > T(0) ? hi : lo;
    q.region += q.uz > T(0) ? 1 : -1;
    return q.region >= 0 && q.region < regions;
  };
  auto annihilate = [&](const ShowerParticle<T>& q) {
    const T cos_t = T(2) * rng.uniform<T>() - T(1);
    const T sin_t = sqrt(hd_max(T(0), (T(1) - cos_t) * (T(1) + cos_t)));
    const T phi = T(2) * pi<T>() * rng.uniform<T>();
    const T ux = sin_t * cos(phi), uy = sin_t * sin(phi);
    push(ShowerParticle<T>{q.z, ux, uy, cos_t, m, q.region, 0});
    push(ShowerParticle<T>{q.z, -ux, -uy, -cos_t, m, q.region, 0});
  };

  for (;;) {
    bool alive = true;
    while (alive) {
      ++t.steps;
      const ShowerMaterial<T>& mat = cfg.material[p.region & 1];
      if (p.type == 0) {
        // ---- photon ----
        if (p.energy <= cfg.gamma_cut_mev) {
          deposit(p.region, p.energy);
          break;
        }
        const T k = p.energy / m;
        const T mu_c = mat.compton_per_cm * klein_nishina_bracket(k);
        const T mu_p = mat.photo_per_cm_100kev * exp(T(-2.5) * log(p.energy / T(0.1)));
        const T mu_pair = T(7.0 / 9.0) / mat.x0_cm * pair_fraction(k, mat.screening_log);
        const T mu = mu_c + mu_p + mu_pair;
        const T s = -log(rng.uniform<T>()) / mu;
        const T d = boundary_distance(p);
        if (s >= d) {
          if (!cross(p)) {
            t.escaped_mev += p.energy;
            alive = false;
          }
          continue;
        }
        p.z += s * p.uz;
        const T r = rng.uniform<T>() * mu;
        if (r < mu_p) {
          if (!DropPhotoDeposit) deposit(p.region, p.energy);
          alive = false;
        } else if (r < mu_p + mu_c) {
          // Butcher-Messel sampling of eps = E'/E.
          const T eps0 = T(1) / (T(1) + T(2) * k);
          const T eps0sq = eps0 * eps0;
          const T alpha1 = -log(eps0);
          const T alpha2 = T(0.5) * (T(1) - eps0sq);
          T eps, epssq, onecost, sint2, greject;
          do {
            if (alpha1 / (alpha1 + alpha2) > rng.uniform<T>()) {
              eps = exp(-alpha1 * rng.uniform<T>());
              epssq = eps * eps;
            } else {
              epssq = eps0sq + (T(1) - eps0sq) * rng.uniform<T>();
              eps = sqrt(epssq);
            }
            onecost = (T(1) - eps) / (eps * k);
            sint2 = onecost * (T(2) - onecost);
            greject = T(1) - eps * sint2 / (T(1) + epssq);
          } while (greject < rng.uniform<T>());
          const T e0 = p.energy, e1 = eps * e0;
          const T ux0 = p.ux, uy0 = p.uy, uz0 = p.uz;
          rotate_to(p.ux, p.uy, p.uz, sqrt(hd_max(T(0), sint2)), T(1) - onecost, T(2) * pi<T>() * rng.uniform<T>());
          p.energy = e1;
          const T te = e0 - e1;
          // Electron direction from momentum conservation.
          T ex = e0 * ux0 - e1 * p.ux, ey = e0 * uy0 - e1 * p.uy, ez = e0 * uz0 - e1 * p.uz;
          const T en = sqrt(ex * ex + ey * ey + ez * ez);
          if (te > cfg.electron_cut_mev && en > T(0)) {
            push(ShowerParticle<T>{p.z, ex / en, ey / en, ez / en, te, p.region, -1});
          } else {
            deposit(p.region, te);
          }
        } else {
          // Pair: eps = fraction of the photon energy taken by the electron,
          // complete-screening Bethe-Heitler shape 1 - 4/3 eps (1 - eps).
          const T eps0 = m / p.energy;
          T eps;
          do {
            eps = eps0 + (T(1) - T(2) * eps0) * rng.uniform<T>();
          } while (rng.uniform<T>() > T(1) - T(4.0 / 3.0) * eps * (T(1) - eps));
          const T te = hd_max(T(0), eps * p.energy - m);
          const T tp = hd_max(T(0), p.energy - te - T(2) * m);
          push(ShowerParticle<T>{p.z, p.ux, p.uy, p.uz, te, p.region, -1});
          push(ShowerParticle<T>{p.z, p.ux, p.uy, p.uz, tp, p.region, 1});
          alive = false;
        }
      } else {
        // ---- electron or positron ----
        if (p.energy <= cfg.electron_cut_mev) {
          deposit(p.region, p.energy);
          if (p.type > 0) annihilate(p);
          break;
        }
        const T dedx = mat.dedx_mev_per_cm + soft_brems_loss(p.energy, cfg.brems_cut_mev, mat.x0_cm);
        const T rate = brems_rate(p.energy, cfg.brems_cut_mev, mat.x0_cm);
        const T s_brems = rate > T(0) ? -log(rng.uniform<T>()) / rate : T(1e30);
        const T range = p.energy / dedx;
        const T s_limit = hd_max(T(0.2) * range, T(1e-3));
        const T d = boundary_distance(p);
        // Which limit ends the step: 0 brems, 1 boundary, 2 energy-loss step, 3 range.
        T s = s_brems;
        int limit = 0;
        if (d < s) {
          s = d;
          limit = 1;
        }
        if (s_limit < s) {
          s = s_limit;
          limit = 2;
        }
        if (range <= s) {
          s = range;
          limit = 3;
        }
        const T e_before = p.energy;
        const T loss = hd_min(p.energy, dedx * s);
        deposit(p.region, loss);
        p.energy -= loss;
        if (limit == 1) {
          if (!cross(p)) {
            t.escaped_mev += p.energy + (p.type > 0 ? T(2) * m : T(0));
            alive = false;
            continue;
          }
        } else {
          p.z += s * p.uz;
        }
        if (limit == 3 || p.energy <= cfg.electron_cut_mev) {
          deposit(p.region, p.energy);
          if (p.type > 0) annihilate(p);
          alive = false;
          continue;
        }
        // Multiple scattering over the step (Highland width, unit charge).
        const T pmom = sqrt(e_before * (e_before + T(2) * m));
        const T beta = pmom / (e_before + m);
        const T x = s / mat.x0_cm;
        const T theta0 =
            hd_max(T(0), T(13.6) / (beta * pmom) * sqrt(x) * (T(1) + T(0.038) * log(x / (beta * beta))));
        const T theta = hd_min(pi<T>(), theta0 * sqrt(T(-2) * log(rng.uniform<T>())));
        rotate_to(p.ux, p.uy, p.uz, sin(theta), cos(theta), T(2) * pi<T>() * rng.uniform<T>());
        if (limit == 0) {
          // y = k/E from (4/3 - 4/3 y + y^2)/y on [cut/E, 1]: 1/y sampled, the rest rejected.
          const T ymin = cfg.brems_cut_mev / p.energy;
          if (ymin < T(1)) {
            T y;
            do {
              y = exp(log(ymin) * rng.uniform<T>());
            } while (rng.uniform<T>() > T(1) - y + T(0.75) * y * y);
            const T kphoton = y * p.energy;
            p.energy -= kphoton;
            push(ShowerParticle<T>{p.z, p.ux, p.uy, p.uz, kphoton, p.region, 0});
          }
        }
      }
    }
    if (stack.size == 0) break;
    p = stack.items[--stack.size];
  }
  *tally = t;
}

}  // namespace gpukit::hep
