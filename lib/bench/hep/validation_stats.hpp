// The statistics the physics validations rest on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gpukit::hep {

// gpubench's false-alarm budget: the probability that one whole run on a
// correct node fails any of its statistical validations (every workload,
// precision, device, warm-up and repetition together). A farm of 10^4 nodes
// benchmarked daily then sees one false alarm in about 300 years; gpubench(1),
// "Validation and false alarms", derives every threshold from it.
inline constexpr double run_false_alarm_budget = 1e-6;

// The thresholds of one run that makes `checks` statistical checks: each check
// gets alpha = run_false_alarm_budget / checks (Bonferroni: the probability that
// any fails is at most the sum of theirs, whatever their correlations).
struct StatisticalThresholds {
  std::uint64_t checks = 1;
  double alpha = run_false_alarm_budget;  // per check
  double max_pull = 0;                    // two-sided normal checks pass when |pull| <= max_pull: P(|Z| > max_pull) = alpha
  double min_ks_p = 0;                    // Kolmogorov-Smirnov checks pass when p > min_ks_p (= alpha)
  double ks_lambda = 0;                   // the same as a critical value: sqrt(n) D (Stephens-corrected) < ks_lambda
};
// `checks` 0 is taken as 1.
StatisticalThresholds thresholds_for_run(std::uint64_t checks);

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
