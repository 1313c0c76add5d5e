// The requirement as a Kubernetes Dynamic Resource Allocation claim
// (resource.k8s.io/v1 ResourceClaimTemplate) on the devices that NVIDIA's DRA
// driver (gpu.nvidia.com, mig.nvidia.com) and AMD's (gpu.amd.com) publish,
// selected by CEL expressions over their attributes and capacities.
#pragma once

#include <string>

#include "core/document.hpp"
#include "core/error.hpp"
#include "match/requirements.hpp"
#include "match/tables.hpp"

namespace gpukit {

// `hardware` is share/gpukit/hardware.json: AMD target ids become the PCI
// device ids that carry them, FP64 minimums the product names that meet them.
// A usage error for a CPU-only requirement (no device to claim) and for AMD
// targets no catalogue row names a device id for.
Result<std::string> emit_k8s_dra(const Requirements& job, const CompatTables& tables, const json& hardware);

// The shipped hardware catalogue.
Result<json> load_hardware_catalogue();

}  // namespace gpukit
