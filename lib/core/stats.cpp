#include "core/stats.hpp"

#include <algorithm>
#include <cmath>
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

}  // namespace gpukit
