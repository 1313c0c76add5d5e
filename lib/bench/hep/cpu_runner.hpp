// One measured and validated run of a HEP workload on the CPU backend: what the
// gpubench runner and the reference tool call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/hep/hep_common.hpp"
#include "bench/hep/validation_stats.hpp"
#include "core/error.hpp"

namespace gpukit::hep {

// me_eemumu, em_shower, track_fit, mlp_infer.
const std::vector<std::string>& hep_workload_names();
// The sub-results of a workload: FP64 and FP32 for the physics workloads, FP32,
// FP16 and BF16 for the MLP (its FP64 pass is the reference, not a result).
std::vector<Precision> hep_workload_precisions(const std::string& workload);
// Statistical checks in one validated run of `workload` (0 for the workloads
// validated against a deterministic reference): the count the false-alarm
// budget is shared over.
int hep_statistical_checks(const std::string& workload);
// What the throughput counts, per second.
const char* hep_throughput_unit(const std::string& workload);

struct HepCpuMeasurement {
  std::string workload;
  Precision precision = Precision::fp64;
  double items = 0;       // events, primaries, tracks or samples
  double duration_s = 0;  // the timed loop
  double throughput = 0;  // items per second
  double steps_per_s = 0; // em_shower: transport steps per second
  double flops_per_item = 0;  // me_eemumu and mlp_infer; 0 where not counted
  bool valid = false;
  std::string validation;  // what was checked and the result
};

// Runs `workload` at `precision` with the sizes given, then validates the
// output, its statistical checks at `thresholds` (those of the whole run the
// measurement is part of); a failed validation is reported in `valid`, never
// hidden. Unknown workloads and precisions a workload does not have are usage
// errors.
Result<HepCpuMeasurement> measure_hep_cpu(const std::string& workload, Precision precision, const HepSizes& sizes,
                                          int threads, std::uint64_t seed, const StatisticalThresholds& thresholds);

}  // namespace gpukit::hep
