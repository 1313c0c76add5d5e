#include "probe/formats.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/node.hpp"
#include "core/table.hpp"
#include "core/fsroot.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "probe/visible.hpp"

namespace gpukit {

namespace {

// ---------------------------------------------------------------- helpers

std::string str(const OptText& v) { return v.value_or(""); }

const NodeGpu* gpu_at(const NodeModel& node, const NodeVisibleDevice& device) {
  const auto& gpus = node.gpu_list();
  if (!device.gpu_index || *device.gpu_index < 0 || static_cast<size_t>(*device.gpu_index) >= gpus.size()) return nullptr;
  return &gpus[static_cast<size_t>(*device.gpu_index)];
}

const NodeMigInstance* instance_of(const NodeGpu& gpu, const std::string& uuid) {
  for (const auto& inst : gpu.mig_instances)
    if (str(inst.uuid) == uuid) return &inst;
  return nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

constexpr std::uint64_t mib = 1ULL << 20;
constexpr std::uint64_t gib = 1ULL << 30;

// The document's visible devices, or the unrestricted view when the document
// has none (a document from an older gpuprobe, or hand-made).
Result<NodeVisible> visible_of(const Document& document, const NodeModel& node) {
  if (node.visible) return *node.visible;
  const json* gpus = document.section("gpus");
  return read_visible_section(visible_section(gpus ? *gpus : json::array(), {}), "visible");
}

// "12.4" -> 12040, the CUDA driver API's encoding.
std::optional<long long> cuda_value(const NodeVersion& version) {
  if (version.value) return *version.value;
  if (version.parts.size() >= 2) return version.parts[0] * 1000 + version.parts[1] * 10;
  return std::nullopt;
}

std::optional<long long> cuda_value_of(const NodeDriver* driver) {
  if (!driver || !driver->cuda_version) return std::nullopt;
  return cuda_value(*driver->cuda_version);
}

std::string driver_raw(const NodeDriver* driver) {
  return driver && driver->driver_version ? str(driver->driver_version->raw) : std::string();
}

// Logical core indices (what Slurm's Cores= and hwloc's L# count) for a CPU
// list such as "0-31,64-95". Linux numbers the second hardware thread of
// core N as N + <cores> on the x86 and Arm servers we know; when the cpu
// section does not show that shape (threads not a multiple of cores) there
// is no safe mapping and nullopt is returned.
std::optional<std::string> cores_of(const std::string& cpu_list, const std::optional<NodeCpu>& cpu) {
  if (!cpu) return std::nullopt;
  auto cores = cpu->cores;
  auto threads = cpu->threads;
  if (cpu_list.empty() || !cores || !threads || *cores <= 0 || *threads % *cores != 0) return std::nullopt;
  std::set<long long> ids;
  for (const std::string& part : split(cpu_list, ',')) {
    auto dash = part.find('-');
    auto a = parse_integer<long long>(trim(part.substr(0, dash)));
    auto b = dash == std::string::npos ? a : parse_integer<long long>(trim(part.substr(dash + 1)));
    if (!a || !b || *a < 0 || *b < *a || *b - *a > 1 << 20) return std::nullopt;
    for (long long c = *a; c <= *b; ++c) ids.insert(c % *cores);
  }
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

// ---------------------------------------------------------------- table

std::string dash_or(const std::optional<long long>& v) { return v ? std::to_string(*v) : "-"; }
std::string dash_or(const OptInt& v) { return v ? std::to_string(*v) : "-"; }

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
  return out + visible_table(visible);
}

// ---------------------------------------------------------------- classad

namespace {

std::string classad_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Cores per SM for the FP32 units, as condor_gpu_discovery's CoresPerCU
// (its table stops at 8.6; the later rows are from the CUDA programming guide).
std::optional<int> cores_per_sm(long long major, long long minor) {
  int sm = static_cast<int>(major * 16 + minor);
  switch (sm) {
    case 0x30: case 0x32: case 0x35: case 0x37: return 192;
    case 0x50: case 0x52: case 0x53: return 128;
    case 0x60: return 64;
    case 0x61: case 0x62: return 128;
    case 0x70: case 0x72: case 0x75: return 64;
    case 0x80: return 64;
    case 0x86: case 0x87: case 0x89: return 128;
    case 0x90: return 128;
    case 0xa0: case 0xc0: return 128;
    default: return std::nullopt;
  }
}

using Props = std::map<std::string, std::string>;  // sorted, as condor_gpu_discovery prints them

void add_nvidia_driver_props(Props& props, const NodeModel& node) {
  const NodeDriver* nvidia = node.driver("nvidia");
  if (auto v = cuda_value_of(nvidia)) {
    // condor_gpu_discovery prints v/1000 "." v%100: 12040 -> 12.40.
    props["DriverVersion"] = std::to_string(*v / 1000) + "." + std::to_string(*v % 100);
    props["MaxSupportedVersion"] = std::to_string(*v);
  }
  if (auto raw = driver_raw(nvidia); !raw.empty()) props["NvidiaDriver"] = classad_string(raw);
}

void add_common_gpu_props(Props& props, const NodeGpu& gpu) {
  if (auto bus = str(gpu.pci_bus_id); !bus.empty()) props["DevicePciBusId"] = classad_string(upper(bus));
  if (gpu.ecc_enabled) props["ECCEnabled"] = *gpu.ecc_enabled ? "true" : "false";
  if (gpu.max_sm_mhz) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(*gpu.max_sm_mhz));
    props["ClockMhz"] = buf;
  }
}

void add_memory_and_units(Props& props, const OptBytes& memory_bytes, const OptInt& multiprocessors) {
  if (memory_bytes)
    props["GlobalMemoryMb"] = std::to_string(std::llround(static_cast<double>(*memory_bytes) / static_cast<double>(mib)));
  if (multiprocessors) props["ComputeUnits"] = std::to_string(*multiprocessors);
}

Props nvidia_props(const NodeGpu& gpu, const NodeMigInstance* instance, const NodeModel& node) {
  Props props;
  add_common_gpu_props(props, gpu);
  add_nvidia_driver_props(props, node);
  if (gpu.cc_major && gpu.cc_minor) {
    props["Capability"] = std::to_string(*gpu.cc_major) + "." + std::to_string(*gpu.cc_minor);
    if (auto cores = cores_per_sm(*gpu.cc_major, *gpu.cc_minor)) props["CoresPerCU"] = std::to_string(*cores);
  }
  if (instance) {
    // A MIG device's name as NVML gives it: "<parent> MIG <profile>".
    std::string profile = str(instance->profile);
    props["DeviceName"] = classad_string(str(gpu.name) + (profile.empty() ? "" : " MIG " + profile));
    props["DeviceUuid"] = classad_string(str(instance->uuid));
    add_memory_and_units(props, instance->memory_bytes, instance->multiprocessors);
  } else {
    props["DeviceName"] = classad_string(str(gpu.name));
    if (auto uuid = str(gpu.uuid); !uuid.empty()) props["DeviceUuid"] = classad_string(uuid);
    add_memory_and_units(props, gpu.memory_bytes, gpu.multiprocessors);
  }
  return props;
}

// AMD devices: the gfx target goes into its own attributes, never into
// Capability, where HTCondor's HIP path puts major.minor and lets
// "Capability >= 8.0" match an MI300 (research note, lesson 7).
Props amd_props(const NodeGpu& gpu, const NodeModel& node) {
  Props props;
  add_common_gpu_props(props, gpu);
  props["DeviceName"] = classad_string(str(gpu.name));
  if (auto uuid = str(gpu.uuid); !uuid.empty()) props["DeviceUuid"] = classad_string(uuid);
  add_memory_and_units(props, gpu.memory_bytes, gpu.multiprocessors);
  std::string gfx = str(gpu.gfx);
  if (!gfx.empty()) {
    props["GfxTarget"] = classad_string(gfx);
    // Wavefront size as hipDeviceProp_t.warpSize reports it: 64 on GCN/CDNA, 32 on RDNA.
    props["WarpSize"] = gfx.rfind("gfx9", 0) == 0 && gfx.size() <= 6 ? "64" : "32";
  }
  if (auto target = str(gpu.target_id); !target.empty()) {
    props["TargetId"] = classad_string(target);
    if (target.find(":xnack+") != std::string::npos) props["xNACK"] = "1";
    else if (target.find(":xnack-") != std::string::npos) props["xNACK"] = "0";
  }
  if (auto raw = driver_raw(node.driver("amd")); !raw.empty()) props["AmdDriverVersion"] = classad_string(raw);
  return props;
}

// condor_gpu_discovery names each device's nested ad after its id with '-'
// and '/' turned into '_' (the startd finds the ad the same way).
std::string attribute_of(std::string id) {
  std::replace(id.begin(), id.end(), '-', '_');
  std::replace(id.begin(), id.end(), '/', '_');
  return id;
}

}  // namespace

std::string render_classad(const NodeModel& node, const NodeVisible& visible) {
  std::vector<std::pair<std::string, Props>> devices;  // id, properties
  for (const auto& d : visible.devices) {
    const NodeGpu* gpu = gpu_at(node, d);
    if (!gpu) continue;
    std::string vendor = str(d.vendor);
    std::string uuid = str(d.uuid);
    const NodeMigInstance* instance = d.kind == "mig" ? instance_of(*gpu, uuid) : nullptr;
    // Without a UUID, condor_gpu_discovery falls back to the runtime index.
    std::string id = !uuid.empty() ? uuid : (vendor == "nvidia" ? "CUDA" : "GPU") + dash_or(d.runtime_index);
    devices.emplace_back(id, vendor == "nvidia" ? nvidia_props(*gpu, instance, node) : amd_props(*gpu, node));
  }
  if (devices.empty()) return "DetectedGPUs=0\n";

  std::string ids;
  for (const auto& [id, props] : devices) ids += (ids.empty() ? "" : ", ") + id;
  std::string out = "DetectedGPUs=" + classad_string(ids) + "\n";

  // Properties with one value on every device go into Common.
  Props common;
  for (const auto& [key, value] : devices.front().second) {
    bool shared = std::all_of(devices.begin(), devices.end(), [&](const auto& dev) {
      auto it = dev.second.find(key);
      return it != dev.second.end() && it->second == value;
    });
    if (shared) common[key] = value;
  }
  if (!common.empty()) {
    out += "Common=[ ";
    for (const auto& [key, value] : common) out += key + "=" + value + "; ";
    out += "]\n";
  }
  for (const auto& [id, props] : devices) {
    out += attribute_of(id) + "=[ id=" + classad_string(id) + "; ";
    for (const auto& [key, value] : props)
      if (!common.count(key)) out += key + "=" + value + "; ";
    out += "]\n";
  }
  return out;
}

// ---------------------------------------------------------------- nfd

namespace {

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// A Kubernetes label value: at most 63 characters of [A-Za-z0-9._-], starting
// and ending with an alphanumeric. Like GFD's sanitise(): other characters are
// dropped and runs of blanks become one '-'.
std::string label_value(const std::string& raw) {
  std::string kept;
  for (char c : raw)
    if (alnum(c) || c == '-' || c == '_' || c == '.' || c == ' ') kept += c;
  std::string joined;
  for (const std::string& field : split(kept, ' '))
    if (!field.empty()) joined += (joined.empty() ? "" : "-") + field;
  if (joined.size() > 63) joined.resize(63);
  size_t b = 0, e = joined.size();
  while (b < e && !alnum(joined[b])) ++b;
  while (e > b && !alnum(joined[e - 1])) --e;
  return joined.substr(b, e - b);
}

// "<prefix><name>" with the name part cut to the 63 characters Kubernetes
// allows and ending in an alphanumeric.
std::string label_key(const std::string& prefix, std::string name) {
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && !alnum(name.back())) name.pop_back();
  return prefix + name;
}

// GPU Feature Discovery's gpu.family (internal/lm/resource.go getArchFamily).
std::string cuda_family(long long major, long long minor) {
  switch (major) {
    case 1: return "tesla";
    case 2: return "fermi";
    case 3: return "kepler";
    case 5: return "maxwell";
    case 6: return "pascal";
    case 7: return minor < 5 ? "volta" : "turing";
    case 8: return minor < 9 ? "ampere" : "ada-lovelace";
    case 9: return "hopper";
    case 10: case 12: return "blackwell";
    case 13: return "rubin";
    default: return "undefined";
  }
}

// The amdgpu kernel family acronym the AMD node labeller reports
// (amdgpu_drm.h AMDGPU_FAMILY_*), for the targets we can name with confidence.
std::string amd_family(const std::string& gfx) {
  static const std::map<std::string, std::string> families = {
      {"gfx900", "AI"},  {"gfx906", "AI"},  {"gfx908", "AI"},  {"gfx90a", "AI"},  {"gfx940", "AI"},
      {"gfx941", "AI"},  {"gfx942", "AI"},  {"gfx950", "AI"},  {"gfx1010", "NV"}, {"gfx1011", "NV"},
      {"gfx1012", "NV"}, {"gfx1030", "NV"}, {"gfx1031", "NV"}, {"gfx1032", "NV"}, {"gfx1034", "NV"},
  };
  auto it = families.find(gfx);
  return it == families.end() ? std::string() : it->second;
}

using Labels = std::map<std::string, std::string>;

// One label when every GPU agrees; nothing on a heterogeneous node, where a
// single value would describe some GPUs wrongly (GFD#13).
void label_if_common(Labels& labels, const std::string& key, const std::vector<std::optional<std::string>>& values) {
  if (values.empty() || !values.front()) return;
  for (const auto& v : values)
    if (!v || *v != *values.front()) return;
  labels[key] = label_value(*values.front());
}

// The AMD node labeller's scheme: "<prefix>=<value>" when all GPUs share the
// value, else "<prefix>.<value>=<count>" for each value.
void label_counted(Labels& labels, const std::string& prefix, const std::vector<std::string>& values) {
  std::map<std::string, int> counts;
  for (const auto& v : values)
    if (!v.empty()) counts[label_value(v)]++;
  if (counts.size() == 1) labels[prefix] = counts.begin()->first;
  else
    for (const auto& [value, n] : counts) labels[prefix + "." + value] = std::to_string(n);
}

std::optional<std::string> mib_text(const OptBytes& bytes) {
  return bytes ? std::optional<std::string>(std::to_string(*bytes / mib)) : std::nullopt;
}

std::optional<std::string> int_text(const OptInt& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

void nvidia_driver_labels(Labels& labels, const NodeDriver* nvidia) {
  std::string driver = driver_raw(nvidia);
  auto parts = split(driver, '.');
  if (!driver.empty() && parts.size() >= 2 && parts.size() <= 3) {
    labels["nvidia.com/cuda.driver-version.major"] = label_value(parts[0]);
    labels["nvidia.com/cuda.driver-version.minor"] = label_value(parts[1]);
    labels["nvidia.com/cuda.driver-version.revision"] = parts.size() == 3 ? label_value(parts[2]) : "";
    labels["nvidia.com/cuda.driver-version.full"] = label_value(driver);
  }
  // GFD's "runtime" version is the driver's CUDA version.
  if (auto cuda = cuda_value_of(nvidia)) {
    std::string major = std::to_string(*cuda / 1000), minor = std::to_string((*cuda % 1000) / 10);
    labels["nvidia.com/cuda.runtime-version.major"] = major;
    labels["nvidia.com/cuda.runtime-version.minor"] = minor;
    labels["nvidia.com/cuda.runtime-version.full"] = major + "." + minor;
  }
}

void nvidia_gpu_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus) {
  std::vector<std::optional<std::string>> product, memory, family, cc_major, cc_minor;
  std::map<std::string, int> products;
  bool any_mig_capable = false, all_known = true;
  for (const NodeGpu* gpu : gpus) {
    std::string name = label_value(str(gpu->name));
    product.push_back(name.empty() ? std::nullopt : std::optional<std::string>(name));
    if (!name.empty()) products[name]++;
    memory.push_back(mib_text(gpu->memory_bytes));
    auto major = gpu->cc_major, minor = gpu->cc_minor;
    family.push_back(major && minor ? std::optional<std::string>(cuda_family(*major, *minor)) : std::nullopt);
    cc_major.push_back(int_text(major));
    cc_minor.push_back(int_text(minor));
    std::string mode = str(gpu->mig_mode);
    if (mode == "enabled" || mode == "disabled") any_mig_capable = true;
    else if (mode != "unsupported") all_known = false;
  }
  label_if_common(labels, "nvidia.com/gpu.product", product);
  label_if_common(labels, "nvidia.com/gpu.memory", memory);
  label_if_common(labels, "nvidia.com/gpu.family", family);
  label_if_common(labels, "nvidia.com/gpu.compute.major", cc_major);
  label_if_common(labels, "nvidia.com/gpu.compute.minor", cc_minor);
  if (any_mig_capable) labels["nvidia.com/mig.capable"] = "true";
  else if (all_known) labels["nvidia.com/mig.capable"] = "false";
  if (products.size() > 1) {
    labels["gpukit.io/nvidia.heterogeneous"] = "true";
    for (const auto& [name, n] : products) labels[label_key("gpukit.io/", "nvidia.product." + name)] = std::to_string(n);
  }
}

// MIG, GFD's mixed strategy: one resource per profile.
void nvidia_mig_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus) {
  struct Profile {
    int count = 0;
    std::vector<std::optional<std::string>> memory, sms, product;
  };
  std::map<std::string, Profile> profiles;
  for (const NodeGpu* gpu : gpus) {
    if (!gpu->mig_enabled()) continue;
    for (const auto& inst : gpu->mig_instances) {
      std::string profile = label_value(str(inst.profile));
      if (profile.empty()) continue;
      Profile& p = profiles[profile];
      ++p.count;
      p.memory.push_back(mib_text(inst.memory_bytes));
      p.sms.push_back(int_text(inst.multiprocessors));
      p.product.push_back(label_value(str(gpu->name)) + "-MIG-" + profile);
    }
  }
  if (!profiles.empty()) labels["nvidia.com/mig.strategy"] = "mixed";
  for (const auto& [profile, p] : profiles) {
    std::string prefix = "nvidia.com/mig-" + profile;
    labels[prefix + ".count"] = std::to_string(p.count);
    label_if_common(labels, prefix + ".memory", p.memory);
    label_if_common(labels, prefix + ".multiprocessors", p.sms);
    label_if_common(labels, prefix + ".product", p.product);
  }
}

