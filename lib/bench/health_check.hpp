// gpubench --check: level-2 health (issue 14), short active checks through the
// compute plugins: the memory test over the usable memory, pinned transfers in
// each direction against what the PCIe link allows, and an FMA run with the SM
// clock read at its end. The checks go into gpus[].health with level 2.
#pragma once

#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"
#include "core/health_limits.hpp"

namespace gpukit {

// The workloads --check runs.
const std::vector<std::string>& check_workloads();

// One direction of a PCIe link in GB/s (1e9 bytes/s) after line encoding, for a
// generation (1..6) and a width; 0 when the generation is unknown.
double pcie_link_gbs(int generation, int width);

// Adds the level-2 checks derived from `bench` (the section just measured) to
// the health of each GPU of `document` the bench ran on. Returns true when a
// check failed.
Result<bool> apply_level2_health(Document& document, const json& bench, const HealthLimits& limits);

}  // namespace gpukit
