// gpuprobe --format gres: Slurm gres.conf lines.
#include "probe/format_health.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

namespace {

// Slurm's GRES type for a model: lowercase, blanks to '_', like the names
// AutoDetect=nvml produces ("nvidia_h100_80gb_hbm3"), without the vendor
// word. Slurm matches a configured type as a substring of the detected one,
// so "h100_80gb_hbm3" also agrees with AutoDetect.
std::string gres_type(const std::string& name) {
  std::string s = lower(name);
  for (const char* vendor : {"nvidia ", "amd "})
    if (s.rfind(vendor, 0) == 0) s = s.substr(std::string(vendor).size());
  std::string out;
  for (char c : s) {
    if (c == ' ') out += '_';
    else if (alnum(c) || c == '-' || c == '.' || c == '_') out += c;
  }
  return out.empty() ? "gpu" : out;
}

// Slurm's nvml plugin names a MIG type "<model up to the first '-'>_<profile>":
// "NVIDIA A100-SXM4-40GB" + 3g.20gb -> a100_3g.20gb.
std::string mig_gres_type(const std::string& name, const std::string& profile) {
  return gres_type(name.substr(0, name.find('-'))) + "_" + profile;
}

}  // namespace

namespace {

// gres.conf lines, with what had to be guessed on the way.
class GresWriter {
 public:
  explicit GresWriter(const std::optional<NodeCpu>& cpu) : cpu_(cpu) {}

  void add(const NodeGpu& gpu) {
    std::string uuid = str(gpu.uuid);
    std::string label = (uuid.empty() ? str(gpu.pci_bus_id) : uuid) + " (" + str(gpu.name) + ")";
    if (gpu.driver_loaded && !*gpu.driver_loaded) {
      body_ += "# " + label + ": no driver bound, so no device file\n";
      return;
    }
    if (gpu.vendor == "nvidia") return add_nvidia(gpu, label);
    // AMD (and Intel): the DRM render node the KFD topology names.
    if (gpu.drm_render_minor) {
      body_ += "Name=gpu Type=" + gres_type(str(gpu.name)) + " File=/dev/dri/renderD" +
               std::to_string(*gpu.drm_render_minor) + cores_field(gpu) + "\n";
    } else {
      body_ += "# " + label + ": render node unknown (drm_render_minor in /sys/class/kfd/kfd/topology/nodes/*/properties)\n";
    }
  }

  std::string text(const std::string& header) const {
    std::string out = header;
    if (guessed_minor_)
      out += "# /dev/nvidiaN: the probe did not report device minor numbers; N is the NVML index, which usually equals it\n";
    if (guessed_cores_)
      out += "# Cores= left out: the cpu section does not show how CPUs map to cores (Slurm wants core indices)\n";
    if (body_.empty()) out += "# no GPUs on this node\n";
    return out + body_;
  }

 private:
  std::string cores_field(const NodeGpu& gpu) {
    std::string cpus = str(gpu.local_cpus);
    if (cpus.empty()) return {};
    if (auto cores = cores_of(cpus, cpu_)) return " Cores=" + *cores;
    guessed_cores_ = true;
    return {};
  }

  void add_nvidia(const NodeGpu& gpu, const std::string& label) {
    auto minor = gpu.device_minor;
    if (!minor) {
      minor = gpu.index;
      guessed_minor_ = true;
    }
    const std::string name = str(gpu.name);
    std::string device = "/dev/nvidia" + dash_or(minor);
    if (!gpu.mig_enabled()) {
      body_ += "Name=gpu Type=" + gres_type(name) + " File=" + device + cores_field(gpu) + "\n";
      return;
    }
    if (gpu.mig_instances.empty()) body_ += "# " + label + ": MIG mode is enabled but has no instances\n";
    for (const auto& inst : gpu.mig_instances) add_instance(gpu, inst, device, minor);
  }

  void add_instance(const NodeGpu& gpu, const NodeMigInstance& inst, const std::string& device, const OptInt& minor) {
    std::string type = mig_gres_type(str(gpu.name), str(inst.profile));
    if (inst.gi_cap_minor && inst.ci_cap_minor) {
      body_ += "Name=gpu Type=" + type + " MultipleFiles=" + device + ",/dev/nvidia-caps/nvidia-cap" +
               std::to_string(*inst.gi_cap_minor) + ",/dev/nvidia-caps/nvidia-cap" + std::to_string(*inst.ci_cap_minor) +
               cores_field(gpu) + "\n";
      return;
    }
    std::string gi = dash_or(inst.gpu_instance_id), ci = dash_or(inst.compute_instance_id);
    std::string g = "gpu" + dash_or(minor);
    body_ += "# " + str(inst.uuid) + " (" + type + " on " + device + "): nvidia-caps minors unknown; MultipleFiles=" +
             device + " plus the nvidia-cap minors of " + g + "/gi" + gi + "/access and " + g + "/gi" + gi + "/ci" + ci +
             "/access in /proc/driver/nvidia-caps/mig-minors\n";
  }

  const std::optional<NodeCpu>& cpu_;
  std::string body_;
  bool guessed_minor_ = false, guessed_cores_ = false;
};

}  // namespace

std::string render_gres(const NodeModel& node) {
  GresWriter gres(node.cpu);
  std::string left_out;
  for (const NodeGpu& gpu : node.gpu_list())
    if (!health_gres_left_out(gpu, node, left_out)) gres.add(gpu);
  return gres.text(header_comment(node, "Slurm gres.conf") + left_out);
}

}  // namespace gpukit
