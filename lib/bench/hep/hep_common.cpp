#include "bench/hep/hep_common.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace gpukit::hep {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::fp64: return "fp64";
    case Precision::fp32: return "fp32";
    case Precision::fp16: return "fp16";
    case Precision::bf16: return "bf16";
  }
  return "fp64";
}

std::optional<Precision> parse_precision(std::string_view name) {
  for (Precision p : {Precision::fp64, Precision::fp32, Precision::fp16, Precision::bf16})
    if (name == precision_name(p)) return p;
  return std::nullopt;
}

int default_thread_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

void parallel_for(std::uint64_t count, int threads, const std::function<void(std::uint64_t, std::uint64_t)>& body) {
  if (threads <= 0) threads = default_thread_count();
  const std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(threads), std::max<std::uint64_t>(count, 1));
  if (n <= 1) {
    body(0, count);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(n - 1);
  const std::uint64_t chunk = count / n, extra = count % n;
  std::uint64_t begin = 0;
  std::uint64_t first_end = 0;
  for (std::uint64_t t = 0; t < n; ++t) {
    const std::uint64_t end = begin + chunk + (t < extra ? 1 : 0);
    if (t == 0)
      first_end = end;
    else
      pool.emplace_back(body, begin, end);
    begin = end;
  }
  body(0, first_end);
  for (auto& th : pool) th.join();
}

double monotonic_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

HepSizes hep_quick_sizes() {
  HepSizes s;
  s.me_events = 1ULL << 19;
  s.shower_primaries = 32;
  s.shower_energy_mev = 10000;
  s.tracks = 1ULL << 14;
  s.mlp_samples = 1ULL << 12;
  return s;
}

HepSizes hep_full_sizes(bool gpu, int parallel_units) {
  const std::uint64_t units = static_cast<std::uint64_t>(std::max(parallel_units, 1));
  HepSizes s;
  s.me_events = units << (gpu ? 18 : 20);
  s.shower_primaries = units * (gpu ? 1024 : 256);
  s.shower_energy_mev = 10000;
  s.tracks = units << 16;
  s.mlp_samples = units << 14;
  return s;
}

}  // namespace gpukit::hep
