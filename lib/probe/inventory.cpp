#include "probe/inventory.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "core/version.hpp"
#include "vendors/amd/amd.hpp"
#include "vendors/device_nodes.hpp"

namespace gpukit {

namespace {

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json str_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

const char* vendor_label(const std::string& vendor) {
  if (vendor == "nvidia") return "NVIDIA";
  if (vendor == "amd") return "AMD";
  if (vendor == "intel") return "Intel";
  return "unknown";
}

// The name for a GPU seen only on PCI; the catalogue may later give its model.
std::string pci_only_name(const PciDevice& d) {
  return std::string(vendor_label(d.vendor)) + " device " + d.device_id;
}

}  // namespace

json version_json(const VersionInfo& v, bool cuda_value) {
  json j = {{"raw", v.raw}, {"parts", v.parts}};
  if (!v.parts.empty()) j["major"] = v.parts[0];
  if (v.parts.size() > 1) j["minor"] = v.parts[1];
  if (cuda_value && v.parts.size() >= 2) j["value"] = v.parts[0] * 1000 + v.parts[1] * 10;
  return j;
}

json gpu_entry(const GpuRecord& g) {
  json j;
  j["index"] = g.index;
  j["cuda_index"] = opt(g.cuda_index);
  j["vendor"] = g.vendor;
  j["name"] = g.name;
  j["uuid"] = str_or_null(g.uuid);
  j["pci_bus_id"] = str_or_null(g.pci_bus_id);
  j["pci_device_id"] = str_or_null(g.pci_device_id);
  j["memory_bytes"] = opt(g.memory_bytes);
  j["multiprocessors"] = opt(g.multiprocessors);
  if (g.cc_major && g.cc_minor) j["compute_capability"] = {{"major", *g.cc_major}, {"minor", *g.cc_minor}};
  else j["compute_capability"] = nullptr;
  if (!g.gfx_target.empty()) {
    j["amdgpu"] = {{"gfx", g.gfx_target},
                   {"target_id", g.target_id.empty() ? g.gfx_target : g.target_id},
                   {"generic", amdgpu_generic_targets(g.gfx_target)}};
  } else {
    j["amdgpu"] = nullptr;
  }
  j["clocks"] = {{"max_sm_mhz", opt(g.max_sm_clock_mhz)}, {"max_memory_mhz", opt(g.max_memory_clock_mhz)}};
  j["memory_bus_width_bits"] = opt(g.memory_bus_width_bits);
  j["ecc_enabled"] = opt(g.ecc_enabled);
  j["power_limit_w"] = opt(g.power_limit_w);
  j["compute_mode"] = str_or_null(g.compute_mode);
  j["pcie"] = {{"max_generation", opt(g.pcie.max_generation)},
               {"max_width", opt(g.pcie.max_width)},
               {"current_generation", opt(g.pcie.current_generation)},
               {"current_width", opt(g.pcie.current_width)}};
  j["numa_node"] = opt(g.numa_node);
  j["local_cpus"] = str_or_null(g.local_cpus);
  j["device_minor"] = opt(g.device_minor);
  j["drm_render_minor"] = opt(g.drm_render_minor);
  json instances = json::array();
  for (const auto& m : g.mig_instances) {
    instances.push_back({{"uuid", m.uuid},
                         {"profile", str_or_null(m.profile)},
                         {"memory_bytes", opt(m.memory_bytes)},
                         {"multiprocessors", opt(m.multiprocessors)},
                         {"parent_uuid", g.uuid},
                         {"gpu_instance_id", opt(m.gpu_instance_id)},
                         {"compute_instance_id", opt(m.compute_instance_id)},
                         {"index", opt(m.index)},
                         {"gi_cap_minor", opt(m.gi_cap_minor)},
                         {"ci_cap_minor", opt(m.ci_cap_minor)}});
  }
  j["mig"] = {{"mode", g.mig_mode.empty() ? "unknown" : g.mig_mode}, {"instances", instances}};
  // A MIG parent with instances is handed out as its instances, never whole.
  j["allocatable"] = !(g.mig_mode == "enabled" && !g.mig_instances.empty());
  j["driver_loaded"] = true;
  j["source"] = g.source;
  j["notes"] = g.notes;
  j["catalogue"] = nullptr;
  return j;
}

Inventory assemble_inventory(const std::vector<VendorInventory>& vendors, const std::vector<PciDevice>& pci) {
  Inventory inv;
  inv.drivers = json::object();
  inv.gpus = json::array();
  std::set<std::string> seen_bus_ids;

  for (const auto& v : vendors) {
    for (const auto& vendor_gpu : v.gpus) {
      GpuRecord g = vendor_gpu;
      if (g.vendor == "nvidia" && !g.device_minor && !g.pci_bus_id.empty())
        g.device_minor = nvidia_device_minor(normalize_bus_id(g.pci_bus_id));
      if (g.device_minor) {
        for (auto& m : g.mig_instances) {
          if (!m.gpu_instance_id) continue;
          if (!m.gi_cap_minor) m.gi_cap_minor = nvidia_mig_cap_minor(*g.device_minor, *m.gpu_instance_id);
          if (!m.ci_cap_minor && m.compute_instance_id)
            m.ci_cap_minor = nvidia_mig_cap_minor(*g.device_minor, *m.gpu_instance_id, *m.compute_instance_id);
        }
      }
      json entry = gpu_entry(g);
      if (!g.pci_bus_id.empty()) {
        std::string bus = normalize_bus_id(g.pci_bus_id);
        entry["pci_bus_id"] = bus;
        seen_bus_ids.insert(bus);
        auto dev = std::find_if(pci.begin(), pci.end(), [&](const PciDevice& d) { return d.bus_id == bus; });
        if (dev != pci.end()) {
          if (entry["numa_node"].is_null() && dev->numa_node) entry["numa_node"] = *dev->numa_node;
          if (entry["local_cpus"].is_null() && !dev->local_cpus.empty()) entry["local_cpus"] = dev->local_cpus;
          if (entry["pci_device_id"].is_null() && !dev->device_id.empty()) entry["pci_device_id"] = dev->device_id;
          auto& link = entry["pcie"];
          auto fill = [&](const char* key, const std::optional<int>& value) {
            if (link[key].is_null() && value) link[key] = *value;
          };
          fill("max_generation", dev->max_link_generation);
          fill("max_width", dev->max_link_width);
          fill("current_generation", dev->current_link_generation);
          fill("current_width", dev->current_link_width);
        }
      }
      inv.gpus.push_back(std::move(entry));
    }
  }

  // GPUs on PCI that no vendor layer reported: installed, driver or library missing.
  std::map<std::string, int> unreported;
  for (const auto& d : pci) {
    if (seen_bus_ids.count(d.bus_id)) continue;
    ++unreported[d.vendor];
    json entry = gpu_entry(GpuRecord{});
    entry["index"] = unreported[d.vendor] - 1;
    entry["vendor"] = d.vendor;
    entry["name"] = pci_only_name(d);
    entry["pci_bus_id"] = d.bus_id;
    entry["pci_device_id"] = d.device_id;
    entry["numa_node"] = opt(d.numa_node);
    entry["local_cpus"] = str_or_null(d.local_cpus);
    entry["pcie"] = {{"max_generation", opt(d.max_link_generation)},
                     {"max_width", opt(d.max_link_width)},
                     {"current_generation", opt(d.current_link_generation)},
                     {"current_width", opt(d.current_link_width)}};
    entry["allocatable"] = false;
    entry["driver_loaded"] = false;
    entry["source"] = "pci";
    entry["notes"] = json::array({d.driver.empty() ? "no kernel driver is bound to this device"
                                                   : "bound to kernel driver '" + d.driver + "', not reported by the vendor library"});
    inv.gpus.push_back(std::move(entry));
  }

  auto pci_count = [&](const std::string& vendor) {
    return std::count_if(pci.begin(), pci.end(), [&](const PciDevice& d) { return d.vendor == vendor; });
  };
  for (const auto& v : vendors) {
    VendorState state = v.status.state;
    std::string reason = v.status.reason;
    long on_pci = pci_count(v.vendor);
    if (state == VendorState::driver_absent && on_pci == 0 && v.gpus.empty()) {
      state = VendorState::no_gpu;
      reason = "";
    } else if (state == VendorState::driver_absent && on_pci > 0) {
      reason = std::to_string(on_pci) + " " + vendor_label(v.vendor) + " GPU(s) on PCI but no driver: " + reason;
    }
    long listed = std::count_if(inv.gpus.begin(), inv.gpus.end(),
                                [&](const json& g) { return g["vendor"] == v.vendor; });
    json d = {{"status", to_string(state)},
              {"reason", reason.empty() ? json(nullptr) : json(reason)},
              {"source", str_or_null(v.source)},
              {"gpu_count", listed},
              {"driver_version", v.driver_version ? version_json(*v.driver_version) : json(nullptr)},
              {"cuda_version", v.cuda_version ? version_json(*v.cuda_version, true) : json(nullptr)},
              {"library_version", v.library_version ? version_json(*v.library_version) : json(nullptr)},
              {"missing_symbols", v.missing_symbols}};
    if (v.hip_version) d["hip_version"] = version_json(*v.hip_version);
    inv.drivers[v.vendor] = std::move(d);
  }
  // Intel has no vendor layer: the PCI scan is what there is.
  if (long intel = pci_count("intel"); intel > 0) {
    bool bound = std::any_of(pci.begin(), pci.end(), [](const PciDevice& d) {
      return d.vendor == "intel" && (d.driver == "i915" || d.driver == "xe");
    });
    inv.drivers["intel"] = {{"status", bound ? "ok" : "driver_absent"},
                            {"reason", bound ? json(nullptr) : json("Intel GPU(s) on PCI but no i915/xe driver bound")},
                            {"source", "pci"},
                            {"gpu_count", intel},
                            {"driver_version", nullptr},
                            {"cuda_version", nullptr},
                            {"library_version", nullptr},
                            {"missing_symbols", json::array()}};
  }
  return inv;
}

}  // namespace gpukit
