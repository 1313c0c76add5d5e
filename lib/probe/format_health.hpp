// What gpuprobe's output formats say about health (gpuprobe --health): one call
// per format, so that the format files stay about their format. Each adds
// nothing when the document has no health data.
#pragma once

#include <map>
#include <string>

#include "core/node.hpp"

namespace gpukit {

// ClassAd: the device's Health ("pass", "warn", "fail", ...) and, when it failed,
// HealthReason, into a device's property map.
void add_health_classad_props(std::map<std::string, std::string>& props, const NodeGpu& gpu, const NodeModel& node);
// ClassAd: "GPUsHealthy=<n>\n", the node's count of healthy GPUs.
std::string health_classad_node(const NodeModel& node);
// NFD: gpukit.io/gpu.health (the worst status), gpukit.io/gpu.healthy and .unhealthy (counts).
void add_health_nfd_labels(std::map<std::string, std::string>& labels, const NodeModel& node);
// Slurm gres.conf: true when `gpu` must be left out (a failed check), with a
// comment line saying which and why appended to `comments`.
bool health_gres_left_out(const NodeGpu& gpu, const NodeModel& node, std::string& comments);
// The table: a "Health" block after the GPU table.
std::string health_table(const NodeModel& node);

}  // namespace gpukit
