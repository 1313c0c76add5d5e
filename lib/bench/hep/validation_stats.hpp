// The statistics the physics validations rest on.
#pragma once

#include <cstddef>
#include <vector>

namespace gpukit::hep {

// Regularised upper incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a).
double gamma_q(double a, double x);

// P(chi2 >= observed) for `ndf` degrees of freedom.
double chi2_probability(double chi2, int ndf);

struct KsResult {
  double statistic = 0;  // sup |F_n - F|
  double p_value = 1;
};
// Kolmogorov-Smirnov test of `values` against the uniform distribution on [0, 1]
// (asymptotic distribution with Stephens' small-sample correction).
KsResult ks_test_uniform(std::vector<double> values);

struct LineFit {
  double slope = 0, intercept = 0;
  double slope_error = 0;  // from the residual scatter (unweighted least squares)
};
LineFit fit_line(const std::vector<double>& x, const std::vector<double>& y);

struct MeanWidth {
  double mean = 0, mean_error = 0;
  double width = 0, width_error = 0;  // sample standard deviation
  std::size_t count = 0;
};
MeanWidth mean_and_width(const std::vector<double>& values);

}  // namespace gpukit::hep
