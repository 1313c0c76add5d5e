#include "account/held_devices.hpp"

namespace gpukit {

namespace {

std::optional<double> number(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

std::string text(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return {};
  return j[key].get<std::string>();
}

}  // namespace

HeldDevice describe_device(const json& gpus, const std::string& uuid) {
  HeldDevice d;
  d.uuid = uuid;
  d.model = "unknown";
  d.slice_basis = "gpu";
  if (!gpus.is_array()) return d;
  for (const auto& g : gpus) {
    if (text(g, "uuid") == uuid) {
      d.model = text(g, "name").empty() ? "unknown" : text(g, "name");
      return d;
    }
    if (!g.contains("mig") || !g["mig"].contains("instances")) continue;
    for (const auto& m : g["mig"]["instances"]) {
      if (text(m, "uuid") != uuid) continue;
      d.model = text(g, "name").empty() ? "unknown" : text(g, "name");
      d.parent_uuid = text(g, "uuid");
      d.profile = text(m, "profile");
      set_mig_slice(d, number(m, "memory_bytes"), number(g, "memory_bytes"));
      return d;
    }
  }
  if (uuid.rfind("MIG-", 0) == 0) {
    d.mig = true;
    d.slice_basis = "unknown";
  }
  return d;
}

HeldDevices resolve_held_devices(const json& gpus, const json& visible) {
  HeldDevices held;
  if (!visible.is_object()) return held;
  held.restricted = visible.value("restricted", false);
  if (visible.contains("problems") && visible["problems"].is_array())
    for (const auto& p : visible["problems"])
      if (p.is_string()) held.problems.push_back("visible devices: " + p.get<std::string>());
  if (!held.restricted) return held;
  if (!visible.contains("devices") || !visible["devices"].is_array()) return held;
  for (const auto& v : visible["devices"]) {
    std::string uuid = text(v, "uuid");
    if (uuid.empty()) {
      held.problems.push_back("a visible device has no UUID; it cannot be read through the telemetry");
      continue;
    }
    HeldDevice d = describe_device(gpus, uuid);
    if (d.model == "unknown" && v.contains("gpu_index") && v["gpu_index"].is_number_integer() && gpus.is_array()) {
      auto index = v["gpu_index"].get<std::size_t>();
      if (index < gpus.size()) d.model = text(gpus[index], "name");
      if (d.parent_uuid.empty() && text(v, "kind") == "mig") d.parent_uuid = text(gpus[index], "uuid");
    }
    if (text(v, "kind") == "mig") d.mig = true;
    d.assigned = true;
    d.selected_by = text(v, "selected_by");
    held.devices.push_back(std::move(d));
  }
  return held;
}

}  // namespace gpukit
