// `gpubench --format hepscore`: the summary layout of the hep-workloads
// containers (research note bench.md section b), so that hep-score can run
// gpubench as a `gpu: true` workload with `results_file` and `ref_scores`:
//   run_info{copies, threads_per_copy, events_per_thread, extra_arguments}
//   report{wl-scores{<key>: throughput}, wl-stats{<key>{avg, median, min, max, count}}, log}
//   app{version, description, cvmfs_checksum, bmkdata_checksum, bmk_checksum, containment, devices[...]}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/hep/scores.hpp"
#include "core/document.hpp"

namespace gpukit::hep {

struct HepscoreRunInfo {
  std::string version;            // gpukit version
  std::string description;
  int threads_per_copy = 1;       // host threads per device (CPU: threads of the run)
  std::uint64_t events_per_thread = 0;  // work items per device and repetition
  std::string extra_arguments;    // the gpubench command line options
  std::string log;                // "ok", or what failed
};

// Keys are "<workload>_<sub-result>" (me_eemumu_fp64). A key's wl-score is the
// node's throughput: the sum over `devices` of the device's value in its median
// repetition of that workload (median_repetition), so that hep-score's
// geometric mean over one workload's keys is gpubench's workload score (exactly
// for one device). wl-stats summarise the per-repetition node sums (repetition i
// of every device added together). copies is the number of devices.
json hepscore_summary(const std::vector<DeviceMeasurement>& devices, const HepscoreRunInfo& info);

// The repetition whose geometric mean over the workload's sub-results is the
// median of the repetitions (the lower middle one of an even count). The order
// of those means does not depend on the reference (each is the geometric mean of
// the raw throughputs over the same reference constant), so this is the
// repetition whose score gpubench takes, whatever the reference.
std::size_t median_repetition(const WorkloadMeasurement& measurement);

// hep-score rounds each ratio value/ref_score and each run score to 4 decimals
// (hepscore.py, _proc_results). The configuration divides every reference
// value by this and multiplies `scaling` by its inverse: the ratios hep-score
// rounds are then about 1e6 times larger and lose nothing visible, while the
// weighted geometric mean times scaling is unchanged.
inline constexpr double hepscore_ref_divisor = 1e6;

struct HepscoreConfigInfo {
  std::string version;                              // gpukit version
  std::string results_file = "gpubench_summary.json";
  std::size_t devices = 1;                          // devices the summary adds up
};

// The hep-score YAML configuration (settings and one benchmark per workload,
// with gpubench's weight and the reference values as ref_scores) under which
// hep-score's arithmetic on the summary gives gpubench's device score.
// `workloads`: those scored (empty: every workload of the reference).
std::string hepscore_config_yaml(const Reference& reference, const std::vector<std::string>& workloads,
                                 const HepscoreConfigInfo& info);

}  // namespace gpukit::hep
