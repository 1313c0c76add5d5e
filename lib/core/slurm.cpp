#include "core/slurm.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/fsroot.hpp"
#include "core/units.hpp"

namespace gpukit::slurm {

namespace {

std::string text_of(const OptText& v) { return v.value_or(""); }

// Slurm 22.05 src/plugins/gpu/common/gpu_common.c,
// gpu_common_underscorify_tolower(): tolower() every character, then ' ' -> '_'.
// Nothing else is dropped, so "NVIDIA A100-SXM4-40GB" keeps its '-'.
std::string underscorify_tolower(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == ' ') c = '_';
  }
  return out;
}

std::string range_list(const std::set<long long>& ids) {
  std::string out;
  for (auto it = ids.begin(); it != ids.end();) {
    long long first = *it, last = first;
    for (++it; it != ids.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += ",";
    out += std::to_string(first);
    if (last != first) out += "-" + std::to_string(last);
  }
  return out;
}

std::string minor_text(const OptInt& v) { return v ? std::to_string(*v) : "-"; }

// Builds the records GPU by GPU, collecting what had to be guessed.
class Builder {
 public:
  explicit Builder(const NodeModel& node) : node_(node) {}

  void add(const NodeGpu& gpu) {
    std::string uuid = text_of(gpu.uuid);
    std::string label = (uuid.empty() ? text_of(gpu.pci_bus_id) : uuid) + " (" + text_of(gpu.name) + ")";
    if (gpu.driver_loaded && !*gpu.driver_loaded) {
      conf_.notes.push_back(label + ": no driver bound, so no device file");
      return;
    }
    if (gpu.vendor == "nvidia") return add_nvidia(gpu, label);
    // AMD (and Intel): the DRM render node the KFD topology names.
    if (gpu.drm_render_minor) {
      std::string file = "/dev/dri/renderD" + std::to_string(*gpu.drm_render_minor);
      conf_.records.push_back({gres_type(text_of(gpu.name)), "File=" + file, cores(gpu), file, text_of(gpu.vendor), false});
    } else {
      conf_.notes.push_back(label + ": render node unknown (drm_render_minor in /sys/class/kfd/kfd/topology/nodes/*/properties)");
    }
  }

  GresConf finish() {
    std::vector<std::string> assumed;
    if (guessed_minor_)
      assumed.push_back("/dev/nvidiaN: the probe did not report device minor numbers; N is the NVML index, which usually equals it");
    if (guessed_cores_)
      assumed.push_back("Cores= left out: the cpu section does not show how CPUs map to cores (Slurm wants core indices)");
    conf_.notes.insert(conf_.notes.begin(), assumed.begin(), assumed.end());
    return std::move(conf_);
  }

 private:
  std::string cores(const NodeGpu& gpu) {
    std::string cpus = text_of(gpu.local_cpus);
    if (cpus.empty()) return {};
    if (auto c = core_indices(cpus, node_.cpu)) return *c;
    guessed_cores_ = true;
    return {};
  }

  void add_nvidia(const NodeGpu& gpu, const std::string& label) {
    auto minor = gpu.device_minor;
    if (!minor) {
      minor = gpu.index;
      guessed_minor_ = true;
    }
    const std::string name = text_of(gpu.name);
    const std::string device = "/dev/nvidia" + minor_text(minor);
    if (!gpu.mig_enabled()) {
      conf_.records.push_back({gres_type(name), "File=" + device, cores(gpu), device, "nvidia", false});
      return;
    }
    if (gpu.mig_instances.empty()) conf_.notes.push_back(label + ": MIG mode is enabled but has no instances");
    for (const auto& inst : gpu.mig_instances) add_instance(gpu, inst, device, minor);
  }

  // A MIG instance needs its parent's device file and the two nvidia-caps
  // files of its GPU and compute instances, as gpu/nvml's _handle_mig() lists them.
  void add_instance(const NodeGpu& gpu, const NodeMigInstance& inst, const std::string& device, const OptInt& minor) {
    std::string type = mig_gres_type(text_of(gpu.name), text_of(inst.profile));
    if (inst.gi_cap_minor && inst.ci_cap_minor) {
      conf_.records.push_back({type,
                               "MultipleFiles=" + device + ",/dev/nvidia-caps/nvidia-cap" + std::to_string(*inst.gi_cap_minor) +
                                   ",/dev/nvidia-caps/nvidia-cap" + std::to_string(*inst.ci_cap_minor),
                               cores(gpu), device, "nvidia", true});
      return;
    }
    std::string gi = minor_text(inst.gpu_instance_id), ci = minor_text(inst.compute_instance_id);
    std::string g = "gpu" + minor_text(minor);
    conf_.notes.push_back(text_of(inst.uuid) + " (" + type + " on " + device + "): nvidia-caps minors unknown; MultipleFiles=" +
                          device + " plus the nvidia-cap minors of " + g + "/gi" + gi + "/access and " + g + "/gi" + gi +
                          "/ci" + ci + "/access in /proc/driver/nvidia-caps/mig-minors");
  }

  const NodeModel& node_;
  GresConf conf_;
  bool guessed_minor_ = false, guessed_cores_ = false;
};

}  // namespace

