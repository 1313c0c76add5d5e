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

int small(const OptInt& v) { return v ? static_cast<int>(*v) : 0; }

// "007" -> "7": an index token compared as text, so that no size overflows.
std::string strip_zeros(const std::string& t) {
  auto first = t.find_first_not_of('0');
  return first == std::string::npos ? "0" : t.substr(first);
}

// A device gpuprobe found: a GPU or a MIG instance of one.
struct ProbeDevice {
  std::string id, kind, vendor, name, uuid, pci;
  const NodeGpu* gpu = nullptr;           // the gpus[] entry (the parent, for a MIG instance)
  const NodeMigInstance* mig = nullptr;   // the instance
  bool mig_parent = false;
  bool requested = false;
};

// The facts of a device gpuprobe did not list.
const NodeGpu& unlisted_gpu() {
  static const NodeGpu none;
  return none;
}

std::vector<ProbeDevice> probe_devices(const NodeModel& node) {
  std::vector<ProbeDevice> out;
  for (const NodeGpu& g : node.gpu_list()) {
    ProbeDevice p;
    p.kind = "gpu";
    p.vendor = g.vendor.value_or("");
    p.name = g.name.value_or("");
    p.uuid = g.uuid.value_or("");
    p.pci = g.pci_bus_id.value_or("");
    p.id = !p.uuid.empty() ? p.uuid : "pci-" + p.pci;
    p.gpu = &g;
    p.mig_parent = g.mig_enabled() && !g.mig_instances.empty();
    out.push_back(p);
    if (!p.mig_parent) continue;
    for (const auto& inst : g.mig_instances) {
      ProbeDevice m;
      m.kind = "mig";
      m.vendor = p.vendor;
      m.uuid = inst.uuid.value_or("");
      m.id = m.uuid;
      m.name = p.name + " MIG " + inst.profile.value_or("");
      m.pci = p.pci;
      m.gpu = &g;
      m.mig = &inst;
      out.push_back(m);
    }
  }
  return out;
}

// gpuprobe's visible devices as ids (GPU and MIG UUIDs or pci-<bus>).
int gpu_index(const ProbeDevice& p) { return p.gpu ? small(p.gpu->index) : 0; }

