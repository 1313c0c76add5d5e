#include "machine.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace gpukit::fake {

using json = nlohmann::json;

double Machine::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - origin).count();
}

std::string base_name(const std::string& entry_point) {
  auto at = entry_point.rfind("_v");
  if (at == std::string::npos || at + 2 >= entry_point.size()) return entry_point;
  if (entry_point.find_first_not_of("0123456789", at + 2) != std::string::npos) return entry_point;
  return entry_point.substr(0, at);
}

int nvml_status(const std::string& name) {
  static const std::map<std::string, int> codes = {
      {"SUCCESS", 0},         {"UNINITIALIZED", 1},       {"INVALID_ARGUMENT", 2},
      {"NOT_SUPPORTED", 3},   {"NO_PERMISSION", 4},       {"ALREADY_INITIALIZED", 5},
      {"NOT_FOUND", 6},       {"INSUFFICIENT_SIZE", 7},   {"INSUFFICIENT_POWER", 8},
      {"DRIVER_NOT_LOADED", 9}, {"TIMEOUT", 10},          {"IRQ_ISSUE", 11},
      {"LIBRARY_NOT_FOUND", 12}, {"FUNCTION_NOT_FOUND", 13}, {"CORRUPTED_INFOROM", 14},
      {"GPU_IS_LOST", 15},    {"RESET_REQUIRED", 16},     {"OPERATING_SYSTEM", 17},
      {"LIB_RM_VERSION_MISMATCH", 18}, {"IN_USE", 19},    {"MEMORY", 20},
      {"NO_DATA", 21},        {"UNKNOWN", 999}};
  auto it = codes.find(name);
  if (it == codes.end()) throw std::runtime_error("unknown NVML status \"" + name + "\"");
  return it->second;
}

int cuda_status(const std::string& name) {
  static const std::map<std::string, int> codes = {
      {"SUCCESS", 0},           {"INVALID_VALUE", 1},   {"NOT_INITIALIZED", 3},
      {"INSUFFICIENT_DRIVER", 35}, {"NO_DEVICE", 100},  {"INVALID_DEVICE", 101},
      {"NOT_PERMITTED", 800},   {"NOT_SUPPORTED", 801}, {"SYSTEM_DRIVER_MISMATCH", 803},
      {"UNKNOWN", 999}};
  auto it = codes.find(name);
  if (it == codes.end()) throw std::runtime_error("unknown CUDA status \"" + name + "\"");
  return it->second;
}

const std::string* find_error(const Errors& errors, const std::string& entry_point) {
  if (auto it = errors.find(entry_point); it != errors.end()) return &it->second;
  if (auto it = errors.find(base_name(entry_point)); it != errors.end()) return &it->second;
  return nullptr;
}

void hang_forever() {
  for (;;) pause();
}

namespace {

// Reads `key` of `object` as T; `where` names the object for error messages.
template <class T>
T get(const json& object, const char* key, const std::string& where, T fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw std::runtime_error(where + "." + key + ": wrong type (" + it->dump() + ")");
  }
}

Curve get_curve(const json& object, const char* key, const std::string& where, std::optional<double> fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback ? Curve(*fallback) : Curve();
  if (it->is_number()) return Curve(it->get<double>());
  std::vector<std::pair<double, double>> points;
  if (it->is_array()) {
    for (const auto& p : *it) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
        throw std::runtime_error(where + "." + key + ": points must be [time_s, value] pairs");
      points.emplace_back(p[0].get<double>(), p[1].get<double>());
    }
    std::sort(points.begin(), points.end());
    if (!points.empty()) return Curve(std::move(points));
  }
  throw std::runtime_error(where + "." + key + ": a number or a list of [time_s, value] points");
}

unsigned int hex_or_number(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_unsigned()) return it->get<unsigned int>();
  if (it->is_string()) return static_cast<unsigned int>(std::stoul(it->get<std::string>(), nullptr, 16));
  throw std::runtime_error(where + "." + key + ": a hex string (\"0x2330\") or a number");
}

Errors get_errors(const json& object, const std::string& where) {
  Errors errors = get<Errors>(object, "errors", where, {});
  for (const auto& [function, status] : errors) {
    try {
      if (function.rfind("cu", 0) == 0) cuda_status(status);
      else nvml_status(status);
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(where + ".errors." + function + ": " + e.what());
    }
  }
  return errors;
}

