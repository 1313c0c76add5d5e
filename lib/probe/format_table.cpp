// gpuprobe --format table: the node summary, the GPU table, what this process may use.
#include "probe/format_health.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

namespace {

// "1 socket", "2 sockets", "- sockets".
std::string counted(const std::optional<long long>& n, const std::string& noun) {
  return dash_or(n) + " " + noun + (n && *n == 1 ? "" : "s");
}

std::string bytes_or(const OptBytes& v) { return v ? format_bytes(*v) : "-"; }

std::string compat_of(const NodeGpu& gpu) {
  if (gpu.cc_major) return std::to_string(*gpu.cc_major) + "." + dash_or(gpu.cc_minor);
  return gpu.gfx && !gpu.gfx->empty() ? *gpu.gfx : "-";
}

std::string pcie_of(const NodeGpu& gpu) {
  auto gen = gpu.pcie_current_generation;
  auto width = gpu.pcie_current_width;
  if (!gen) gen = gpu.pcie_max_generation;
  if (!width) width = gpu.pcie_max_width;
  if (!gen && !width) return "-";
  return "gen" + dash_or(gen) + " x" + dash_or(width);
}

std::string host_line(const std::optional<NodeHost>& host) {
  if (!host) return "-";
  std::string line = str(host->hostname);
  std::vector<std::string> facts;
  if (auto os = str(host->os_pretty_name); !os.empty()) facts.push_back(os);
  if (auto kernel = str(host->kernel); !kernel.empty()) facts.push_back("kernel " + kernel);
  if (auto arch = str(host->arch); !arch.empty()) facts.push_back(arch);
  if (auto runtime = str(host->container_runtime); !runtime.empty()) facts.push_back("in " + runtime);
  if (auto batch = str(host->batch_system); !batch.empty()) facts.push_back("batch system " + batch);
  std::string joined;
  for (const auto& f : facts) joined += (joined.empty() ? "" : ", ") + f;
  if (!joined.empty()) line += (line.empty() ? "" : " ") + ("(" + joined + ")");
  return line.empty() ? "-" : line;
}

std::string cpu_line(const std::optional<NodeCpu>& cpu) {
  if (!cpu) return "-";
  std::string model = str(cpu->model);
  std::string line = (model.empty() ? std::string("unknown CPU") : model) + ": " + counted(cpu->sockets, "socket") +
                     ", " + counted(cpu->cores, "core") + ", " + counted(cpu->threads, "thread");
  if (cpu->has_numa_nodes) line += ", " + counted(static_cast<long long>(cpu->numa_nodes.size()), "NUMA node");
  if (cpu->allowed && cpu->allowed->count) {
    line += "; this process: " + std::to_string(*cpu->allowed->count) + " CPUs";
    if (auto cpus = str(cpu->allowed->cpus); !cpus.empty()) line += " (" + cpus + ")";
    if (auto quota = cpu->allowed->cgroup_quota_cpus) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", *quota);
      line += std::string(", cgroup quota ") + buf + " CPUs";
    }
  }
  return line;
}

std::string memory_line(const std::optional<NodeMemory>& memory) {
  if (!memory) return "-";
  std::string line = bytes_or(memory->total_bytes) + " total, " + bytes_or(memory->available_bytes) + " available";
  line += std::string("; memlock ") + (memory->memlock_limit_bytes ? format_bytes(*memory->memlock_limit_bytes) : "unlimited");
  line += std::string("; cgroup limit ") + (memory->cgroup_limit_bytes ? format_bytes(*memory->cgroup_limit_bytes) : "none");
  return line;
}

