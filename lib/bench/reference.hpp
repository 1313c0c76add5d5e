// Host-side helpers of the workloads: the double-precision references their
// results are checked against, and host loops split over the host's threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace gpukit::detail {

// fn(begin, end) over [0, n) on all hardware threads; returns when done.
void host_parallel_for(std::uint64_t n, const std::function<void(std::uint64_t, std::uint64_t)>& fn);

// Positions [begin, end) of the elements a validation compares: everything up
// to `all_limit` elements, else the first and last `chunk` and `chunks` more
// at positions drawn from `seed`.
std::vector<std::pair<std::uint64_t, std::uint64_t>> validation_ranges(std::uint64_t n, std::uint64_t seed,
                                                                       std::uint64_t all_limit = 1ull << 20,
                                                                       std::uint64_t chunk = 4096,
                                                                       int chunks = 64);

// The FMA chain workloads' constants and their closed-form reference.
struct FmaParameters {
  std::string precision;  // "fp64", "fp32", "fp16", "bf16", "int32"
  double multiplier = 0, addend = 0;
  int scalar_chains = 8;  // per work item
  double tolerance = 0;   // relative
};
FmaParameters fma_parameters(const std::string& precision);

// The value a work item must produce after `iterations` steps (the sum of its
// chains), computed in double precision from the closed form.
double fma_reference(const FmaParameters& p, std::uint64_t seed, std::uint64_t item, std::uint64_t iterations);

// |got - expected| / |expected| (absolute when expected is 0); infinity for NaN.
double relative_error(double got, double expected);

}  // namespace gpukit::detail