std::vector<std::string> visible_ids(const NodeModel& node, const std::vector<ProbeDevice>& all) {
  std::vector<std::string> ids;
  if (!node.visible || !node.visible->has_devices) {
    for (const auto& p : all)
      if (!p.mig_parent) ids.push_back(p.id);
    return ids;
  }
  const auto& gpus = node.gpu_list();
  for (const auto& v : node.visible->devices) {
    if (v.uuid && !v.uuid->empty()) {
      ids.push_back(*v.uuid);
      continue;
    }
    std::int64_t index = v.gpu_index.value_or(0);
    if (index >= 0 && static_cast<size_t>(index) < gpus.size())
      ids.push_back("pci-" + gpus[static_cast<size_t>(index)].pci_bus_id.value_or(""));
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

void set_architecture(DeviceFacts& f, const NodeGpu& g, const DeviceInfo* info) {
  if (g.has_compute_capability)
    f.cc = std::to_string(small(g.cc_major)) + "." + std::to_string(small(g.cc_minor));
  else if (info && info->cc_major > 0)
    f.cc = std::to_string(info->cc_major) + "." + std::to_string(info->cc_minor);
  if (g.has_amdgpu) f.gfx = g.gfx.value_or("");
  else if (info && info->arch.rfind("gfx", 0) == 0) f.gfx = info->arch;
}

void set_clocks_and_bus(DeviceFacts& f, const NodeGpu& g, const DeviceInfo* info) {
  f.clock_mhz = small(g.max_sm_mhz);
  f.clock_source = "gpuprobe maximum SM clock";
  if (!f.clock_mhz && info) f.clock_mhz = info->max_clock_mhz, f.clock_source = "runtime maximum clock";
  f.memory_clock_mhz = small(g.max_memory_mhz);
  if (!f.memory_clock_mhz && info) f.memory_clock_mhz = info->memory_clock_mhz;
  f.memory_bus_width_bits = small(g.memory_bus_width_bits);
  if (!f.memory_bus_width_bits && info) f.memory_bus_width_bits = info->memory_bus_width_bits;
  if (g.has_pcie) {
    f.pcie_generation = small(g.pcie_max_generation);
    f.pcie_width = small(g.pcie_max_width);
    if (!f.pcie_generation) f.pcie_generation = small(g.pcie_current_generation);
    if (!f.pcie_width) f.pcie_width = small(g.pcie_current_width);
  }
}

// Units and memory: a MIG instance's own, with its share of the GPU's.
void set_units_and_memory(DeviceFacts& f, const ProbeDevice& p, const NodeGpu& g, const DeviceInfo* info) {
  const int gpu_units = small(g.multiprocessors);
  const std::uint64_t gpu_memory = g.memory_bytes.value_or(0);
  if (p.kind == "mig" && p.mig) {
    f.units = small(p.mig->multiprocessors);
    f.memory_bytes = p.mig->memory_bytes.value_or(0);
    if (gpu_memory && f.memory_bytes) f.memory_share = static_cast<double>(f.memory_bytes) / static_cast<double>(gpu_memory);
    if (gpu_units && f.units) f.unit_share = static_cast<double>(f.units) / gpu_units;
  } else {
    f.units = gpu_units;
    f.memory_bytes = gpu_memory;
  }
  if (!f.units && info) f.units = info->compute_units;
  if (!f.memory_bytes && info) f.memory_bytes = info->memory_bytes;
}

json gpu_environment(const BenchDevice& b, const ProbeDevice& p, const DeviceInfo* info, const ComputeRegistry& registry,
                     const NodeModel& node) {
  json e;
  e["backend"] = b.backend.empty() ? json(nullptr) : json(b.backend);
  e["arch"] = info ? json(info->arch) : json(nullptr);
  e["runtime_ordinal"] = info ? json(info->ordinal) : json(nullptr);
  if (p.kind == "mig") e["parent_uuid"] = b.parent_uuid;
  e["pci_bus_id"] = p.pci.empty() ? (info ? json(info->pci_bus_id) : json(nullptr)) : json(p.pci);
  e["numa_node"] = b.numa_node >= 0 ? json(b.numa_node) : json(nullptr);
  e["driver_version"] = nullptr;
  if (const NodeDriver* driver = node.driver(p.vendor); driver && driver->driver_version)
    e["driver_version"] = driver->driver_version->raw.value_or("");
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
  e["clocks"] = {{"max_sm_mhz", opt_int(b.facts.clock_mhz)}, {"max_memory_mhz", opt_int(b.facts.memory_clock_mhz)}};
  if (info && !info->notes.empty()) e["notes"] = info->notes;
  return e;
}

BenchDevice gpu_device(const ProbeDevice& p, const std::shared_ptr<Device>& device, const ComputeRegistry& registry,
                       const NodeModel& node) {
  const NodeGpu& g = p.gpu ? *p.gpu : unlisted_gpu();
  BenchDevice b;
  b.id = p.id;
  b.kind = p.kind;
  b.vendor = p.vendor;
  b.name = p.name;
  b.device = device;
  if (p.kind == "mig") b.parent_uuid = g.uuid.value_or("");
  const DeviceInfo* info = device ? &device->info() : nullptr;
  if (info) b.backend = info->backend;
  if (b.name.empty() && info) b.name = info->name;

  DeviceFacts& f = b.facts;
  f.kind = p.kind;
  f.vendor = p.vendor;
  set_architecture(f, g, info);
  set_clocks_and_bus(f, g, info);
  set_units_and_memory(f, p, g, info);
  f.catalogue = g.catalogue;
  b.numa_node = g.numa_node ? static_cast<int>(*g.numa_node) : info ? info->numa_node : -1;
  b.environment = gpu_environment(b, p, info, registry, node);
  return b;
}

BenchDevice cpu_device(const std::shared_ptr<Device>& device, const NodeModel& node) {
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
  if (!f.clock_mhz && node.cpu && node.cpu->max_clock_mhz) {
    f.clock_mhz = static_cast<int>(*node.cpu->max_clock_mhz);
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
  auto node = read_node_model(doc, "node document");
  if (!node) return node.error();
  return select_devices(*node, registry, request);
}

Result<Selection> select_devices(const NodeModel& node, const ComputeRegistry& registry, const SelectionRequest& request) {
  Selection sel;
  std::vector<ProbeDevice> all = probe_devices(node);
  std::vector<std::string> chosen;  // probe device ids, in order
  std::set<std::string> requested;
  bool want_cpu = false, want_visible = false;

  auto describe = [&] {
    std::string s;
    for (const auto& p : all) s += (s.empty() ? "" : ", ") + std::to_string(gpu_index(p)) + "=" + p.id;
    return s.empty() ? std::string("no GPU") : s;
  };
  for (const auto& t : split_tokens(request.tokens)) {
    if (t == "cpu") {
      want_cpu = true;
    } else if (t == "gpu" || t == "all") {
      want_visible = true;
      want_cpu = want_cpu || t == "all";
    } else if (is_index(t)) {
      auto it = std::find_if(all.begin(), all.end(), [&](const ProbeDevice& p) {
        return p.kind == "gpu" && std::to_string(gpu_index(p)) == strip_zeros(t);
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
    for (const auto& id : visible_ids(node, all))
      if (std::find(chosen.begin(), chosen.end(), id) == chosen.end()) chosen.push_back(id);

  if (want_cpu) {
    if (!registry.cpu()) return environment_error("the CPU backend is not available", "--device cpu");
    sel.devices.push_back(cpu_device(registry.cpu(), node));
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
    BenchDevice b = gpu_device(p, match, registry, node);
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
      if (std::find(chosen.begin(), chosen.end(), p.id) != chosen.end()) continue;
      BenchDevice b = gpu_device(p, registry.gpus()[i], registry, node);
      b.environment["notes"].push_back("not in gpuprobe's inventory: facts from the runtime only");
      sel.devices.push_back(std::move(b));
    }
  return sel;
}

}  // namespace gpukit