void parse_health(HealthSpec& h, const json& j, const std::string& w) {
  h.remapped_correctable = get_curve(j, "remapped_rows_correctable", w, 0.0);
  h.remapped_uncorrectable = get_curve(j, "remapped_rows_uncorrectable", w, 0.0);
  h.remap_pending = get<bool>(j, "remap_pending", w, false);
  h.remap_failure = get<bool>(j, "remap_failure", w, false);
  h.retired_single_bit = get_curve(j, "retired_pages_single_bit", w, 0.0);
  h.retired_double_bit = get_curve(j, "retired_pages_double_bit", w, 0.0);
  h.retirement_pending = get<bool>(j, "retirement_pending", w, false);
  h.inforom_valid = get<bool>(j, "inforom_valid", w, true);
  h.persistence_mode = get<bool>(j, "persistence_mode", w, true);
  h.pcie_replay_counter = get<unsigned int>(j, "pcie_replay_counter", w, 0);
  h.ecc_aggregate_uncorrected = get<unsigned long long>(j, "ecc_aggregate_uncorrected", w, 0);
  if (j.contains("fabric_state")) {
    h.fabric_state = get<std::string>(j, "fabric_state", w, "");
    if (*h.fabric_state != "not_started" && *h.fabric_state != "in_progress" && *h.fabric_state != "completed")
      throw std::runtime_error(w + ".fabric_state: not_started, in_progress or completed");
  }
  h.fabric_status = get<std::string>(j, "fabric_status", w, "SUCCESS");
  nvml_status(h.fabric_status);
  h.xid_events = get<std::vector<unsigned long long>>(j, "xid_events", w, {});
}

// nvmlEventType* bits by the names the description uses.
unsigned long long event_type(const std::string& name, const std::string& where) {
  if (name == "xid") return 0x8;
  if (name == "ecc_single_bit") return 0x1;
  if (name == "ecc_double_bit") return 0x2;
  throw std::runtime_error(where + ": xid, ecc_single_bit or ecc_double_bit, not \"" + name + "\"");
}

void parse_events(GpuSpec& gpu, const json& g, const std::string& where) {
  // By default a GPU reports Xid events, and ECC events when it has ECC.
  gpu.event_types = 0x8 | (gpu.ecc ? 0x3 : 0x0);
  if (g.contains("event_types")) {
    gpu.event_types = 0;
    for (const auto& name : get<std::vector<std::string>>(g, "event_types", where, {}))
      gpu.event_types |= event_type(name, where + ".event_types");
  }
  json events = get<json>(g, "events", where, json::array());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i];
    std::string w = where + ".events[" + std::to_string(i) + "]";
    EventSpec spec;
    spec.at_s = get<double>(e, "at_s", w, 0);
    spec.type = event_type(get<std::string>(e, "type", w, "xid"), w + ".type");
    spec.data = get<unsigned long long>(e, "xid", w, 0);
    spec.gpu_instance_id = get<unsigned int>(e, "gpu_instance_id", w, 0xFFFFFFFFu);
    spec.compute_instance_id = get<unsigned int>(e, "compute_instance_id", w, 0xFFFFFFFFu);
    gpu.events.push_back(spec);
  }
}

