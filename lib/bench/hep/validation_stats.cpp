#include "bench/hep/validation_stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/stats.hpp"

namespace gpukit::hep {

StatisticalThresholds thresholds_for_run(std::uint64_t checks) {
  StatisticalThresholds t;
  t.checks = std::max<std::uint64_t>(checks, 1);
  t.alpha = run_false_alarm_budget / static_cast<double>(t.checks);
  t.max_pull = normal_two_sided_threshold(t.alpha);
  t.min_ks_p = t.alpha;
  t.ks_lambda = kolmogorov_quantile(t.alpha);
  return t;
}

namespace {

// Series for the lower function P(a, x), good for x < a + 1.
double gamma_p_series(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < 10000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Continued fraction for Q(a, x) (modified Lentz), good for x >= a + 1.
double gamma_q_fraction(double a, double x) {
  const double tiny = std::numeric_limits<double>::min() / std::numeric_limits<double>::epsilon();
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double gamma_q(double a, double x) {
  if (x <= 0) return 1;
  if (x < a + 1) return 1 - gamma_p_series(a, x);
  return gamma_q_fraction(a, x);
}

double chi2_probability(double chi2, int ndf) {
  if (ndf <= 0) return 1;
  return gamma_q(0.5 * ndf, 0.5 * std::max(chi2, 0.0));
}

KsResult ks_test_uniform(std::vector<double> values) {
  KsResult r;
  if (values.empty()) return r;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  double d = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double f = std::clamp(values[i], 0.0, 1.0);
    d = std::max({d, (static_cast<double>(i) + 1) / n - f, f - static_cast<double>(i) / n});
  }
  r.statistic = d;
  const double sn = std::sqrt(n);
  r.p_value = kolmogorov_survival((sn + 0.12 + 0.11 / sn) * d);
  return r;
}

LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y) {
  LineFit f;
  const std::size_t n = std::min(x.size(), y.size());
  if (n < 2) return f;
  double sx = 0, sy = 0;
  for (std::size_t i = 0; i < n; ++i) sx += x[i], sy += y[i];
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx <= 0) return f;
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  if (n > 2) {
    double rss = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double r = y[i] - f.intercept - f.slope * x[i];
      rss += r * r;
    }
    f.slope_error = std::sqrt(rss / static_cast<double>(n - 2) / sxx);
  }
  return f;
}

MeanWidth mean_and_width(const std::vector<double>& v) {
  MeanWidth m;
  m.count = v.size();
  if (v.size() < 2) return m;
  double s = 0;
  for (double x : v) s += x;
  m.mean = s / static_cast<double>(v.size());
  double q = 0;
  for (double x : v) q += (x - m.mean) * (x - m.mean);
  m.width = std::sqrt(q / static_cast<double>(v.size() - 1));
  m.mean_error = m.width / std::sqrt(static_cast<double>(v.size()));
  m.width_error = m.width / std::sqrt(2.0 * static_cast<double>(v.size() - 1));
  return m;
}

}  // namespace gpukit::hep
