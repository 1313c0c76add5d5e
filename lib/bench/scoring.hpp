// The HEP scores of a bench section (lib/bench/hep/scores.hpp does the
// arithmetic): reference values next to each raw value, per-device and node
// scores in bench.devices[i].score/workload_scores and bench.scores, and the
// figures derived from HEP results (FP64/FP32 ratios, GPU/CPU speedups).
#pragma once

#include <string>
#include <vector>

#include "bench/hep/scores.hpp"
#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

// The version of the score method written as "gpukit-hep/<version>".
inline constexpr const char* hep_score_method_version = "0.1";

// `path`, or share/gpukit/reference/provisional-cpu-vm.json when empty. A usage
// error naming the file when it is missing or malformed.
Result<hep::Reference> load_reference(const std::string& path);

// The HEP throughputs of a bench section, per device: only workloads whose
// every precision completed, with their per-repetition values.
std::vector<hep::DeviceMeasurement> hep_measurements(const json& bench);

// fp64_fp32_ratio on FP64 rows and details.speedup_vs_cpu on GPU rows.
void annotate_hep_results(json& bench);

// Writes (or rewrites) every score of the section from its raw values and
// `reference`; nothing else changes. Scores are null, with scores.reason, when
// no device has a complete HEP workload.
Status score_bench_section(json& bench, const hep::Reference& reference);

}  // namespace gpukit