// The rule of Slurm's AutoDetect=nvml (SchedMD/slurm, Slurm 22.05,
// src/plugins/gpu/nvml/gpu_nvml.c, _get_system_gpu_list_nvml()): the type of
// a whole GPU is nvmlDeviceGetName() passed through
// gpu_common_underscorify_tolower(). Writing the same string keeps explicit
// gres.conf lines and a later AutoDetect=nvml in agreement.
std::string gres_type(std::string_view device_name) {
  std::string t = underscorify_tolower(device_name);
  return t.empty() ? "gpu" : t;
}

// gpu_nvml.c again: for a MIG-enabled GPU the underscorified name is cut at
// its first '-' and _handle_mig() appends "_<slices>g.<GiB>gb", which is the
// NVIDIA profile name gpuprobe reports ("3g.20gb").
std::string mig_gres_type(std::string_view device_name, std::string_view profile) {
  std::string parent = underscorify_tolower(device_name);
  parent = parent.substr(0, parent.find('-'));
  return (parent.empty() ? std::string("gpu") : parent) + "_" + std::string(profile);
}

// Slurm numbers cores socket by socket from 0 (gres.conf(5), Cores: "a
// logical core index ... Core 0 will be the first core on the first socket",
// what lstopo -l calls L#). Linux numbers the second hardware thread of core N
// as N + <cores> on the x86 and Arm servers we know, so a CPU id modulo the
// core count is the core's index; where the cpu section does not show that
// shape (threads not a multiple of cores) there is no safe mapping.
std::optional<std::string> core_indices(const std::string& cpu_list, const std::optional<NodeCpu>& cpu) {
  if (!cpu) return std::nullopt;
  auto cores = cpu->cores;
  auto threads = cpu->threads;
  if (cpu_list.empty() || !cores || !threads || *cores <= 0 || *threads % *cores != 0) return std::nullopt;
  std::set<long long> ids;
  std::string_view rest = cpu_list;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string part = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto dash = part.find('-');
    auto a = parse_integer<long long>(trim(part.substr(0, dash)));
    auto b = dash == std::string::npos ? a : parse_integer<long long>(trim(part.substr(dash + 1)));
    if (!a || !b || *a < 0 || *b < *a || *b - *a > 1 << 20) return std::nullopt;
    for (long long c = *a; c <= *b; ++c) ids.insert(c % *cores);
  }
  return range_list(ids);
}

// slurmd -C (src/slurmd/slurmd/slurmd.c, _print_config()) prints CPUs (all
// hardware threads), Boards=1, SocketsPerBoard, CoresPerSocket,
// ThreadsPerCore and RealMemory = MemTotal in MiB, rounded down.
std::optional<std::string> node_hardware(const NodeModel& node) {
  if (!node.cpu) return std::nullopt;
  auto sockets = node.cpu->sockets, cores = node.cpu->cores, threads = node.cpu->threads;
  if (!sockets || !cores || !threads || *sockets <= 0 || *cores <= 0 || *threads <= 0) return std::nullopt;
  if (*cores % *sockets != 0 || *threads % *cores != 0) return std::nullopt;
  std::string out = "CPUs=" + std::to_string(*threads) + " Boards=1 SocketsPerBoard=" + std::to_string(*sockets) +
                    " CoresPerSocket=" + std::to_string(*cores / *sockets) +
                    " ThreadsPerCore=" + std::to_string(*threads / *cores);
  if (node.memory && node.memory->total_bytes) out += " RealMemory=" + std::to_string(*node.memory->total_bytes >> 20);
  return out;
}

std::vector<std::pair<std::string, int>> GresConf::type_counts() const {
  std::vector<std::pair<std::string, int>> counts;
  for (const auto& r : records) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == r.type; });
    if (it == counts.end()) counts.emplace_back(r.type, 1);
    else ++it->second;
  }
  return counts;
}

std::string GresConf::node_gres() const {
  std::string out;
  for (const auto& [type, n] : type_counts()) out += (out.empty() ? "" : ",") + std::string("gpu:") + type + ":" + std::to_string(n);
  return out;
}

bool GresConf::any_mig() const {
  return std::any_of(records.begin(), records.end(), [](const GresRecord& r) { return r.mig; });
}

std::string GresConf::lines(const std::string& prefix) const {
  std::string out;
  for (const auto& r : records) {
    out += prefix + "Name=gpu Type=" + r.type + " " + r.files;
    if (!r.cores.empty()) out += " Cores=" + r.cores;
    out += "\n";
  }
  return out;
}

GresConf gres_conf(const NodeModel& node) {
  Builder builder(node);
  for (const NodeGpu& gpu : node.gpu_list()) builder.add(gpu);
  return builder.finish();
}

}  // namespace gpukit::slurm
