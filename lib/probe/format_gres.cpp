// gpuprobe --format gres: Slurm gres.conf lines, the same records gpumatch
// --plan --format slurm writes (core/slurm.hpp holds both).
#include "core/slurm.hpp"
#include "probe/format_health.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

std::string render_gres(const NodeModel& node) {
  // A GPU that failed a health check is left out, with a comment saying why.
  NodeModel healthy = node;
  std::string left_out;
  if (healthy.gpus) {
    std::vector<NodeGpu> kept;
    for (const NodeGpu& gpu : *healthy.gpus)
      if (!health_gres_left_out(gpu, node, left_out)) kept.push_back(gpu);
    healthy.gpus = std::move(kept);
  }
  slurm::GresConf gres = slurm::gres_conf(healthy);
  std::string out = header_comment(node, "Slurm gres.conf") + left_out;
  for (const auto& note : gres.notes) out += "# " + note + "\n";
  if (gres.records.empty() && gres.notes.empty() && left_out.empty()) out += "# no GPUs on this node\n";
  // Explicit device files: slurmd needs no NVML to count these, and an
  // AutoDetect=nvml that cannot open NVML would remove them (gres.conf(5)).
  if (!gres.records.empty()) out += "AutoDetect=off\n";
  return out + gres.lines();
}

}  // namespace gpukit