void nvidia_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus, const NodeModel& node) {
  if (gpus.empty()) return;
  labels["nvidia.com/gpu.count"] = std::to_string(gpus.size());
  nvidia_driver_labels(labels, node.driver("nvidia"));
  nvidia_gpu_labels(labels, gpus);
  nvidia_mig_labels(labels, gpus);
}

// The AMD node labeller's xnack / sramecc: "on", "off" or unknown.
std::string target_feature(const std::string& target, const char* feature_name) {
  if (target.find(std::string(":") + feature_name + "+") != std::string::npos) return "on";
  if (target.find(std::string(":") + feature_name + "-") != std::string::npos) return "off";
  return {};
}

void amd_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus, const NodeModel& node) {
  if (gpus.empty()) return;
  std::vector<std::string> family, device_id, product, vram, cus, gfx, xnack, sramecc;
  for (const NodeGpu* gpu : gpus) {
    std::string g = str(gpu->gfx);
    family.push_back(amd_family(g));
    gfx.push_back(g);
    std::string id = lower(str(gpu->pci_device_id));
    device_id.push_back(id.rfind("0x", 0) == 0 ? id.substr(2) : id);
    // The labeller's product-name: blanks to '_', parentheses dropped.
    std::string name;
    for (char c : str(gpu->name))
      if (c != '(' && c != ')') name += c == ' ' ? '_' : c;
    product.push_back(name);
    if (gpu->memory_bytes)
      vram.push_back(std::to_string(std::llround(static_cast<double>(*gpu->memory_bytes) / static_cast<double>(gib))) + "G");
    if (gpu->multiprocessors) cus.push_back(std::to_string(*gpu->multiprocessors));
    std::string target = str(gpu->target_id);
    xnack.push_back(target_feature(target, "xnack"));
    sramecc.push_back(target_feature(target, "sramecc"));
  }
  label_counted(labels, "amd.com/gpu.family", family);
  label_counted(labels, "amd.com/gpu.device-id", device_id);
  label_counted(labels, "amd.com/gpu.product-name", product);
  label_counted(labels, "amd.com/gpu.vram", vram);
  label_counted(labels, "amd.com/gpu.cu-count", cus);
  if (auto raw = driver_raw(node.driver("amd")); !raw.empty()) labels["amd.com/gpu.driver-version"] = label_value(raw);
  labels["gpukit.io/amdgpu.count"] = std::to_string(gpus.size());
  label_counted(labels, "gpukit.io/amdgpu.gfx", gfx);
  label_counted(labels, "gpukit.io/amdgpu.xnack", xnack);
  label_counted(labels, "gpukit.io/amdgpu.sramecc", sramecc);
}

