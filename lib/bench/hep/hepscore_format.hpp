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
// node's throughput: the sum over `devices` of the median over repetitions;
// wl-stats summarise the per-repetition node sums (repetition i of every device
// added together). copies is the number of devices.
json hepscore_summary(const std::vector<DeviceMeasurement>& devices, const HepscoreRunInfo& info);

}  // namespace gpukit::hep
