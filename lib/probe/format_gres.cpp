// gpuprobe --format gres: Slurm gres.conf lines, the same records gpumatch
// --plan --format slurm writes (core/slurm.hpp holds both).
#include "core/slurm.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

std::string render_gres(const NodeModel& node) {
  slurm::GresConf gres = slurm::gres_conf(node);
  std::string out = header_comment(node, "Slurm gres.conf");
  for (const auto& note : gres.notes) out += "# " + note + "\n";
  if (gres.records.empty() && gres.notes.empty()) out += "# no GPUs on this node\n";
  // Explicit device files: slurmd needs no NVML to count these, and an
  // AutoDetect=nvml that cannot open NVML would remove them (gres.conf(5)).
  if (!gres.records.empty()) out += "AutoDetect=off\n";
  return out + gres.lines();
}

}  // namespace gpukit