std::string header_comment(const NodeModel& node, const char* what) {
  std::string hostname = node.host ? str(node.host->hostname) : std::string();
  return std::string("# ") + what + " from gpukit " + version() + (hostname.empty() ? "" : " on " + hostname) + "\n";
}

}  // namespace

std::string render_nfd(const NodeModel& node) {
  std::vector<const NodeGpu*> nvidia, amd;
  for (const NodeGpu& gpu : node.gpu_list()) {
    if (gpu.vendor == "nvidia") nvidia.push_back(&gpu);
    if (gpu.vendor == "amd") amd.push_back(&gpu);
  }
  Labels labels;
  nvidia_labels(labels, nvidia, node);
  amd_labels(labels, amd, node);
  // A GPU whose driver is missing or broken is worth a label: jobs would fail there.
  if (node.drivers)
    for (const auto& d : *node.drivers) {
      std::string status = str(d.status);
      if (!status.empty() && status != "no_gpu") labels["gpukit.io/" + d.vendor + ".driver-status"] = label_value(status);
    }
  std::string out = header_comment(node, "node-feature-discovery labels");
  for (const auto& [key, value] : labels) out += key + "=" + value + "\n";
  return out;
}

// ---------------------------------------------------------------- gres

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
  for (const NodeGpu& gpu : node.gpu_list()) gres.add(gpu);
  return gres.text(header_comment(node, "Slurm gres.conf"));
}

Result<std::string> render_probe(const Document& document, const std::string& format) {
  if (format == "json") return document.dump();
  if (format != "table" && format != "classad" && format != "nfd" && format != "gres")
    return usage_error("unknown format '" + format + "'; accepted: json, table, classad, nfd, gres", "--format");
  auto node = read_node_model(document, "node document");
  if (!node) return node.error();
  if (format == "nfd") return render_nfd(*node);
  if (format == "gres") return render_gres(*node);
  auto visible = visible_of(document, *node);
  if (!visible) return visible.error();
  if (format == "table") return render_probe_table(*node, *visible);
  return render_classad(*node, *visible);
}

}  // namespace gpukit
