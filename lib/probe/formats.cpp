#include "probe/formats.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/table.hpp"
#include "core/fsroot.hpp"
#include "core/units.hpp"
#include "core/version.hpp"
#include "probe/visible.hpp"

namespace gpukit {

namespace {

// ---------------------------------------------------------------- helpers

const json& empty_object() {
  static const json object = json::object();
  return object;
}

const json& empty_array() {
  static const json array = json::array();
  return array;
}

const json& section_or(const Document& document, const char* name, const json& fallback) {
  const json* s = document.section(name);
  return s ? *s : fallback;
}

std::string text(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<long long> integer(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->is_number_integer() ? it->get<long long>() : std::llround(it->get<double>());
}

std::optional<double> number(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<bool> boolean(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

const json& child(const json& object, const char* key) {
  if (!object.is_object()) return empty_object();
  auto it = object.find(key);
  return it != object.end() && (it->is_object() || it->is_array()) ? *it : empty_object();
}

const json& instances_of(const json& gpu) {
  const json& list = child(child(gpu, "mig"), "instances");
  return list.is_array() ? list : empty_array();
}

bool mig_enabled(const json& gpu) { return text(child(gpu, "mig"), "mode") == "enabled"; }

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

// The visible section of the document, or the unrestricted view when the
// document has none (a document from an older gpuprobe, or hand-made).
json visible_of(const Document& document, const json& gpus) {
  if (const json* v = document.section("visible")) return *v;
  return visible_section(gpus, {});
}

// "12.4" -> 12040, the CUDA driver API's encoding.
std::optional<long long> cuda_value(const json& version) {
  if (auto v = integer(version, "value")) return v;
  const json& parts = child(version, "parts");
  if (parts.is_array() && parts.size() >= 2 && parts[0].is_number_integer() && parts[1].is_number_integer())
    return parts[0].get<long long>() * 1000 + parts[1].get<long long>() * 10;
  return std::nullopt;
}

// Logical core indices (what Slurm's Cores= and hwloc's L# count) for a CPU
// list such as "0-31,64-95". Linux numbers the second hardware thread of
// core N as N + <cores> on the x86 and Arm servers we know; when the cpu
// section does not show that shape (threads not a multiple of cores) there
// is no safe mapping and nullopt is returned.
std::optional<std::string> cores_of(const std::string& cpu_list, const json& cpu) {
  auto cores = integer(cpu, "cores");
  auto threads = integer(cpu, "threads");
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

const json* gpu_at(const json& gpus, const json& device) {
  auto pos = integer(device, "gpu_index");
  if (!pos || *pos < 0 || static_cast<size_t>(*pos) >= gpus.size()) return nullptr;
  return &gpus[static_cast<size_t>(*pos)];
}

const json* instance_of(const json& gpu, const std::string& uuid) {
  for (const json& inst : instances_of(gpu))
    if (text(inst, "uuid") == uuid) return &inst;
  return nullptr;
}

// ---------------------------------------------------------------- table

std::string dash_or(const std::optional<long long>& v) { return v ? std::to_string(*v) : "-"; }

// "1 socket", "2 sockets", "- sockets".
std::string counted(const std::optional<long long>& n, const std::string& noun) {
  return dash_or(n) + " " + noun + (n && *n == 1 ? "" : "s");
}

std::string bytes_or(const std::optional<long long>& v) {
  return v && *v >= 0 ? format_bytes(static_cast<std::uint64_t>(*v)) : "-";
}

std::string compat_of(const json& gpu) {
  const json& cc = child(gpu, "compute_capability");
  if (auto major = integer(cc, "major")) return std::to_string(*major) + "." + dash_or(integer(cc, "minor"));
  std::string gfx = text(child(gpu, "amdgpu"), "gfx");
  return gfx.empty() ? "-" : gfx;
}

std::string pcie_of(const json& gpu) {
  const json& pcie = child(gpu, "pcie");
  auto gen = integer(pcie, "current_generation");
  auto width = integer(pcie, "current_width");
  if (!gen) gen = integer(pcie, "max_generation");
  if (!width) width = integer(pcie, "max_width");
  if (!gen && !width) return "-";
  return "gen" + dash_or(gen) + " x" + dash_or(width);
}

std::string host_line(const json& host) {
  std::string line = text(host, "hostname");
  std::vector<std::string> facts;
  if (auto os = text(child(host, "os"), "pretty_name"); !os.empty()) facts.push_back(os);
  if (auto kernel = text(host, "kernel"); !kernel.empty()) facts.push_back("kernel " + kernel);
  if (auto arch = text(host, "arch"); !arch.empty()) facts.push_back(arch);
  if (auto runtime = text(child(host, "container"), "runtime"); !runtime.empty()) facts.push_back("in " + runtime);
  if (auto batch = text(host, "batch_system"); !batch.empty()) facts.push_back("batch system " + batch);
  std::string joined;
  for (const auto& f : facts) joined += (joined.empty() ? "" : ", ") + f;
  if (!joined.empty()) line += (line.empty() ? "" : " ") + ("(" + joined + ")");
  return line.empty() ? "-" : line;
}

std::string cpu_line(const json& cpu) {
  if (cpu.empty()) return "-";
  std::string model = text(cpu, "model");
  std::string line = (model.empty() ? std::string("unknown CPU") : model) + ": " +
                     counted(integer(cpu, "sockets"), "socket") + ", " + counted(integer(cpu, "cores"), "core") + ", " +
                     counted(integer(cpu, "threads"), "thread");
  const json& numa = child(cpu, "numa_nodes");
  if (numa.is_array()) line += ", " + counted(static_cast<long long>(numa.size()), "NUMA node");
  const json& allowed = child(cpu, "allowed");
  if (auto count = integer(allowed, "count")) {
    line += "; this process: " + std::to_string(*count) + " CPUs";
    if (auto cpus = text(allowed, "cpus"); !cpus.empty()) line += " (" + cpus + ")";
    if (auto quota = number(allowed, "cgroup_quota_cpus")) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%g", *quota);
      line += std::string(", cgroup quota ") + buf + " CPUs";
    }
  }
  return line;
}

std::string memory_line(const json& memory) {
  if (memory.empty()) return "-";
  std::string line = bytes_or(integer(memory, "total_bytes")) + " total, " +
                     bytes_or(integer(memory, "available_bytes")) + " available";
  auto memlock = integer(memory, "memlock_limit_bytes");
  line += std::string("; memlock ") + (memlock ? format_bytes(static_cast<std::uint64_t>(*memlock)) : "unlimited");
  auto cgroup = integer(memory, "cgroup_limit_bytes");
  line += std::string("; cgroup limit ") + (cgroup ? format_bytes(static_cast<std::uint64_t>(*cgroup)) : "none");
  return line;
}

std::string driver_line(const json& vendor) {
  std::string status = text(vendor, "status");
  std::string line = status.empty() ? "unknown" : status;
  std::vector<std::string> facts;
  if (auto v = text(child(vendor, "driver_version"), "raw"); !v.empty()) facts.push_back("driver " + v);
  if (auto v = text(child(vendor, "cuda_version"), "raw"); !v.empty()) facts.push_back("CUDA " + v);
  if (auto n = integer(vendor, "gpu_count")) facts.push_back(counted(n, "GPU"));
  if (auto s = text(vendor, "source"); !s.empty()) facts.push_back("via " + s);
  for (size_t i = 0; i < facts.size(); ++i) line += (i ? ", " : ": ") + facts[i];
  if (auto reason = text(vendor, "reason"); !reason.empty()) line += " (" + reason + ")";
  return line;
}

}  // namespace

std::string render_probe_table(const Document& document) {
  const json& host = section_or(document, "host", empty_object());
  const json& cpu = section_or(document, "cpu", empty_object());
  const json& memory = section_or(document, "memory", empty_object());
  const json& drivers = section_or(document, "drivers", empty_object());
  const json& gpus = section_or(document, "gpus", empty_array());

  std::vector<std::pair<std::string, std::string>> summary = {
      {"host", host_line(host)}, {"cpu", cpu_line(cpu)}, {"memory", memory_line(memory)}};
  for (const auto& [vendor, info] : drivers.items())
    if (vendor != "generator" && info.is_object()) summary.emplace_back(vendor, driver_line(info));
  std::string out = render_key_values(summary) + "\n";

  if (gpus.empty()) {
    out += "No GPUs found.\n";
  } else {
    Table table({"GPU", "name", "memory", "SMs/CUs", "CC/gfx", "PCIe", "NUMA", "MIG", "allocatable"});
    for (const json& gpu : gpus) {
      std::string index = dash_or(integer(gpu, "index"));
      std::string mig = text(child(gpu, "mig"), "mode");
      auto allocatable = boolean(gpu, "allocatable");
      table.add_row({index, text(gpu, "name"), bytes_or(integer(gpu, "memory_bytes")),
                     dash_or(integer(gpu, "multiprocessors")), compat_of(gpu), pcie_of(gpu),
                     dash_or(integer(gpu, "numa_node")), mig.empty() ? "-" : mig,
                     allocatable ? (*allocatable ? "yes" : "no") : "-"});
      size_t position = 0;
      for (const json& inst : instances_of(gpu)) {
        // "<gpu>:<mig>" is how NVIDIA_VISIBLE_DEVICES names an instance.
        auto mig_index = integer(inst, "index");
        std::string profile = text(inst, "profile");
        table.add_row({index + ":" + std::to_string(mig_index ? *mig_index : static_cast<long long>(position)),
                       "  MIG " + (profile.empty() ? std::string("instance") : profile),
                       bytes_or(integer(inst, "memory_bytes")), dash_or(integer(inst, "multiprocessors")),
                       compat_of(gpu), "-", dash_or(integer(gpu, "numa_node")), "instance", "yes"});
        ++position;
      }
    }
    out += table.render();
  }

  json visible = visible_of(document, gpus);
  out += "\nThis process may use:";
  const json& env = child(visible, "environment");
  if (env.empty()) {
    out += " every device (no visibility variable is set)\n";
  } else {
    std::string vars;
    for (const auto& [name, value] : env.items())
      vars += (vars.empty() ? " " : ", ") + name + "=" + (value.is_string() ? "\"" + value.get<std::string>() + "\"" : "");
    out += vars + "\n";
  }
  const json& devices = child(visible, "devices");
  if (!devices.is_array() || devices.empty()) {
    out += "  no GPU\n";
  } else {
    Table table({"runtime index", "kind", "UUID", "GPU", "selected by"});
    for (const json& d : devices) {
      std::string vendor = text(d, "vendor");
      std::string runtime = vendor == "nvidia" ? "CUDA " : vendor == "amd" ? "HIP " : vendor + " ";
      std::string uuid = text(d, "uuid");
      std::string by = text(d, "selected_by");
      table.add_row({runtime + dash_or(integer(d, "runtime_index")), text(d, "kind"), uuid.empty() ? "-" : uuid,
                     dash_or(integer(d, "gpu_index")), by.empty() ? "-" : by});
    }
    for (const std::string& line : split(table.render(), '\n'))
      if (!line.empty()) out += "  " + line + "\n";
  }
  const json& problems = child(visible, "problems");
  if (problems.is_array())
    for (const json& p : problems)
      if (p.is_string()) out += "  problem: " + p.get<std::string>() + "\n";
  return out;
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

void add_nvidia_driver_props(Props& props, const json& drivers) {
  const json& nvidia = child(drivers, "nvidia");
  if (auto v = cuda_value(child(nvidia, "cuda_version"))) {
    // condor_gpu_discovery prints v/1000 "." v%100: 12040 -> 12.40.
    props["DriverVersion"] = std::to_string(*v / 1000) + "." + std::to_string(*v % 100);
    props["MaxSupportedVersion"] = std::to_string(*v);
  }
  if (auto raw = text(child(nvidia, "driver_version"), "raw"); !raw.empty()) props["NvidiaDriver"] = classad_string(raw);
}

void add_common_gpu_props(Props& props, const json& gpu) {
  if (auto bus = text(gpu, "pci_bus_id"); !bus.empty()) props["DevicePciBusId"] = classad_string(upper(bus));
  if (auto ecc = boolean(gpu, "ecc_enabled")) props["ECCEnabled"] = *ecc ? "true" : "false";
  if (auto mhz = integer(child(gpu, "clocks"), "max_sm_mhz")) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(*mhz));
    props["ClockMhz"] = buf;
  }
}

void add_memory_and_units(Props& props, const json& object) {
  if (auto bytes = integer(object, "memory_bytes"))
    props["GlobalMemoryMb"] = std::to_string(std::llround(static_cast<double>(*bytes) / static_cast<double>(mib)));
  if (auto units = integer(object, "multiprocessors")) props["ComputeUnits"] = std::to_string(*units);
}

Props nvidia_props(const json& gpu, const json* instance, const json& drivers) {
  Props props;
  add_common_gpu_props(props, gpu);
  add_nvidia_driver_props(props, drivers);
  const json& cc = child(gpu, "compute_capability");
  auto major = integer(cc, "major"), minor = integer(cc, "minor");
  if (major && minor) {
    props["Capability"] = std::to_string(*major) + "." + std::to_string(*minor);
    if (auto cores = cores_per_sm(*major, *minor)) props["CoresPerCU"] = std::to_string(*cores);
  }
  if (instance) {
    // A MIG device's name as NVML gives it: "<parent> MIG <profile>".
    std::string profile = text(*instance, "profile");
    props["DeviceName"] = classad_string(text(gpu, "name") + (profile.empty() ? "" : " MIG " + profile));
    props["DeviceUuid"] = classad_string(text(*instance, "uuid"));
    add_memory_and_units(props, *instance);
  } else {
    props["DeviceName"] = classad_string(text(gpu, "name"));
    if (auto uuid = text(gpu, "uuid"); !uuid.empty()) props["DeviceUuid"] = classad_string(uuid);
    add_memory_and_units(props, gpu);
  }
  return props;
}

// AMD devices: the gfx target goes into its own attributes, never into
// Capability, where HTCondor's HIP path puts major.minor and lets
// "Capability >= 8.0" match an MI300 (research note, lesson 7).
Props amd_props(const json& gpu, const json& drivers) {
  Props props;
  add_common_gpu_props(props, gpu);
  props["DeviceName"] = classad_string(text(gpu, "name"));
  if (auto uuid = text(gpu, "uuid"); !uuid.empty()) props["DeviceUuid"] = classad_string(uuid);
  add_memory_and_units(props, gpu);
  const json& amdgpu = child(gpu, "amdgpu");
  std::string gfx = text(amdgpu, "gfx");
  if (!gfx.empty()) {
    props["GfxTarget"] = classad_string(gfx);
    // Wavefront size as hipDeviceProp_t.warpSize reports it: 64 on GCN/CDNA, 32 on RDNA.
    props["WarpSize"] = gfx.rfind("gfx9", 0) == 0 && gfx.size() <= 6 ? "64" : "32";
  }
  if (auto target = text(amdgpu, "target_id"); !target.empty()) {
    props["TargetId"] = classad_string(target);
    if (target.find(":xnack+") != std::string::npos) props["xNACK"] = "1";
    else if (target.find(":xnack-") != std::string::npos) props["xNACK"] = "0";
  }
  if (auto raw = text(child(child(drivers, "amd"), "driver_version"), "raw"); !raw.empty())
    props["AmdDriverVersion"] = classad_string(raw);
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

std::string render_classad(const Document& document) {
  const json& gpus = section_or(document, "gpus", empty_array());
  const json& drivers = section_or(document, "drivers", empty_object());
  json visible = visible_of(document, gpus);

  std::vector<std::pair<std::string, Props>> devices;  // id, properties
  for (const json& d : child(visible, "devices")) {
    const json* gpu = gpu_at(gpus, d);
    if (!gpu) continue;
    std::string vendor = text(d, "vendor");
    std::string uuid = text(d, "uuid");
    const json* instance = text(d, "kind") == "mig" ? instance_of(*gpu, uuid) : nullptr;
    // Without a UUID, condor_gpu_discovery falls back to the runtime index.
    std::string id = !uuid.empty() ? uuid
                                   : (vendor == "nvidia" ? "CUDA" : "GPU") + dash_or(integer(d, "runtime_index"));
    devices.emplace_back(id, vendor == "nvidia" ? nvidia_props(*gpu, instance, drivers) : amd_props(*gpu, drivers));
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

void nvidia_labels(Labels& labels, const std::vector<const json*>& gpus, const json& drivers) {
  if (gpus.empty()) return;
  const json& nvidia = child(drivers, "nvidia");
  labels["nvidia.com/gpu.count"] = std::to_string(gpus.size());

  std::string driver = text(child(nvidia, "driver_version"), "raw");
  auto parts = split(driver, '.');
  if (!driver.empty() && parts.size() >= 2 && parts.size() <= 3) {
    labels["nvidia.com/cuda.driver-version.major"] = label_value(parts[0]);
    labels["nvidia.com/cuda.driver-version.minor"] = label_value(parts[1]);
    labels["nvidia.com/cuda.driver-version.revision"] = parts.size() == 3 ? label_value(parts[2]) : "";
    labels["nvidia.com/cuda.driver-version.full"] = label_value(driver);
  }
  // GFD's "runtime" version is the driver's CUDA version.
  if (auto cuda = cuda_value(child(nvidia, "cuda_version"))) {
    std::string major = std::to_string(*cuda / 1000), minor = std::to_string((*cuda % 1000) / 10);
    labels["nvidia.com/cuda.runtime-version.major"] = major;
    labels["nvidia.com/cuda.runtime-version.minor"] = minor;
    labels["nvidia.com/cuda.runtime-version.full"] = major + "." + minor;
  }

  std::vector<std::optional<std::string>> product, memory, family, cc_major, cc_minor;
  std::map<std::string, int> products;
  bool any_mig_capable = false, all_known = true;
  for (const json* gpu : gpus) {
    std::string name = label_value(text(*gpu, "name"));
    product.push_back(name.empty() ? std::nullopt : std::optional<std::string>(name));
    if (!name.empty()) products[name]++;
    auto bytes = integer(*gpu, "memory_bytes");
    memory.push_back(bytes ? std::optional<std::string>(std::to_string(*bytes / static_cast<long long>(mib))) : std::nullopt);
    const json& cc = child(*gpu, "compute_capability");
    auto major = integer(cc, "major"), minor = integer(cc, "minor");
    family.push_back(major && minor ? std::optional<std::string>(cuda_family(*major, *minor)) : std::nullopt);
    cc_major.push_back(major ? std::optional<std::string>(std::to_string(*major)) : std::nullopt);
    cc_minor.push_back(minor ? std::optional<std::string>(std::to_string(*minor)) : std::nullopt);
    std::string mode = text(child(*gpu, "mig"), "mode");
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

  // MIG, GFD's mixed strategy: one resource per profile.
  struct Profile {
    int count = 0;
    std::vector<std::optional<std::string>> memory, sms, product;
  };
  std::map<std::string, Profile> profiles;
  for (const json* gpu : gpus) {
    if (!mig_enabled(*gpu)) continue;
    for (const json& inst : instances_of(*gpu)) {
      std::string profile = label_value(text(inst, "profile"));
      if (profile.empty()) continue;
      Profile& p = profiles[profile];
      ++p.count;
      auto bytes = integer(inst, "memory_bytes");
      p.memory.push_back(bytes ? std::optional<std::string>(std::to_string(*bytes / static_cast<long long>(mib))) : std::nullopt);
      auto sms = integer(inst, "multiprocessors");
      p.sms.push_back(sms ? std::optional<std::string>(std::to_string(*sms)) : std::nullopt);
      p.product.push_back(label_value(text(*gpu, "name")) + "-MIG-" + profile);
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

void amd_labels(Labels& labels, const std::vector<const json*>& gpus, const json& drivers) {
  if (gpus.empty()) return;
  std::vector<std::string> family, device_id, product, vram, cus, gfx, xnack, sramecc;
  for (const json* gpu : gpus) {
    std::string g = text(child(*gpu, "amdgpu"), "gfx");
    family.push_back(amd_family(g));
    gfx.push_back(g);
    std::string id = lower(text(*gpu, "pci_device_id"));
    device_id.push_back(id.rfind("0x", 0) == 0 ? id.substr(2) : id);
    // The labeller's product-name: blanks to '_', parentheses dropped.
    std::string name;
    for (char c : text(*gpu, "name"))
      if (c != '(' && c != ')') name += c == ' ' ? '_' : c;
    product.push_back(name);
    if (auto bytes = integer(*gpu, "memory_bytes"))
      vram.push_back(std::to_string(std::llround(static_cast<double>(*bytes) / static_cast<double>(gib))) + "G");
    if (auto n = integer(*gpu, "multiprocessors")) cus.push_back(std::to_string(*n));
    std::string target = text(child(*gpu, "amdgpu"), "target_id");
    auto feature = [&](const char* feature_name) -> std::string {
      if (target.find(std::string(":") + feature_name + "+") != std::string::npos) return "on";
      if (target.find(std::string(":") + feature_name + "-") != std::string::npos) return "off";
      return {};
    };
    xnack.push_back(feature("xnack"));
    sramecc.push_back(feature("sramecc"));
  }
  label_counted(labels, "amd.com/gpu.family", family);
  label_counted(labels, "amd.com/gpu.device-id", device_id);
  label_counted(labels, "amd.com/gpu.product-name", product);
  label_counted(labels, "amd.com/gpu.vram", vram);
  label_counted(labels, "amd.com/gpu.cu-count", cus);
  if (auto raw = text(child(child(drivers, "amd"), "driver_version"), "raw"); !raw.empty())
    labels["amd.com/gpu.driver-version"] = label_value(raw);
  labels["gpukit.io/amdgpu.count"] = std::to_string(gpus.size());
  label_counted(labels, "gpukit.io/amdgpu.gfx", gfx);
  label_counted(labels, "gpukit.io/amdgpu.xnack", xnack);
  label_counted(labels, "gpukit.io/amdgpu.sramecc", sramecc);
}

std::string header_comment(const json& host, const char* what) {
  std::string hostname = text(host, "hostname");
  return std::string("# ") + what + " from gpukit " + version() + (hostname.empty() ? "" : " on " + hostname) + "\n";
}

}  // namespace

std::string render_nfd(const Document& document) {
  const json& gpus = section_or(document, "gpus", empty_array());
  const json& drivers = section_or(document, "drivers", empty_object());
  std::vector<const json*> nvidia, amd;
  for (const json& gpu : gpus) {
    if (text(gpu, "vendor") == "nvidia") nvidia.push_back(&gpu);
    if (text(gpu, "vendor") == "amd") amd.push_back(&gpu);
  }
  Labels labels;
  nvidia_labels(labels, nvidia, drivers);
  amd_labels(labels, amd, drivers);
  // A GPU whose driver is missing or broken is worth a label: jobs would fail there.
  for (const auto& [vendor, info] : drivers.items()) {
    std::string status = text(info, "status");
    if (!status.empty() && status != "no_gpu") labels["gpukit.io/" + vendor + ".driver-status"] = label_value(status);
  }
  std::string out = header_comment(section_or(document, "host", empty_object()), "node-feature-discovery labels");
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

std::string render_gres(const Document& document) {
  const json& gpus = section_or(document, "gpus", empty_array());
  const json& cpu = section_or(document, "cpu", empty_object());
  std::string out = header_comment(section_or(document, "host", empty_object()), "Slurm gres.conf");
  std::string body;
  bool guessed_minor = false, guessed_cores = false;

  auto cores_field = [&](const json& gpu) -> std::string {
    std::string cpus = text(gpu, "local_cpus");
    if (cpus.empty()) return {};
    if (auto cores = cores_of(cpus, cpu)) return " Cores=" + *cores;
    guessed_cores = true;
    return {};
  };

  for (const json& gpu : gpus) {
    std::string vendor = text(gpu, "vendor");
    std::string name = text(gpu, "name");
    std::string label = (text(gpu, "uuid").empty() ? text(gpu, "pci_bus_id") : text(gpu, "uuid")) + " (" + name + ")";
    if (auto loaded = boolean(gpu, "driver_loaded"); loaded && !*loaded) {
      body += "# " + label + ": no driver bound, so no device file\n";
      continue;
    }
    if (vendor == "nvidia") {
      auto minor = integer(gpu, "device_minor");
      if (!minor) {
        minor = integer(gpu, "index");
        guessed_minor = true;
      }
      std::string device = "/dev/nvidia" + dash_or(minor);
      if (!mig_enabled(gpu)) {
        body += "Name=gpu Type=" + gres_type(name) + " File=" + device + cores_field(gpu) + "\n";
        continue;
      }
      if (instances_of(gpu).empty()) body += "# " + label + ": MIG mode is enabled but has no instances\n";
      for (const json& inst : instances_of(gpu)) {
        std::string type = mig_gres_type(name, text(inst, "profile"));
        auto gi_minor = integer(inst, "gi_cap_minor"), ci_minor = integer(inst, "ci_cap_minor");
        if (gi_minor && ci_minor) {
          body += "Name=gpu Type=" + type + " MultipleFiles=" + device + ",/dev/nvidia-caps/nvidia-cap" +
                  std::to_string(*gi_minor) + ",/dev/nvidia-caps/nvidia-cap" + std::to_string(*ci_minor) +
                  cores_field(gpu) + "\n";
          continue;
        }
        std::string gi = dash_or(integer(inst, "gpu_instance_id")), ci = dash_or(integer(inst, "compute_instance_id"));
        std::string g = "gpu" + dash_or(minor);
        body += "# " + text(inst, "uuid") + " (" + type + " on " + device +
                "): nvidia-caps minors unknown; MultipleFiles=" + device +
                " plus the nvidia-cap minors of " + g + "/gi" + gi + "/access and " + g + "/gi" + gi + "/ci" + ci +
                "/access in /proc/driver/nvidia-caps/mig-minors\n";
      }
      continue;
    }
    // AMD (and Intel): the DRM render node the KFD topology names.
    if (auto render = integer(gpu, "drm_render_minor")) {
      body += "Name=gpu Type=" + gres_type(name) + " File=/dev/dri/renderD" + std::to_string(*render) +
              cores_field(gpu) + "\n";
    } else {
      body += "# " + label + ": render node unknown (drm_render_minor in /sys/class/kfd/kfd/topology/nodes/*/properties)\n";
    }
  }
  if (guessed_minor)
    out += "# /dev/nvidiaN: the probe did not report device minor numbers; N is the NVML index, which usually equals it\n";
  if (guessed_cores)
    out += "# Cores= left out: the cpu section does not show how CPUs map to cores (Slurm wants core indices)\n";
  if (body.empty()) out += "# no GPUs on this node\n";
  return out + body;
}

Result<std::string> render_probe(const Document& document, const std::string& format) {
  if (format == "json") return document.dump();
  if (format == "table") return render_probe_table(document);
  if (format == "classad") return render_classad(document);
  if (format == "nfd") return render_nfd(document);
  if (format == "gres") return render_gres(document);
  return usage_error("unknown format '" + format + "'; accepted: json, table, classad, nfd, gres", "--format");
}

}  // namespace gpukit
