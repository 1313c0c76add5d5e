#include "bench/reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "compute/kernels/fma.cuh"

namespace gpukit::detail {

void host_parallel_for(std::uint64_t n, const std::function<void(std::uint64_t, std::uint64_t)>& fn) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  if (n < 65536 || threads == 1) {
    fn(0, n);
    return;
  }
  std::uint64_t per = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    std::uint64_t b = std::min(n, per * t), e = std::min(n, b + per);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  for (auto& t : pool) t.join();
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> validation_ranges(std::uint64_t n, std::uint64_t seed,
                                                                       std::uint64_t all_limit, std::uint64_t chunk,
                                                                       int chunks) {
  if (n <= all_limit) return {{0, n}};
  std::vector<std::pair<std::uint64_t, std::uint64_t>> r = {{0, chunk}, {n - chunk, n}};
  for (int i = 0; i < chunks; ++i) {
    std::uint64_t start = kernels::mix64(seed + static_cast<std::uint64_t>(i) * 0x9e37ULL) % (n - chunk);
    r.emplace_back(start, start + chunk);
  }
  return r;
}

FmaParameters fma_parameters(const std::string& precision) {
  FmaParameters p;
  p.precision = precision;
  if (precision == "fp64" || precision == "fp32") {
    p.multiplier = kernels::fma_multiplier_wide;
    p.addend = 0.001;  // fixed point 1: chains starting in [0, 1) stay in [0, 1]
    // Rounding error stays below eps / (1 - m) = 1000 eps, relative to values near 1.
    p.tolerance = precision == "fp64" ? 1e-12 : 2e-4;
  } else if (precision == "fp16" || precision == "bf16") {
    p.multiplier = kernels::fma_multiplier_narrow;
    p.addend = 0.25;  // exact in both formats; fixed point 0.5
    p.scalar_chains = 2 * kernels::fma_chains;
    p.tolerance = precision == "fp16" ? 4e-3 : 3e-2;  // a few ulps of 2^-11 and 2^-8
  } else {
    p.multiplier = kernels::fma_int_multiplier;
    p.addend = kernels::fma_int_addend;
    p.tolerance = 0;  // integer arithmetic modulo 2^32 is exact
  }
  return p;
}

namespace {

// x -> a x + b applied k times, modulo 2^32: (A, B) with x_k = A x_0 + B.
std::pair<std::uint32_t, std::uint32_t> affine_power(std::uint32_t a, std::uint32_t b, std::uint64_t k) {
  std::uint32_t A = 1, B = 0;   // accumulated map
  std::uint32_t pa = a, pb = b;  // map^(2^i)
  while (k) {
    if (k & 1) {
      B = pa * B + pb;
      A = pa * A;
    }
    pb = pa * pb + pb;
    pa = pa * pa;
    k >>= 1;
  }
  return {A, B};
}

}  // namespace

double fma_reference(const FmaParameters& p, std::uint64_t seed, std::uint64_t item, std::uint64_t iterations) {
  double sum = 0;
  if (p.precision == "int32") {
    auto [A, B] = affine_power(static_cast<std::uint32_t>(p.multiplier), static_cast<std::uint32_t>(p.addend), iterations);
    for (int ch = 0; ch < p.scalar_chains; ++ch) sum += static_cast<double>(A * kernels::fma_start_u32(seed, item, ch) + B);
    return sum;
  }
  // The kernel's constants and starting values are rounded to its precision
  // first; FP32 is reproduced exactly, FP16/BF16 start values vanish (m^K ~ 0).
  double m = p.multiplier, c = p.addend;
  if (p.precision == "fp32") m = static_cast<float>(m), c = static_cast<float>(c);
  const double mk = std::pow(m, static_cast<double>(iterations));
  const double fixed = c * (1 - mk) / (1 - m);
  for (int ch = 0; ch < p.scalar_chains; ++ch) {
    double x0 = kernels::fma_start(seed, item, ch);
    if (p.precision == "fp32") x0 = static_cast<float>(x0);
    sum += mk * x0 + fixed;
  }
  return sum;
}

double relative_error(double got, double expected) {
  if (std::isnan(got) || std::isnan(expected)) return std::numeric_limits<double>::infinity();
  double diff = std::fabs(got - expected);
  return expected != 0 ? diff / std::fabs(expected) : diff;
}

}  // namespace gpukit::detail
