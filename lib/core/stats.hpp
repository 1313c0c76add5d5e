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

}  // namespace gpukit
