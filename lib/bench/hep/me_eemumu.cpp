#include "bench/hep/me_eemumu.hpp"

#include <cmath>
#include <complex>
#include <iterator>
#include <sstream>

#include "compute/cpu/hep_kernels.hpp"
#include "compute/cpu/cpu_kernels.hpp"

namespace gpukit::hep {

BornPrediction born_eemumu(double sqrt_s_gev, const ElectroweakInputs& in) {
  const double s = sqrt_s_gev * sqrt_s_gev;
  const double cw2 = 1 - in.sin2w;
  const double kappa = 1 / (4 * in.sin2w * cw2);
  const std::complex<double> chi = kappa * s / std::complex<double>(s - in.mz_gev * in.mz_gev, in.mz_gev * in.wz_gev);
  const double q = -1;  // charge of the muon
  const double t3 = -0.5;
  const double v = t3 - 2 * q * in.sin2w, a = t3;  // electron and muon alike
  const double a0 = q * q - 2 * q * v * v * chi.real() + (v * v + a * a) * (v * v + a * a) * std::norm(chi);
  const double a1 = -2 * q * a * a * chi.real() + 4 * a * a * v * v * std::norm(chi);
  BornPrediction b;
  b.sigma_pb = 4 * M_PI * in.alpha * in.alpha / (3 * s) * a0 * gev2_to_pb;
  b.afb = 0.75 * a1 / a0;
  return b;
}

namespace {

template <class T>
MeRun run_typed(Precision precision, const MeOptions& o) {
  const EwParameters<T> ew = ew_parameters<T>();
  const T sqrt_s = T(o.sqrt_s_gev);
  std::vector<T> out(o.events);
  const double t0 = monotonic_seconds();
  parallel_for(o.events, o.threads, [&](std::uint64_t begin, std::uint64_t end) {
    if (o.kernels) {
      const cpu::HepKernels& k = *o.kernels->hep;
      if constexpr (sizeof(T) == sizeof(double))
        k.me_eemumu_f64(o.seed, begin, end - begin, sqrt_s, ew, o.flip_z_sign, out.data() + begin);
      else
        k.me_eemumu_f32(o.seed, begin, end - begin, sqrt_s, ew, o.flip_z_sign, out.data() + begin);
    } else if (o.flip_z_sign)
      for (std::uint64_t i = begin; i < end; ++i) out[i] = me_eemumu_event<T, true>(o.seed, i, sqrt_s, ew);
    else
      for (std::uint64_t i = begin; i < end; ++i) out[i] = me_eemumu_event<T, false>(o.seed, i, sqrt_s, ew);
  });
  MeRun run;
  run.duration_s = monotonic_seconds() - t0;
  run.precision = precision;
  run.seed = o.seed;
  run.sqrt_s_gev = o.sqrt_s_gev;
  run.me2.assign(out.begin(), out.end());
  return run;
}

// Sign of cos(theta) of the mu- of each event, from the same generator in the
// same precision as the run.
template <class T>
bool forward(const MeRun& run, std::uint64_t i) {
  return me_event_point<T>(run.seed, i, T(run.sqrt_s_gev)).p[2][3] > T(0);
}

}  // namespace

MeRun run_me_eemumu(Precision precision, const MeOptions& options) {
  if (precision == Precision::fp64) return run_typed<double>(precision, options);
  return run_typed<float>(Precision::fp32, options);
}

CrossSectionEstimate estimate_cross_section(const MeRun& run) {
  CrossSectionEstimate e;
  const std::uint64_t n = run.me2.size();
  e.events = n;
  if (n < 2) return e;
  const double s = run.sqrt_s_gev * run.sqrt_s_gev;
  const double factor = 0.25 / (2 * s) / (8 * M_PI) * gev2_to_pb;
  // f = w sign(cos theta): means of w, f, w^2 (= f^2) and w f give both errors.
  double sw = 0, sf = 0, sww = 0, swf = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double w = run.me2[i] * factor;
    const bool fwd = run.precision == Precision::fp64 ? forward<double>(run, i) : forward<float>(run, i);
    const double f = fwd ? w : -w;
    sw += w;
    sf += f;
    sww += w * w;
    swf += w * f;
  }
  const double dn = static_cast<double>(n), bessel = dn / (dn - 1);
  const double mw = sw / dn, mf = sf / dn;
  const double var_w = (sww / dn - mw * mw) * bessel;
  const double var_f = (sww / dn - mf * mf) * bessel;
  const double cov_wf = (swf / dn - mw * mf) * bessel;
  e.sigma_pb = mw;
  e.sigma_error_pb = std::sqrt(var_w / dn);
  e.afb = mf / mw;
  const double var_afb = (var_f + e.afb * e.afb * var_w - 2 * e.afb * cov_wf) / (mw * mw * dn);
  e.afb_error = std::sqrt(std::max(var_afb, 0.0));
  return e;
}

MeValidation validate_me_eemumu(const CrossSectionEstimate& mc, const BornPrediction& born, double max_pull) {
  MeValidation v;
  v.sigma_pull = mc.sigma_error_pb > 0 ? (mc.sigma_pb - born.sigma_pb) / mc.sigma_error_pb : INFINITY;
  v.afb_pull = mc.afb_error > 0 ? (mc.afb - born.afb) / mc.afb_error : INFINITY;
  v.passed = std::fabs(v.sigma_pull) <= max_pull && std::fabs(v.afb_pull) <= max_pull;
  std::ostringstream d;
  d.precision(6);
  d << "sigma " << mc.sigma_pb << " +- " << mc.sigma_error_pb << " pb vs Born " << born.sigma_pb << " pb ("
    << v.sigma_pull << " sd); A_FB " << mc.afb << " +- " << mc.afb_error << " vs Born " << born.afb << " ("
    << v.afb_pull << " sd)";
  v.detail = d.str();
  return v;
}

MeValidation validate_off_pole(const std::vector<MeRun>& runs, double max_pull) {
  MeValidation v;
  v.passed = runs.size() == std::size(me_check_energies_gev);
  std::ostringstream d;
  d.precision(3);
  d << "off the pole (" << me_check_events << " events, " << max_pull << " sd):";
  d.precision(6);
  for (const MeRun& run : runs) {
    const MeValidation e = validate_me_eemumu(estimate_cross_section(run), born_eemumu(run.sqrt_s_gev), max_pull);
    v.passed = v.passed && e.passed;
    d << " " << run.sqrt_s_gev << " GeV " << (e.passed ? "ok" : "FAILED (" + e.detail + ")") << ";";
  }
  v.detail = d.str();
  v.detail.pop_back();
  return v;
}

std::string me_pole_label(double sqrt_s_gev, double max_pull) {
  std::ostringstream d;
  d << "sqrt(s) " << sqrt_s_gev << " GeV, |pull| <= ";
  d.precision(3);
  d << max_pull << ": ";
  return d.str();
}

PointwiseComparison compare_pointwise(const std::vector<double>& a, const std::vector<double>& b, double tolerance) {
  PointwiseComparison c;
  if (a.size() != b.size()) return c;
  for (std::uint64_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]) / std::max(std::fabs(b[i]), 1e-300);
    if (!(d <= c.max_relative_difference)) {
      if (std::isnan(d)) {
        c.max_relative_difference = INFINITY;
        c.worst_index = i;
        return c;
      }
      c.max_relative_difference = d;
      c.worst_index = i;
    }
  }
  c.passed = c.max_relative_difference <= tolerance;
  return c;
}

double me_pointwise_tolerance(Precision precision) { return precision == Precision::fp64 ? 1e-11 : 2e-5; }

}  // namespace gpukit::hep
