// Which devices a run benchmarks: --device tokens (indices, GPU-/MIG- UUIDs,
// cpu, gpu, all) resolved against gpuprobe's sections, each matched to the
// compute device that runs it (UUID, then PCI bus id).
#pragma once

#include <string>
#include <vector>

#include "bench/runner.hpp"
#include "compute/registry.hpp"
#include "core/document.hpp"
#include "core/node.hpp"

namespace gpukit {

struct SelectionRequest {
  std::vector<std::string> tokens;  // empty: "all" (gpuprobe's visible devices and the CPU)
};

struct Selection {
  std::vector<BenchDevice> devices;
  std::vector<std::string> warnings;  // visible devices nothing can run, and why
};

// A usage error for a token of no known form (checked before anything is probed).
Status check_device_tokens(const SelectionRequest& request);
// Whether the tokens name anything but the CPU (then the gpuprobe sections are needed).
bool selection_needs_gpus(const SelectionRequest& request);
// Whether the tokens include the CPU.
bool selection_needs_cpu(const SelectionRequest& request);

// Resolves the request. Errors: a token of no known form (usage, exit 2); a
// device named explicitly that is not on this node or that no backend can run
// (environment, exit 3, naming the plugins' reasons).
Result<Selection> select_devices(const NodeModel& node, const ComputeRegistry& registry,
                                 const SelectionRequest& request);
// The same from a document's root object (its model is read first).
Result<Selection> select_devices(const json& document, const ComputeRegistry& registry,
                                 const SelectionRequest& request);

}  // namespace gpukit