GpuSpec parse_gpu(const json& g, const std::string& where) {
  GpuSpec gpu;
  gpu.name = get<std::string>(g, "name", where, "");
  gpu.uuid = get<std::string>(g, "uuid", where, "");
  std::string bus_id = get<std::string>(g, "pci_bus_id", where, "");
  if (std::sscanf(bus_id.c_str(), "%x:%x:%x.%x", &gpu.domain, &gpu.bus, &gpu.device, &gpu.function) != 4)
    throw std::runtime_error(where + ".pci_bus_id: expected \"0000:17:00.0\", got \"" + bus_id + "\"");
  gpu.pci_device_id = hex_or_number(g, "pci_device_id", where);
  gpu.pci_subsystem_id = hex_or_number(g, "pci_subsystem_id", where);
  gpu.memory_bytes = get<unsigned long long>(g, "memory_bytes", where, 0);
  std::string cc = get<std::string>(g, "compute_capability", where, "");
  if (std::sscanf(cc.c_str(), "%d.%d", &gpu.cc_major, &gpu.cc_minor) != 2)
    throw std::runtime_error(where + ".compute_capability: expected \"9.0\", got \"" + cc + "\"");
  gpu.multiprocessors = get<unsigned int>(g, "multiprocessors", where, 0);
  gpu.max_sm_clock_mhz = get<unsigned int>(g, "max_sm_clock_mhz", where, 0);
  gpu.max_memory_clock_mhz = get<unsigned int>(g, "max_memory_clock_mhz", where, 0);
  gpu.memory_bus_width_bits = get<unsigned int>(g, "memory_bus_width_bits", where, 0);
  gpu.ecc = get<bool>(g, "ecc", where, false);
  gpu.power_limit_w = get<double>(g, "power_limit_w", where, 0);
  gpu.compute_mode = get<std::string>(g, "compute_mode", where, "default");
  if (gpu.compute_mode != "default" && gpu.compute_mode != "exclusive_process" && gpu.compute_mode != "prohibited")
    throw std::runtime_error(where + ".compute_mode: default, exclusive_process or prohibited");
  json pcie = get<json>(g, "pcie", where, json::object());
  gpu.pcie_max_generation = get<unsigned int>(pcie, "max_generation", where + ".pcie", 0);
  gpu.pcie_max_width = get<unsigned int>(pcie, "max_width", where + ".pcie", 0);
  gpu.pcie_current_generation = get<unsigned int>(pcie, "current_generation", where + ".pcie", 0);
  gpu.pcie_current_width = get<unsigned int>(pcie, "current_width", where + ".pcie", 0);
  gpu.mig = get<std::string>(g, "mig", where, "unsupported");
  if (gpu.mig != "unsupported" && gpu.mig != "disabled" && gpu.mig != "enabled")
    throw std::runtime_error(where + ".mig: unsupported, disabled or enabled");
  gpu.max_mig_devices = get<unsigned int>(g, "max_mig_devices", where, 7);
  gpu.errors = get_errors(g, where);

  json instances = get<json>(g, "mig_instances", where, json::array());
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const json& m = instances[i];
    std::string w = where + ".mig_instances[" + std::to_string(i) + "]";
    MigSpec mig;
    mig.index = get<unsigned int>(m, "index", w, static_cast<unsigned int>(i));
    mig.uuid = get<std::string>(m, "uuid", w, "");
    mig.name = get<std::string>(m, "name", w, "");
    mig.gpu_instance_id = get<unsigned int>(m, "gpu_instance_id", w, 0);
    mig.compute_instance_id = get<unsigned int>(m, "compute_instance_id", w, 0);
    mig.multiprocessors = get<unsigned int>(m, "multiprocessors", w, 0);
    mig.gpu_slices = get<unsigned int>(m, "gpu_slices", w, 0);
    mig.compute_slices = get<unsigned int>(m, "compute_slices", w, mig.gpu_slices);
    mig.memory_bytes = get<unsigned long long>(m, "memory_bytes", w, 0);
    mig.memory_used_bytes = get_curve(m, "memory_used_bytes", w, 0.0);
    mig.errors = get_errors(m, w);
    gpu.mig_instances.push_back(std::move(mig));
  }

  json t = get<json>(g, "telemetry", where, json::object());
  std::string tw = where + ".telemetry";
  auto& tel = gpu.telemetry;
  tel.power_w = get_curve(t, "power_w", tw, gpu.power_limit_w * 0.1);
  tel.gpu_utilization_pct = get_curve(t, "gpu_utilization_pct", tw, 0.0);
  tel.memory_utilization_pct = get_curve(t, "memory_utilization_pct", tw, 0.0);
  tel.memory_used_bytes = get_curve(t, "memory_used_bytes", tw, 0.0);
  tel.sm_clock_mhz = get_curve(t, "sm_clock_mhz", tw, static_cast<double>(gpu.max_sm_clock_mhz));
  tel.memory_clock_mhz = get_curve(t, "memory_clock_mhz", tw, static_cast<double>(gpu.max_memory_clock_mhz));
  tel.temperature_c = get_curve(t, "temperature_c", tw, 35.0);
  tel.energy_j = get<double>(t, "energy_j", tw, 0);
  if (t.contains("energy_reset_at_s")) tel.energy_reset_at_s = get<double>(t, "energy_reset_at_s", tw, 0);
  tel.throttle_reasons = get<unsigned long long>(t, "throttle_reasons", tw, 0);
  tel.ecc_corrected = get_curve(t, "ecc_corrected", tw, 0.0);
  tel.ecc_uncorrected = get_curve(t, "ecc_uncorrected", tw, 0.0);
  if (t.contains("lost_at_s")) tel.lost_at_s = get<double>(t, "lost_at_s", tw, 0);
  parse_health(gpu.health, get<json>(g, "health", where, json::object()), where + ".health");
  parse_events(gpu, g, where);
  return gpu;
}

}  // namespace

