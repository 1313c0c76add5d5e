// What the HEP workload drivers share: precisions, the deterministic CPU
// parallel loop and the problem sizes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace gpukit::hep {

enum class Precision { fp64, fp32, fp16, bf16 };

const char* precision_name(Precision p);  // "fp64", "fp32", "fp16", "bf16"
std::optional<Precision> parse_precision(std::string_view name);

// Threads to use when the caller says 0: one per hardware thread.
int default_thread_count();

// Runs body(begin, end) over [0, count) split into `threads` contiguous chunks,
// one std::thread each (the calling thread takes the first). Every item's result
// depends only on its index, so outputs do not depend on the thread count.
void parallel_for(std::uint64_t count, int threads, const std::function<void(std::uint64_t, std::uint64_t)>& body);

// Seconds on a monotonic clock.
double monotonic_seconds();

// Problem sizes of one run of the four workloads.
struct HepSizes {
  std::uint64_t me_events = 0;         // phase-space points per repetition
  std::uint64_t shower_primaries = 0;  // primaries per repetition
  double shower_energy_mev = 0;        // energy of each primary photon
  std::uint64_t tracks = 0;            // tracks fitted per repetition
  std::uint64_t mlp_samples = 0;       // batch per repetition
};

// --quick: fixed sizes, the same on every device, documented in gpubench(1):
// 2^19 points, 32 photons of 10 GeV, 2^14 tracks, 2^12 samples (the whole
// --quick run fits 60 s on a 2-core CPU).
HepSizes hep_quick_sizes();

// Full runs: enough work to fill the device, in proportion to `parallel_units`,
// the number of cores (CPU) or SMs/CUs (GPU). Per unit: 2^20 points per core or
// 2^18 per SM (a GPU holds the whole batch in memory), 256 photons of 10 GeV per
// core or 1024 per SM (a GPU needs thousands of threads in flight), 2^16 tracks
// and 2^14 samples per unit of either kind.
HepSizes hep_full_sizes(bool gpu, int parallel_units);

}  // namespace gpukit::hep