std::string driver_line(const NodeDriver& vendor) {
  std::string status = str(vendor.status);
  std::string line = status.empty() ? "unknown" : status;
  std::vector<std::string> facts;
  if (auto v = driver_raw(&vendor); !v.empty()) facts.push_back("driver " + v);
  if (auto v = vendor.cuda_version ? str(vendor.cuda_version->raw) : std::string(); !v.empty()) facts.push_back("CUDA " + v);
  if (vendor.gpu_count) facts.push_back(counted(vendor.gpu_count, "GPU"));
  if (auto s = str(vendor.source); !s.empty()) facts.push_back("via " + s);
  for (size_t i = 0; i < facts.size(); ++i) line += (i ? ", " : ": ") + facts[i];
  if (auto reason = str(vendor.reason); !reason.empty()) line += " (" + reason + ")";
  return line;
}

std::string gpu_table(const std::vector<NodeGpu>& gpus) {
  Table table({"GPU", "name", "memory", "SMs/CUs", "CC/gfx", "PCIe", "NUMA", "MIG", "allocatable"});
  for (const NodeGpu& gpu : gpus) {
    std::string index = dash_or(gpu.index);
    std::string mig = str(gpu.mig_mode);
    table.add_row({index, str(gpu.name), bytes_or(gpu.memory_bytes), dash_or(gpu.multiprocessors), compat_of(gpu),
                   pcie_of(gpu), dash_or(gpu.numa_node), mig.empty() ? "-" : mig,
                   gpu.allocatable ? (*gpu.allocatable ? "yes" : "no") : "-"});
    size_t position = 0;
    for (const auto& inst : gpu.mig_instances) {
      // "<gpu>:<mig>" is how NVIDIA_VISIBLE_DEVICES names an instance.
      std::string profile = str(inst.profile);
      table.add_row({index + ":" + std::to_string(inst.index ? *inst.index : static_cast<long long>(position)),
                     "  MIG " + (profile.empty() ? std::string("instance") : profile), bytes_or(inst.memory_bytes),
                     dash_or(inst.multiprocessors), compat_of(gpu), "-", dash_or(gpu.numa_node), "instance", "yes"});
      ++position;
    }
  }
  return table.render();
}

std::string visible_table(const NodeVisible& visible) {
  std::string out = "\nThis process may use:";
  if (visible.environment.empty()) {
    out += " every device (no visibility variable is set)\n";
  } else {
    std::string vars;
    for (const auto& [name, value] : visible.environment)
      vars += (vars.empty() ? " " : ", ") + name + "=" + (value ? "\"" + *value + "\"" : "");
    out += vars + "\n";
  }
  if (visible.devices.empty()) {
    out += "  no GPU\n";
  } else {
    Table table({"runtime index", "kind", "UUID", "GPU", "selected by"});
    for (const auto& d : visible.devices) {
      std::string vendor = str(d.vendor);
      std::string runtime = vendor == "nvidia" ? "CUDA " : vendor == "amd" ? "HIP " : vendor + " ";
      std::string uuid = str(d.uuid);
      std::string by = str(d.selected_by);
      table.add_row({runtime + dash_or(d.runtime_index), str(d.kind), uuid.empty() ? "-" : uuid, dash_or(d.gpu_index),
                     by.empty() ? "-" : by});
    }
    for (const std::string& line : split(table.render(), '\n'))
      if (!line.empty()) out += "  " + line + "\n";
  }
  for (const auto& p : visible.problems) out += "  problem: " + p + "\n";
  return out;
}

}  // namespace

std::string render_probe_table(const NodeModel& node, const NodeVisible& visible) {
  std::vector<std::pair<std::string, std::string>> summary = {
      {"host", host_line(node.host)}, {"cpu", cpu_line(node.cpu)}, {"memory", memory_line(node.memory)}};
  if (node.drivers)
    for (const auto& d : *node.drivers) summary.emplace_back(d.vendor, driver_line(d));
  std::string out = render_key_values(summary) + "\n";
  out += node.gpu_list().empty() ? std::string("No GPUs found.\n") : gpu_table(node.gpu_list());
  out += health_table(node);
  return out + visible_table(visible);
}

}  // namespace gpukit
