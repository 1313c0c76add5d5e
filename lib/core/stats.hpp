// Statistics over repeated measurements.
#pragma once

#include <cstddef>
#include <vector>

namespace gpukit {

struct Summary {
  std::size_t count = 0;
  double median = 0, min = 0, max = 0, mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1)
  double cv = 0;      // coefficient of variation: stddev / mean (0 when mean is 0)
};

// Summary of `values`; all zero for an empty vector.
Summary summarize(std::vector<double> values);

double median(std::vector<double> values);

// Geometric mean of positive values; 0 when empty or any value is <= 0.
double geometric_mean(const std::vector<double>& values);

// exp(sum w_i ln x_i / sum w_i); 0 when empty, any value <= 0 or the weights sum to 0.
double weighted_geometric_mean(const std::vector<double>& values, const std::vector<double>& weights);

// Upper tail of the standard normal distribution, P(Z > z).
double normal_upper_tail(double z);

// Its inverse: the z with P(Z > z) = q, for q in (0, 1) (NaN outside), to about
// 1e-15 relative down to q = 1e-300 (computed in the tail, never as 1 - q).
double normal_upper_quantile(double q);

// The threshold of a two-sided normal test of size alpha: P(|Z| > z) = alpha.
double normal_two_sided_threshold(double alpha);

// Kolmogorov's limiting distribution, P(sqrt(n) D_n > lambda) =
// 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2) (1 for lambda <= 0).
double kolmogorov_survival(double lambda);

// Its inverse: the lambda with kolmogorov_survival(lambda) = alpha, alpha in (0, 1).
double kolmogorov_quantile(double alpha);

}  // namespace gpukit
