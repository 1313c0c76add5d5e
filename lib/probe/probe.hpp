// Probing this node: the gpuprobe sections of the node document.
#pragma once

#include <string>
#include <vector>

#include "core/cli.hpp"
#include "core/document.hpp"
#include "core/error.hpp"
#include "probe/formats.hpp"

namespace gpukit {

struct ProbeRequest {
  double timeout_s = 5;   // deadline for each vendor query
  bool catalogue = true;  // attach hardware.json entries to the GPUs
  // When set, receives the names of GPUs the catalogue does not know.
  std::vector<std::string>* unknown_gpus = nullptr;
};

// Adds or replaces host, cpu, memory, drivers, gpus and visible in `document`.
// Never fails for lack of GPUs or drivers: those are statuses in `drivers`.
// Fails only when the catalogue is requested and unreadable.
Status probe_node(Document& document, const ProbeRequest& request);

// For tools that need the inventory: probes when `document` lacks the gpuprobe
// sections, else leaves it as it is.
Status ensure_probed(Document& document, const ProbeRequest& request);

struct ProbeOptions {
  CommonOptions common;
  bool no_catalogue = false;
  bool from_input = false;  // render the input document's sections instead of probing
  NfdOptions nfd;
  bool health = false;      // --health: level-1 checks; the exit status says whether one failed
};

// The gpuprobe tool: probe, merge into the input document if any, write.
Result<int> run_probe(ProbeOptions& options);

}  // namespace gpukit
