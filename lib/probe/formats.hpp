// gpuprobe's output formats besides json: table, classad (HTCondor), nfd
// (Kubernetes node-feature-discovery), gres (Slurm gres.conf).
#pragma once

#include <string>

#include "core/document.hpp"
#include "core/error.hpp"
#include "core/node.hpp"

namespace gpukit {

// `format` is one of json, table, classad, nfd, gres, cric. Uses the document's gpus, drivers
// and visible sections (the visible subset for classad, as condor_gpu_discovery does).
Result<std::string> render_probe(const Document& document, const std::string& format);

std::string render_probe_table(const NodeModel& node, const NodeVisible& visible);
std::string render_classad(const NodeModel& node, const NodeVisible& visible);
std::string render_nfd(const NodeModel& node);
std::string render_gres(const NodeModel& node);
// The architectures entry of a CRIC (PanDA) queue for this node (format_cric.cpp).
std::string render_cric(const NodeModel& node);

}  // namespace gpukit
