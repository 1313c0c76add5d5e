#include "bench/selection.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/units.hpp"

namespace gpukit {

namespace {

std::vector<std::string> split_tokens(const std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  for (const auto& t : tokens) {
    size_t start = 0;
    while (start <= t.size()) {
      size_t comma = t.find(',', start);
      std::string part = t.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      part.erase(0, part.find_first_not_of(" \t"));
      part.erase(part.find_last_not_of(" \t") + 1);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (out.empty()) out.push_back("all");
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The hex part of "GPU-…" / "MIG-…", lowercase.
std::string uuid_hex(const std::string& uuid) {
  auto dash = uuid.find('-');
  return lower(dash == std::string::npos ? uuid : uuid.substr(dash + 1));
}

// "0000:17:00.0" and "00000000:17:00.0" alike.
std::string normal_pci(const std::string& bus) {
  std::string b = lower(bus);
  auto colon = b.find(':');
  if (colon == std::string::npos) return b;
  std::string domain = b.substr(0, colon);
  domain.erase(0, std::min(domain.find_first_not_of('0'), domain.size() - 1));
  return domain + b.substr(colon);
}

bool is_index(const std::string& t) {
  return !t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string str(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
int integer(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int>() : 0;
}
std::uint64_t bytes(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_unsigned() ? j[key].get<std::uint64_t>()
         : j.is_object() && j.contains(key) && j[key].is_number_integer() && j[key].get<long long>() > 0
             ? static_cast<std::uint64_t>(j[key].get<long long>())
             : 0;
}

// A device gpuprobe found: a GPU or a MIG instance of one.
struct ProbeDevice {
  std::string id, kind, vendor, name, uuid, pci;
  json gpu;             // the gpus[] entry (the parent, for a MIG instance)
  json mig = nullptr;   // the instance
  bool mig_parent = false;
  bool requested = false;
};

std::vector<ProbeDevice> probe_devices(const json& doc) {
  std::vector<ProbeDevice> out;
  if (!doc.contains("gpus") || !doc["gpus"].is_array()) return out;
  for (const auto& g : doc["gpus"]) {
    ProbeDevice p;
    p.kind = "gpu";
    p.vendor = str(g, "vendor");
    p.name = str(g, "name");
    p.uuid = str(g, "uuid");
    p.pci = str(g, "pci_bus_id");
    p.id = !p.uuid.empty() ? p.uuid : "pci-" + p.pci;
    p.gpu = g;
    const json& mig = g.contains("mig") ? g["mig"] : json(nullptr);
    p.mig_parent = mig.is_object() && str(mig, "mode") == "enabled" && mig.contains("instances") &&
                   mig["instances"].is_array() && !mig["instances"].empty();
    out.push_back(p);
    if (!p.mig_parent) continue;
    for (const auto& inst : mig["instances"]) {
      ProbeDevice m;
      m.kind = "mig";
      m.vendor = p.vendor;
      m.uuid = str(inst, "uuid");
      m.id = m.uuid;
      m.name = p.name + " MIG " + str(inst, "profile");
      m.pci = p.pci;
      m.gpu = g;
      m.mig = inst;
      out.push_back(m);
    }
  }
  return out;
}

// gpuprobe's visible devices as ids (GPU and MIG UUIDs or pci-<bus>).
std::vector<std::string> visible_ids(const json& doc, const std::vector<ProbeDevice>& all) {
  std::vector<std::string> ids;
  if (!doc.contains("visible") || !doc["visible"].is_object() || !doc["visible"].contains("devices")) {
    for (const auto& p : all)
      if (!p.mig_parent) ids.push_back(p.id);
    return ids;
  }
  for (const auto& v : doc["visible"]["devices"]) {
    std::string uuid = str(v, "uuid");
    if (!uuid.empty()) {
      ids.push_back(uuid);
      continue;
    }
    int index = integer(v, "gpu_index");
    if (doc.contains("gpus") && doc["gpus"].is_array() && index >= 0 && static_cast<size_t>(index) < doc["gpus"].size())
      ids.push_back("pci-" + str(doc["gpus"][static_cast<size_t>(index)], "pci_bus_id"));
  }
  return ids;
}

std::string plugin_reasons(const ComputeRegistry& registry, const std::string& vendor) {
  std::string want = vendor == "nvidia" ? "cuda" : vendor == "amd" ? "hip" : "";
  std::string out;
  for (const auto& p : registry.plugins()) {
    if (!want.empty() && p.name != want) continue;
    out += (out.empty() ? "" : "; ") + p.message();
  }
  return out.empty() ? "no plugin for " + (vendor.empty() ? std::string("this vendor") : vendor) + " GPUs" : out;
}

const PluginReport* plugin_for(const ComputeRegistry& registry, const std::string& backend) {
  for (const auto& p : registry.plugins())
    if (p.name == backend) return &p;
  return nullptr;
}

json opt_int(int v) { return v > 0 ? json(v) : json(nullptr); }

BenchDevice gpu_device(const ProbeDevice& p, const std::shared_ptr<Device>& device, const ComputeRegistry& registry,
                       const json& doc) {
  BenchDevice b;
  b.id = p.id;
  b.kind = p.kind;
  b.vendor = p.vendor;
  b.name = p.name;
  b.device = device;
  if (p.kind == "mig") b.parent_uuid = str(p.gpu, "uuid");
  const DeviceInfo* info = device ? &device->info() : nullptr;
  if (info) b.backend = info->backend;
  if (b.name.empty() && info) b.name = info->name;

  DeviceFacts& f = b.facts;
  f.kind = p.kind;
  f.vendor = p.vendor;
  const json& g = p.gpu;
  if (g.contains("compute_capability") && g["compute_capability"].is_object())
    f.cc = std::to_string(integer(g["compute_capability"], "major")) + "." +
           std::to_string(integer(g["compute_capability"], "minor"));
  else if (info && info->cc_major > 0)
    f.cc = std::to_string(info->cc_major) + "." + std::to_string(info->cc_minor);
  if (g.contains("amdgpu") && g["amdgpu"].is_object()) f.gfx = str(g["amdgpu"], "gfx");
  else if (info && info->arch.rfind("gfx", 0) == 0) f.gfx = info->arch;
  const json clocks = g.contains("clocks") ? g["clocks"] : json::object();
  f.clock_mhz = integer(clocks, "max_sm_mhz");
  f.clock_source = "gpuprobe maximum SM clock";
  if (!f.clock_mhz && info) f.clock_mhz = info->max_clock_mhz, f.clock_source = "runtime maximum clock";
  f.memory_clock_mhz = integer(clocks, "max_memory_mhz");
  if (!f.memory_clock_mhz && info) f.memory_clock_mhz = info->memory_clock_mhz;
  f.memory_bus_width_bits = integer(g, "memory_bus_width_bits");
  if (!f.memory_bus_width_bits && info) f.memory_bus_width_bits = info->memory_bus_width_bits;
  const int gpu_units = integer(g, "multiprocessors");
  const std::uint64_t gpu_memory = bytes(g, "memory_bytes");
  if (p.kind == "mig") {
    f.units = integer(p.mig, "multiprocessors");
    f.memory_bytes = bytes(p.mig, "memory_bytes");
    if (gpu_memory && f.memory_bytes) f.memory_share = static_cast<double>(f.memory_bytes) / static_cast<double>(gpu_memory);
    if (gpu_units && f.units) f.unit_share = static_cast<double>(f.units) / gpu_units;
  } else {
    f.units = gpu_units;
    f.memory_bytes = gpu_memory;
  }
  if (!f.units && info) f.units = info->compute_units;
  if (!f.memory_bytes && info) f.memory_bytes = info->memory_bytes;
  if (g.contains("pcie") && g["pcie"].is_object()) {
    f.pcie_generation = integer(g["pcie"], "max_generation");
    f.pcie_width = integer(g["pcie"], "max_width");
    if (!f.pcie_generation) f.pcie_generation = integer(g["pcie"], "current_generation");
    if (!f.pcie_width) f.pcie_width = integer(g["pcie"], "current_width");
  }
  f.catalogue = g.contains("catalogue") ? g["catalogue"] : json(nullptr);
  b.numa_node = g.contains("numa_node") && g["numa_node"].is_number_integer() ? g["numa_node"].get<int>()
                : info                                                       ? info->numa_node
                                                                             : -1;

  json& e = b.environment;
  e["backend"] = b.backend.empty() ? json(nullptr) : json(b.backend);
  e["arch"] = info ? json(info->arch) : json(nullptr);
  e["runtime_ordinal"] = info ? json(info->ordinal) : json(nullptr);
  if (p.kind == "mig") e["parent_uuid"] = b.parent_uuid;
  e["pci_bus_id"] = p.pci.empty() ? (info ? json(info->pci_bus_id) : json(nullptr)) : json(p.pci);
  e["numa_node"] = b.numa_node >= 0 ? json(b.numa_node) : json(nullptr);
  e["driver_version"] = nullptr;
  if (doc.contains("drivers") && doc["drivers"].contains(p.vendor)) {
    const json& dv = doc["drivers"][p.vendor];
    if (dv.contains("driver_version") && dv["driver_version"].is_object()) e["driver_version"] = str(dv["driver_version"], "raw");
  }
  e["driver_runtime_version"] = info && !info->driver_version.empty() ? json(info->driver_version) : json(nullptr);
  e["runtime_version"] = info && !info->runtime_version.empty() ? json(info->runtime_version) : json(nullptr);
  e["vendor_blas"] = info && !info->vendor_blas.empty() ? json(info->vendor_blas) : json(nullptr);
  if (info && info->vendor_blas.empty() && !info->vendor_blas_missing.empty())
    e["vendor_blas_missing"] = info->vendor_blas_missing;
  if (const PluginReport* pr = info ? plugin_for(registry, info->backend) : nullptr)
    e["plugin"] = {{"file", pr->file}, {"path", pr->path}, {"toolkit_version", pr->toolkit_version},
                   {"abi_version", pr->abi_version}};
  else
    e["plugin"] = nullptr;
  e["clocks"] = {{"max_sm_mhz", opt_int(f.clock_mhz)}, {"max_memory_mhz", opt_int(f.memory_clock_mhz)}};
  if (info && !info->notes.empty()) e["notes"] = info->notes;
  return b;
}

BenchDevice cpu_device(const std::shared_ptr<Device>& device, const json& doc) {
  BenchDevice b;
  const DeviceInfo& info = device->info();
  b.id = "cpu";
  b.kind = "cpu";
  b.name = info.name;
  b.backend = "cpu";
  b.device = device;
  b.numa_node = info.numa_node;
  DeviceFacts& f = b.facts;
  f.kind = "cpu";
  f.units = info.compute_units;
  f.clock_mhz = info.max_clock_mhz;
  f.clock_source = info.notes.empty() ? "runtime" : info.notes.front();
  if (!f.clock_mhz && doc.contains("cpu") && doc["cpu"].contains("max_clock_mhz") && doc["cpu"]["max_clock_mhz"].is_number()) {
    f.clock_mhz = static_cast<int>(doc["cpu"]["max_clock_mhz"].get<double>());
    f.clock_source = "gpuprobe cpu.max_clock_mhz";
  }
  f.cpu_fp64_flops_per_cycle = info.fp64_flops_per_cycle;
  f.memory_bytes = info.memory_bytes;
  f.catalogue = nullptr;
  b.environment = {{"backend", "cpu"},
                   {"isa", info.arch},
                   {"vector_bits", info.vector_bits},
                   {"cores", info.compute_units},
                   {"fp64_flops_per_cycle_per_core", info.fp64_flops_per_cycle},
                   {"clocks", {{"max_mhz", opt_int(f.clock_mhz)}, {"source", f.clock_source}}},
                   {"numa_node", info.numa_node >= 0 ? json(info.numa_node) : json(nullptr)},
                   {"notes", info.notes}};
  return b;
}

}  // namespace

Status check_device_tokens(const SelectionRequest& r) {
  for (const auto& t : split_tokens(r.tokens))
    if (t != "cpu" && t != "gpu" && t != "all" && !is_index(t) && t.rfind("GPU-", 0) != 0 && t.rfind("MIG-", 0) != 0)
      return usage_error("unknown device '" + t + "' (use an index, a GPU- or MIG- UUID, cpu, gpu or all)", "--device");
  return {};
}

bool selection_needs_gpus(const SelectionRequest& r) {
  for (const auto& t : split_tokens(r.tokens))
    if (t != "cpu") return true;
  return false;
}

bool selection_needs_cpu(const SelectionRequest& r) {
  for (const auto& t : split_tokens(r.tokens))
    if (t == "cpu" || t == "all") return true;
  return false;
}

Result<Selection> select_devices(const json& doc, const ComputeRegistry& registry, const SelectionRequest& request) {
  Selection sel;
  std::vector<ProbeDevice> all = probe_devices(doc);
  std::vector<std::string> chosen;  // probe device ids, in order
  std::set<std::string> requested;
  bool want_cpu = false, want_visible = false;

  auto describe = [&] {
    std::string s;
    for (const auto& p : all) s += (s.empty() ? "" : ", ") + std::to_string(integer(p.gpu, "index")) + "=" + p.id;
    return s.empty() ? std::string("no GPU") : s;
  };
  for (const auto& t : split_tokens(request.tokens)) {
    if (t == "cpu") {
      want_cpu = true;
    } else if (t == "gpu" || t == "all") {
      want_visible = true;
      want_cpu = want_cpu || t == "all";
    } else if (is_index(t)) {
      const auto wanted = parse_integer<long long>(t);  // nullopt beyond long long: no such GPU
      auto it = std::find_if(all.begin(), all.end(), [&](const ProbeDevice& p) {
        return wanted && p.kind == "gpu" && integer(p.gpu, "index") == wanted;
      });
      if (it == all.end())
        return environment_error("GPU " + t + " is not on this node (gpuprobe found " + describe() + ")", "--device");
      chosen.push_back(it->id);
      requested.insert(it->id);
    } else if (t.rfind("GPU-", 0) == 0 || t.rfind("MIG-", 0) == 0) {
      std::vector<const ProbeDevice*> hits;
      for (const auto& p : all)
        if (lower(p.id).rfind(lower(t), 0) == 0) hits.push_back(&p);
      std::string runtime_uuid;  // a device the runtimes see that gpuprobe did not list
      for (const auto& d : registry.gpus())
        if (hits.empty() && lower(d->info().uuid).rfind(lower(t), 0) == 0) runtime_uuid = d->info().uuid;
      if (hits.size() > 1) return usage_error("'" + t + "' matches several devices: give more of the UUID", "--device");
      if (hits.empty() && runtime_uuid.empty())
        return environment_error(t + " is not on this node (gpuprobe found " + describe() + ")", "--device");
      std::string id = hits.empty() ? runtime_uuid : hits.front()->id;
      chosen.push_back(id);
      requested.insert(id);
    } else {
      return usage_error("unknown device '" + t + "' (use an index, a GPU- or MIG- UUID, cpu, gpu or all)", "--device");
    }
  }
  if (want_visible)
    for (const auto& id : visible_ids(doc, all))
      if (std::find(chosen.begin(), chosen.end(), id) == chosen.end()) chosen.push_back(id);

  if (want_cpu) {
    if (!registry.cpu()) return environment_error("the CPU backend is not available", "--device cpu");
    sel.devices.push_back(cpu_device(registry.cpu(), doc));
  }

  std::vector<bool> used(registry.gpus().size(), false);
  for (const auto& id : chosen) {
    auto it = std::find_if(all.begin(), all.end(), [&](const ProbeDevice& p) { return p.id == id; });
    ProbeDevice p;
    if (it != all.end()) {
      p = *it;
    } else {
      p.id = p.uuid = id;  // a runtime device that gpuprobe did not list
      p.kind = "gpu";
      p.gpu = json::object();
    }
    std::shared_ptr<Device> match;
    for (size_t i = 0; i < registry.gpus().size() && !match && !p.mig_parent; ++i) {
      if (used[i]) continue;
      const DeviceInfo& info = registry.gpus()[i]->info();
      bool same = p.kind == "mig" ? uuid_hex(info.uuid) == uuid_hex(p.uuid)
                                  : (!p.uuid.empty() && lower(info.uuid) == lower(p.uuid)) ||
                                        (!p.pci.empty() && normal_pci(info.pci_bus_id) == normal_pci(p.pci));
      if (same) {
        match = registry.gpus()[i];
        used[i] = true;
      }
    }
    BenchDevice b = gpu_device(p, match, registry, doc);
    if (p.mig_parent) {
      std::string instances;
      for (const auto& q : all)
        if (q.kind == "mig" && q.pci == p.pci) instances += (instances.empty() ? "" : ", ") + q.id;
      b.unusable = "MIG is enabled on this GPU: whole-GPU benchmarks are not possible; its instances are devices (" +
                   instances + ")";
    } else if (!match) {
      b.unusable = "no compute backend can run it: " + plugin_reasons(registry, p.vendor);
      if (requested.count(id)) return environment_error(id + " (" + p.name + "): " + b.unusable, "--device");
      sel.warnings.push_back(id + ": " + b.unusable);
    }
    sel.devices.push_back(std::move(b));
  }
  // Devices the runtimes see that gpuprobe did not list: the process may use them.
  if (want_visible)
    for (size_t i = 0; i < registry.gpus().size(); ++i) {
      if (used[i]) continue;
      const DeviceInfo& info = registry.gpus()[i]->info();
      ProbeDevice p;
      p.id = p.uuid = info.uuid.empty() ? "pci-" + info.pci_bus_id : info.uuid;
      p.kind = "gpu";
      p.name = info.name;
      p.pci = info.pci_bus_id;
      p.gpu = json::object();
      if (std::find(chosen.begin(), chosen.end(), p.id) != chosen.end()) continue;
      BenchDevice b = gpu_device(p, registry.gpus()[i], registry, doc);
      b.environment["notes"].push_back("not in gpuprobe's inventory: facts from the runtime only");
      sel.devices.push_back(std::move(b));
    }
  return sel;
}

}  // namespace gpukit
