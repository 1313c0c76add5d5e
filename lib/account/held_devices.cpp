#include "account/held_devices.hpp"

namespace gpukit {

namespace {

std::optional<double> as_double(const OptBytes& v) {
  return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

std::string model_of(const NodeGpu& g) { return g.name && !g.name->empty() ? *g.name : "unknown"; }

// The inventory gpuaccount keeps is gpuprobe's gpus section; one that does not
// read describes nothing (the devices are then "unknown"), and says why.
Result<std::vector<NodeGpu>> inventory_of(const json& gpus) {
  if (!gpus.is_array()) return std::vector<NodeGpu>();
  return read_gpus_section(gpus, "inventory");
}

}  // namespace

HeldDevice describe_device(const std::vector<NodeGpu>& gpus, const std::string& uuid) {
  HeldDevice d;
  d.uuid = uuid;
  d.model = "unknown";
  d.slice_basis = "gpu";
  for (const auto& g : gpus) {
    if (g.health) d.healthy = g.healthy();  // a MIG instance is as healthy as its GPU
    if (g.uuid == uuid) {
      d.model = model_of(g);
      return d;
    }
    for (const auto& m : g.mig_instances) {
      if (m.uuid != uuid) continue;
      d.model = model_of(g);
      d.parent_uuid = g.uuid.value_or("");
      d.profile = m.profile.value_or("");
      set_mig_slice(d, as_double(m.memory_bytes), as_double(g.memory_bytes));
      return d;
    }
    d.healthy.reset();
  }
  if (uuid.rfind("MIG-", 0) == 0) {
    d.mig = true;
    d.slice_basis = "unknown";
  }
  return d;
}

HeldDevices resolve_held_devices(const std::vector<NodeGpu>& gpus, const NodeVisible& visible) {
  HeldDevices held;
  held.restricted = visible.restricted;
  for (const auto& p : visible.problems) held.problems.push_back("visible devices: " + p);
  if (!held.restricted) return held;
  for (const auto& v : visible.devices) {
    if (!v.uuid || v.uuid->empty()) {
      held.problems.push_back("a visible device has no UUID; it cannot be read through the telemetry");
      continue;
    }
    HeldDevice d = describe_device(gpus, *v.uuid);
    const bool mig = v.kind == "mig";
    if (d.model == "unknown" && v.gpu_index && *v.gpu_index >= 0 && static_cast<std::size_t>(*v.gpu_index) < gpus.size()) {
      const NodeGpu& g = gpus[static_cast<std::size_t>(*v.gpu_index)];
      d.model = g.name.value_or("");
      if (d.parent_uuid.empty() && mig) d.parent_uuid = g.uuid.value_or("");
    }
    if (mig) d.mig = true;
    d.assigned = true;
    d.selected_by = v.selected_by.value_or("");
    held.devices.push_back(std::move(d));
  }
  return held;
}

HeldDevice describe_device(const json& gpus, const std::string& uuid) {
  auto inventory = inventory_of(gpus);
  return describe_device(inventory ? *inventory : std::vector<NodeGpu>(), uuid);
}

HeldDevices resolve_held_devices(const json& gpus, const json& visible) {
  if (!visible.is_object()) return {};
  auto inventory = inventory_of(gpus);
  auto section = read_visible_section(visible, "visible");
  HeldDevices held = section ? resolve_held_devices(inventory ? *inventory : std::vector<NodeGpu>(), *section)
                             : HeldDevices{};
  if (!inventory) held.problems.push_back("the GPU inventory does not read: " + inventory.error().what());
  if (!section) held.problems.push_back("visible devices: " + section.error().what());
  return held;
}

}  // namespace gpukit
