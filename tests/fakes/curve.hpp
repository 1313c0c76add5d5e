// A quantity over the seconds since a fake vendor library loaded its machine
// description: a constant, or points [[t, v], ...] joined linearly and held flat
// before the first and after the last. Shared by the NVIDIA and AMD fakes.
#pragma once

#include <utility>
#include <vector>

namespace gpukit::fake {

class Curve {
 public:
  Curve() = default;
  explicit Curve(double constant) : points_{{0.0, constant}} {}
  explicit Curve(std::vector<std::pair<double, double>> points) : points_(std::move(points)) {}
  bool empty() const { return points_.empty(); }

  double at(double t) const {
    if (points_.empty()) return 0;
    if (t <= points_.front().first) return points_.front().second;
    for (std::size_t i = 1; i < points_.size(); ++i) {
      const auto& [t0, v0] = points_[i - 1];
      const auto& [t1, v1] = points_[i];
      if (t <= t1) return t1 == t0 ? v1 : v0 + (v1 - v0) * (t - t0) / (t1 - t0);
    }
    return points_.back().second;
  }

  // The exact integral over [t0, t1] (t0 <= t1): the curve is linear between
  // consecutive knots, so trapezoids over the knots inside [t0, t1] are exact.
  double integral(double t0, double t1) const {
    std::vector<double> cuts{t0};
    for (const auto& p : points_)
      if (p.first > t0 && p.first < t1) cuts.push_back(p.first);
    cuts.push_back(t1);
    double sum = 0;
    for (std::size_t i = 1; i < cuts.size(); ++i) sum += (at(cuts[i - 1]) + at(cuts[i])) / 2 * (cuts[i] - cuts[i - 1]);
    return sum;
  }

 private:
  std::vector<std::pair<double, double>> points_;
};

}  // namespace gpukit::fake
