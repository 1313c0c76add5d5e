// gpuprobe's output formats besides json: table, classad (HTCondor), nfd
// (Kubernetes node-feature-discovery), gres (Slurm gres.conf).
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "core/document.hpp"
#include "core/error.hpp"
#include "core/node.hpp"

namespace gpukit {

// How gpuprobe -f nfd names and dates its labels.
struct NfdOptions {
  // "gpukit": every vendor label under gpukit.io/ (nvidia.com/gpu.product ->
  // gpukit.io/nvidia.gpu.product), so that gpukit's features.d file never
  // overrides GPU Feature Discovery's or the AMD labeller's values. "vendor":
  // their own names, for a cluster that runs neither.
  std::string names = "gpukit";
  std::optional<std::string> mig_strategy;  // none, single, mixed; unset: derived from the node's MIG state
  std::optional<std::string> expiry;        // a duration: "# +expiry-time=<now + it>" heads the labels
  std::time_t now = 0;                      // 0: the clock; tests fix it
  bool is_default() const { return names == "gpukit" && !mig_strategy && !expiry; }
};

// `format` is one of json, table, classad, nfd, gres, cric. Uses the document's gpus, drivers
// and visible sections (the visible subset for classad, as condor_gpu_discovery does).
// `nfd` other than the default with another format is a usage error.
Result<std::string> render_probe(const Document& document, const std::string& format, const NfdOptions& nfd = {});

std::string render_probe_table(const NodeModel& node, const NodeVisible& visible);
std::string render_classad(const NodeModel& node, const NodeVisible& visible);
Result<std::string> render_nfd(const NodeModel& node, const NfdOptions& options = {});
std::string render_gres(const NodeModel& node);
// The architectures entry of a CRIC (PanDA) queue for this node (format_cric.cpp).
std::string render_cric(const NodeModel& node);

}  // namespace gpukit