std::unique_ptr<Machine> load_machine() {
  const char* path = std::getenv("GPUKIT_FAKE_MACHINE");
  if (!path || !*path) throw std::runtime_error("GPUKIT_FAKE_MACHINE is not set");
  std::ifstream in(path);
  if (!in) throw std::runtime_error(std::string(path) + ": cannot be read");
  json root;
  try {
    root = json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string(path) + ": " + e.what());
  }
  auto m = std::make_unique<Machine>();
  m->path = path;
  try {
    m->driver_version = get<std::string>(root, "driver_version", "machine", "");
    m->nvml_version = get<std::string>(root, "nvml_version", "machine", "");
    m->cuda_driver_version = get<int>(root, "cuda_driver_version", "machine", 0);
    m->init_error = get<std::string>(root, "init_error", "machine", "");
    m->cuda_init_error = get<std::string>(root, "cuda_init_error", "machine", "");
    if (!m->init_error.empty()) nvml_status(m->init_error);
    if (!m->cuda_init_error.empty()) cuda_status(m->cuda_init_error);
    m->hang = get<std::string>(root, "hang", "machine", "");
    m->errors = get_errors(root, "machine");
    m->process_sample_period_s = get<double>(root, "process_sample_period_s", "machine", 0.1);
    if (m->process_sample_period_s <= 0) throw std::runtime_error("machine.process_sample_period_s: must be > 0");
    json gpus = get<json>(root, "gpus", "machine", json::array());
    for (std::size_t i = 0; i < gpus.size(); ++i) m->gpus.push_back(parse_gpu(gpus[i], "gpus[" + std::to_string(i) + "]"));
    m->cuda_order = get<std::vector<int>>(root, "cuda_order", "machine", {});
    for (int index : m->cuda_order)
      if (index < 0 || index >= static_cast<int>(m->gpus.size()))
        throw std::runtime_error("machine.cuda_order: no GPU " + std::to_string(index));
    json processes = get<json>(root, "processes", "machine", json::array());
    for (std::size_t i = 0; i < processes.size(); ++i) {
      const json& p = processes[i];
      std::string w = "processes[" + std::to_string(i) + "]";
      ProcessSpec process;
      process.pid = get<unsigned int>(p, "pid", w, 0);
      process.device = get<std::string>(p, "device", w, "");
      process.start_s = get<double>(p, "start_s", w, 0);
      process.end_s = get<double>(p, "end_s", w, std::numeric_limits<double>::infinity());
      process.used_memory_bytes = get<unsigned long long>(p, "used_memory_bytes", w, 0);
      process.sm_utilization_pct = get_curve(p, "sm_utilization_pct", w, 0.0);
      process.memory_utilization_pct = get_curve(p, "memory_utilization_pct", w, 0.0);
      m->processes.push_back(std::move(process));
    }
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(path) + ": " + e.what());
  }

  for (auto& gpu : m->gpus) {
    gpu.handle = &m->devices.emplace_back(Device{m.get(), &gpu, nullptr});
    for (auto& mig : gpu.mig_instances) mig.handle = &m->devices.emplace_back(Device{m.get(), &gpu, &mig});
  }
  m->origin = std::chrono::steady_clock::now();
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  m->origin_wall_us = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
  return m;
}

}  // namespace gpukit::fake
