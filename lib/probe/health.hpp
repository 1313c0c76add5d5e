// gpuprobe --health (level 1): the checks of each GPU (gpus[].health) and of the
// node (the health section), from the vendor layers and the thresholds in
// share/gpukit/health-thresholds.json.
#pragma once

#include "core/document.hpp"
#include "core/error.hpp"
#include "core/node.hpp"

namespace gpukit {

// Runs the checks for the GPUs of `document` (already probed) and writes them in.
// Returns the exit status: 0 every check passed or warned, 1 a check failed,
// 3 a vendor layer failed (NVML or amd_smi would not start), 4 a vendor call did
// not return within `timeout_s` (what was checked is kept).
Result<int> probe_health(Document& document, double timeout_s);

// The per-format renderings of a GPU's health (one line each, for the formats).
// "pass", "warn", "fail", "unsupported", "timeout", or "" when there is no health data.
std::string health_status_of(const NodeGpu& gpu);
// The failed checks' reasons: "row_remap_pending: row remap pending (3 rows ...)".
std::string health_failure_summary(const NodeGpu& gpu);
// The GPUs that have no failed check, and the node's own checks did not fail.
int healthy_gpu_count(const NodeModel& node);
// Whether the node has health data at all (a document from gpuprobe without --health has none).
bool has_health(const NodeModel& node);

}  // namespace gpukit
