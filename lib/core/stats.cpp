#include "core/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace gpukit {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Summary summarize(std::vector<double> v) {
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.count = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = median(v);
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(s.count);
  if (s.count > 1) {
    double sq = 0;
    for (double x : v) sq += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(sq / static_cast<double>(s.count - 1));
  }
  s.cv = s.mean != 0 ? s.stddev / std::fabs(s.mean) : 0;
  return s;
}

double geometric_mean(const std::vector<double>& v) {
  return weighted_geometric_mean(v, std::vector<double>(v.size(), 1.0));
}

double weighted_geometric_mean(const std::vector<double>& v, const std::vector<double>& w) {
  if (v.empty() || v.size() != w.size()) return 0;
  double num = 0, den = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!(v[i] > 0)) return 0;
    num += w[i] * std::log(v[i]);
    den += w[i];
  }
  return den > 0 ? std::exp(num / den) : 0;
}

namespace {

// Acklam's rational approximation of the lower-tail quantile (relative error
// 1.15e-9), refined below to full precision.
double acklam_lower_quantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  if (p < 0.02425) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace

double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double normal_upper_quantile(double q) {
  if (!(q > 0 && q < 1)) return std::numeric_limits<double>::quiet_NaN();
  // The lower quantile of min(q, 1 - q) keeps the tail's precision; Halley
  // steps on the tail probability itself (erfc is accurate there) refine it.
  const bool upper = q < 0.5;
  const double p = upper ? q : 1 - q;
  double x = acklam_lower_quantile(p);  // x < 0: P(Z < x) = p
  for (int i = 0; i < 2; ++i) {
    const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
    const double u = e * std::sqrt(2 * M_PI) * std::exp(0.5 * x * x);
    x -= u / (1 + 0.5 * x * u);
  }
  return upper ? -x : x;
}

double normal_two_sided_threshold(double alpha) { return normal_upper_quantile(0.5 * alpha); }

double kolmogorov_survival(double lambda) {
  if (lambda <= 0) return 1;
  // Below 0.2 the alternating series converges slowly, and the survival is 1
  // within 6e-13 (the dual series: P(K <= 0.2) = sqrt(2 pi) / 0.2 e^(-pi^2 / 0.32)).
  if (lambda < 0.2) return 1;
  double sum = 0, sign = 1;
  for (int k = 1; k <= 100; ++k) {
    const double term = sign * std::exp(-2.0 * k * k * lambda * lambda);
    sum += term;
    if (std::fabs(term) <= 1e-17 * std::fabs(sum)) break;
    sign = -sign;
  }
  return std::clamp(2 * sum, 0.0, 1.0);
}

double kolmogorov_quantile(double alpha) {
  if (!(alpha > 0 && alpha < 1)) return std::numeric_limits<double>::quiet_NaN();
  // The survival function falls monotonically from 1 (lambda 0.2) to 0:
  // bisection in lambda, 200 halvings are far below double resolution.
  double lo = 0.2, hi = 40;
  for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (kolmogorov_survival(mid) > alpha ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace gpukit
