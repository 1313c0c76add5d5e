// gpubench's HEP scores, computed the way HEPscore computes its own (research
// note bench.md section b): per repetition, the geometric mean over a workload's
// sub-results (precisions) of throughput / reference; per workload, the median
// over an odd number of repetitions; per device, the weighted geometric mean over
// workloads times the reference's scaling. Nothing is rounded on the way (hep-score
// rounds each ratio to 4 decimals; gpukit keeps the full value).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit::hep {

// One workload on one device: per sub-result key (a precision, "fp64"), the
// throughput of each repetition.
struct WorkloadMeasurement {
  std::string workload;
  std::map<std::string, std::vector<double>> throughput;
};

struct DeviceMeasurement {
  std::string id;        // "cpu", a GPU UUID, ...
  std::string name;      // model name
  std::string kind;      // "gpu" or "cpu"
  std::string platform;  // "cpu", "cuda", "hip"
  int cores = 0;         // CPU: cores the run used (for the per-core score)
  std::vector<WorkloadMeasurement> workloads;
};

// A reference file of share/gpukit/reference/ (schema reference.schema.json).
struct Reference {
  std::string name, file;
  bool provisional = false;
  std::string derived_from;  // "cpu" or "gpu"
  std::string gpukit_version, date;
  json machine;
  double scaling = 1;
  std::map<std::string, double> weights;                        // workload -> weight (default 1)
  std::map<std::string, std::map<std::string, double>> values;  // workload -> key -> throughput
  std::map<std::string, std::string> units;                     // workload -> throughput unit
};

// Checks the shape and the values (positive throughputs, weights and scaling);
// errors name `origin` and the JSON path.
Result<Reference> parse_reference(const json& document, const std::string& origin);
Result<Reference> read_reference_file(const std::string& path);

// Median of an odd, non-empty list (HEPscore averages the two middle values of an
// even list; gpubench asks for an odd count so the median is a measured run).
Result<double> repetition_median(const std::vector<double>& values);

// Median over repetitions of the geometric mean over sub-results of
// throughput / reference. Every sub-result needs a reference value and all need
// the same number of repetitions.
Result<double> workload_score(const WorkloadMeasurement& measurement, const Reference& reference);

struct DeviceScore {
  std::string id, kind;
  int cores = 0;
  double score = 0;  // weighted geometric mean over workloads x scaling
  std::map<std::string, double> workloads;
};
Result<DeviceScore> device_score(const DeviceMeasurement& device, const Reference& reference);

// Node aggregates: devices add up (a node with two GPUs does twice the work of
// one), GPU and CPU are kept apart and summed for the whole node; per core is the
// CPU node score over the cores used. Absent kinds are nullopt (null in JSON).
struct NodeScores {
  std::vector<DeviceScore> devices;
  std::optional<double> gpu_node, cpu_node, cpu_per_core, node;
};
NodeScores node_scores(const std::vector<DeviceScore>& devices);

// "fnv1a64:<16 hex digits>" of the canonical (sorted, compact) JSON of `config`.
std::string config_hash(const json& config);

// The scored document: raw throughputs and reference values side by side per
// sub-result, workload and device scores, node scores, the configuration hash
// and the tool version, so that it can be re-scored later.
Result<json> score_document(const std::vector<DeviceMeasurement>& devices, const Reference& reference,
                            const json& config);

// Re-scores a document written by score_document against another reference:
// the raw values, the configuration and its hash are kept, the rest recomputed.
Result<json> rescore(const json& scored, const Reference& reference);

// The devices and raw throughputs of a scored document.
Result<std::vector<DeviceMeasurement>> measurements_from_document(const json& scored, const std::string& origin);

}  // namespace gpukit::hep
