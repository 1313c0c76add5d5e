// Fake amd_smi for tests: the entry points gpukit calls, answering from a JSON
// machine description (GPUKIT_FAKE_MACHINE, key "amd"); the keys are in README.md.
// A field left out makes its call answer AMDSMI_STATUS_NOT_SUPPORTED.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../curve.hpp"
#include "vendors/amd/amd_smi_api.hpp"

namespace {

namespace api = gpukit::amdsmi;

using gpukit::fake::Curve;
constexpr amdsmi_status_t status_inval = api::status_inval;
constexpr amdsmi_status_t status_not_init = api::status_not_init;

struct State {
  std::mutex m;
  bool initialized = false;
  std::vector<nlohmann::json> gpus;
  std::chrono::steady_clock::time_point origin;  // amdsmi_init
};

State& state() {
  static State s;
  return s;
}

// Handles are 1-based GPU numbers: never null, easy to check.
const nlohmann::json* gpu(amdsmi_processor_handle h) {
  auto& s = state();
  auto i = reinterpret_cast<std::uintptr_t>(h);
  if (!s.initialized || i == 0 || i > s.gpus.size()) return nullptr;
  return &s.gpus[i - 1];
}

double elapsed_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - state().origin).count();
}

// A number, or [[t, v], ...] points.
Curve curve(const nlohmann::json& v) {
  if (v.is_number()) return Curve(v.get<double>());
  std::vector<std::pair<double, double>> points;
  if (v.is_array())
    for (const auto& p : v)
      if (p.is_array() && p.size() == 2) points.emplace_back(p[0].get<double>(), p[1].get<double>());
  return Curve(std::move(points));
}

amdsmi_status_t status_named(const nlohmann::json& v) {
  static const std::map<std::string, amdsmi_status_t> codes = {
      {"INVAL", 1}, {"NOT_SUPPORTED", 2}, {"NO_PERM", 10}, {"IO", 12}, {"NOT_FOUND", 31},
      {"NOT_INIT", 32}, {"DRIVER_NOT_LOADED", 34}, {"NO_DATA", 40}, {"UNKNOWN_ERROR", 0xFFFFFFFFu}};
  if (v.is_number()) return v.get<amdsmi_status_t>();
  auto it = codes.find(v.is_string() ? v.get<std::string>() : "");
  return it == codes.end() ? 0xFFFFFFFFu : it->second;
}

// The telemetry description of a GPU, and the status every telemetry call on it
// answers now: the GPU's scripted failure from "failed_at_s" on, or the entry
// point's own scripted error.
amdsmi_status_t telemetry_status(const nlohmann::json& g, const char* entry_point, const nlohmann::json*& t) {
  static const nlohmann::json empty = nlohmann::json::object();
  t = g.contains("telemetry") ? &g["telemetry"] : &empty;
  if (t->contains("failed_at_s") && elapsed_s() >= (*t)["failed_at_s"].get<double>())
    return status_named(t->value("failed_status", nlohmann::json("DRIVER_NOT_LOADED")));
  if (t->contains("errors") && (*t)["errors"].contains(entry_point)) return status_named((*t)["errors"][entry_point]);
  return api::status_success;
}

void write_string(void* out, const std::string& text, std::size_t field_size) {
  std::size_t n = std::min(text.size(), field_size - 1);
  std::memcpy(out, text.data(), n);
  static_cast<char*>(out)[n] = '\0';
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_init(std::uint64_t flags) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  if (!(flags & api::init_amd_gpus)) return status_inval;
  const char* path = std::getenv("GPUKIT_FAKE_MACHINE");
  if (!path) return api::status_init_error;
  std::ifstream in(path);
  auto machine = nlohmann::json::parse(in, nullptr, false);
  if (machine.is_discarded() || !machine.contains("amd")) return api::status_init_error;
  const auto& amd = machine["amd"];
  if (double delay = amd.value("init_delay_s", 0.0); delay > 0)
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  if (auto status = amd.value("init_status", 0u); status != api::status_success) return status;
  s.gpus.clear();
  for (const auto& g : amd.value("gpus", nlohmann::json::array())) s.gpus.push_back(g);
  s.origin = std::chrono::steady_clock::now();
  s.initialized = true;
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_shut_down() {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  s.initialized = false;
  s.gpus.clear();
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_status_code_to_string(amdsmi_status_t status,
                                                                                    const char** text) {
  if (!text) return status_inval;
  switch (status) {
    case api::status_success: *text = "AMDSMI_STATUS_SUCCESS: Call succeeded"; break;
    case api::status_init_error: *text = "AMDSMI_STATUS_INIT_ERROR: An error occurred when initializing internal data structures"; break;
    case status_not_init: *text = "AMDSMI_STATUS_NOT_INIT: Device not initialized"; break;
    case api::status_not_supported: *text = "AMDSMI_STATUS_NOT_SUPPORTED: Feature not supported"; break;
    default: *text = "AMDSMI_STATUS_UNKNOWN_ERROR: An unknown error occurred"; break;
  }
  return api::status_success;
}

// One socket per GPU, as amd_smi reports discrete GPUs.
__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_socket_handles(std::uint32_t* count,
                                                                                 amdsmi_socket_handle* handles) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  if (!s.initialized) return status_not_init;
  if (!count) return status_inval;
  if (!handles) {
    *count = static_cast<std::uint32_t>(s.gpus.size());
    return api::status_success;
  }
  std::uint32_t n = std::min<std::uint32_t>(*count, static_cast<std::uint32_t>(s.gpus.size()));
  for (std::uint32_t i = 0; i < n; ++i) handles[i] = reinterpret_cast<amdsmi_socket_handle>(std::uintptr_t{i + 1});
  *count = n;
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_processor_handles(amdsmi_socket_handle socket,
                                                                                    std::uint32_t* count,
                                                                                    amdsmi_processor_handle* handles) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  if (!s.initialized) return status_not_init;
  if (!count || !gpu(socket)) return status_inval;
  if (!handles) {
    *count = 1;
    return api::status_success;
  }
  if (*count < 1) return status_inval;
  handles[0] = socket;
  *count = 1;
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_device_bdf(amdsmi_processor_handle h,
                                                                                 api::Bdf* bdf) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  const auto* g = gpu(h);
  if (!g || !bdf) return g ? status_inval : status_not_init;
  unsigned domain = 0, bus = 0, device = 0, function = 0;
  std::string text = g->value("bdf", "");
  if (std::sscanf(text.c_str(), "%x:%x:%x.%x", &domain, &bus, &device, &function) != 4) return api::status_not_supported;
  *bdf = api::Bdf::make(domain, bus, device, function);
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_asic_info(amdsmi_processor_handle h, void* info) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  const auto* g = gpu(h);
  if (!g || !info) return g ? status_inval : status_not_init;
  if (!g->contains("market_name")) return api::status_not_supported;
  write_string(info, (*g)["market_name"].get<std::string>(), api::market_name_size);
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_memory_total(amdsmi_processor_handle h,
                                                                                   std::uint32_t type,
                                                                                   std::uint64_t* total) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  const auto* g = gpu(h);
  if (!g || !total) return g ? status_inval : status_not_init;
  if (type != api::memory_type_vram || !g->contains("vram_total_bytes")) return api::status_not_supported;
  *total = (*g)["vram_total_bytes"].get<std::uint64_t>();
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_driver_info(amdsmi_processor_handle h, void* info) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  const auto* g = gpu(h);
  if (!g || !info) return g ? status_inval : status_not_init;
  if (!g->contains("driver_version")) return api::status_not_supported;
  write_string(info, (*g)["driver_version"].get<std::string>(), api::driver_version_size);
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_power_cap_info(amdsmi_processor_handle h,
                                                                                 std::uint32_t, void* info) {
  auto& s = state();
  std::lock_guard<std::mutex> lock(s.m);
  const auto* g = gpu(h);
  if (!g || !info) return g ? status_inval : status_not_init;
  if (!g->contains("power_cap_uw")) return api::status_not_supported;
  std::uint64_t uw = (*g)["power_cap_uw"].get<std::uint64_t>();
  std::memcpy(info, &uw, sizeof uw);
  return api::status_success;
}

// --- Telemetry ---

// Looks up the GPU and its telemetry description, or returns the status to answer.
#define FAKE_TELEMETRY_ENTRY(name, out)                            \
  auto& s = state();                                               \
  std::lock_guard<std::mutex> lock(s.m);                           \
  const auto* g = gpu(h);                                          \
  if (!g) return status_not_init;                                  \
  if (!(out)) return status_inval;                                 \
  const nlohmann::json* t = nullptr;                               \
  if (auto st = telemetry_status(*g, name, t); st != api::status_success) return st;

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_power_info(amdsmi_processor_handle h,
                                                                             api::PowerInfo* info) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_power_info", info);
  if (!t->contains("power_w")) return api::status_not_supported;
  std::memset(info, 0, sizeof *info);
  auto watts = static_cast<std::uint32_t>(std::lround(curve((*t)["power_w"]).at(elapsed_s())));
  // As amd_smi fills it: one of the two members, the other all ones.
  bool average = t->value("power_member", "current") == "average";
  info->current_socket_power = average ? 0xFFFFFFFFu : watts;
  info->average_socket_power = average ? watts : 0xFFFFFFFFu;
  info->socket_power = watts;
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_energy_count(amdsmi_processor_handle h,
                                                                               std::uint64_t* energy, float* resolution,
                                                                               std::uint64_t* timestamp) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_energy_count", energy && resolution && timestamp);
  if (!t->contains("power_w")) return api::status_not_supported;
  Curve power = curve((*t)["power_w"]);
  double now = elapsed_s();
  double joules = t->value("energy_j", 0.0) + power.integral(0, now);
  if (t->contains("energy_reset_at_s")) {
    double reset = (*t)["energy_reset_at_s"].get<double>();
    if (now >= reset) joules = power.integral(reset, now);
  }
  float res = t->value("energy_resolution_uj", 15.259f);
  *resolution = res;
  *energy = static_cast<std::uint64_t>(joules * 1e6 / static_cast<double>(res));
  *timestamp = static_cast<std::uint64_t>(now * 1e9);
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_activity(amdsmi_processor_handle h,
                                                                               api::EngineUsage* info) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_gpu_activity", info);
  if (!t->contains("gpu_utilization_pct")) return api::status_not_supported;
  std::memset(info, 0, sizeof *info);
  double now = elapsed_s();
  info->gfx_activity = static_cast<std::uint32_t>(std::lround(curve((*t)["gpu_utilization_pct"]).at(now)));
  info->umc_activity = static_cast<std::uint32_t>(std::lround(curve(t->value("memory_utilization_pct", nlohmann::json(0))).at(now)));
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_memory_usage(amdsmi_processor_handle h,
                                                                                   std::uint32_t type,
                                                                                   std::uint64_t* used) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_gpu_memory_usage", used);
  if (type != api::memory_type_vram || !t->contains("memory_used_bytes")) return api::status_not_supported;
  *used = static_cast<std::uint64_t>(curve((*t)["memory_used_bytes"]).at(elapsed_s()));
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_clock_info(amdsmi_processor_handle h,
                                                                             std::uint32_t type, api::ClkInfo* info) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_clock_info", info);
  const char* key = type == api::clk_type_gfx ? "gfx_clock_mhz" : type == api::clk_type_mem ? "memory_clock_mhz" : "";
  if (!*key || !t->contains(key)) return api::status_not_supported;
  std::memset(info, 0, sizeof *info);
  info->clk = static_cast<std::uint32_t>(std::lround(curve((*t)[key]).at(elapsed_s())));
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_temp_metric(amdsmi_processor_handle h,
                                                                              std::uint32_t sensor, std::uint32_t metric,
                                                                              std::int64_t* celsius) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_temp_metric", celsius);
  const char* key = sensor == api::temperature_edge      ? "temperature_edge_c"
                    : sensor == api::temperature_hotspot ? "temperature_hotspot_c"
                                                         : "";
  if (metric != api::temp_current || !*key || !t->contains(key)) return api::status_not_supported;
  *celsius = std::llround(curve((*t)[key]).at(elapsed_s()));
  return api::status_success;
}

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_total_ecc_count(amdsmi_processor_handle h,
                                                                                      api::ErrorCount* count) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_gpu_total_ecc_count", count);
  if (!t->contains("ecc_corrected")) return api::status_not_supported;
  std::memset(count, 0, sizeof *count);
  count->correctable_count = (*t)["ecc_corrected"].get<std::uint64_t>();
  count->uncorrectable_count = t->value("ecc_uncorrected", std::uint64_t{0});
  return api::status_success;
}

// As ROCm 6.x does: list may be null to ask the count; a list too short is
// filled as far as it goes and answered OUT_OF_RESOURCES with the full count.
__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_process_list(amdsmi_processor_handle h,
                                                                                   std::uint32_t* max_processes,
                                                                                   api::ProcInfo* list) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_gpu_process_list", max_processes);
  double now = elapsed_s();
  std::vector<const nlohmann::json*> running;
  static const nlohmann::json none = nlohmann::json::array();
  const nlohmann::json& processes = g->contains("processes") ? (*g)["processes"] : none;
  for (const auto& p : processes)
    if (now >= p.value("start_s", 0.0) && now < p.value("end_s", 1e300)) running.push_back(&p);
  const auto total = static_cast<std::uint32_t>(running.size());
  if (!list) {
    *max_processes = total;
    return api::status_success;
  }
  std::uint32_t n = std::min(*max_processes, total);
  for (std::uint32_t i = 0; i < n; ++i) {
    const auto& p = *running[i];
    api::ProcInfo& info = list[i];
    std::memset(&info, 0, sizeof info);
    write_string(info.name, p.value("name", ""), sizeof info.name);
    info.pid = p.value("pid", 0u);
    info.memory_usage.vram_mem = p.value("vram_bytes", std::uint64_t{0});
    info.mem = info.memory_usage.vram_mem;
  }
  *max_processes = total;
  return n < total ? api::status_out_of_resources : api::status_success;
}

// gpuprobe --health: "health": {"bad_pages": N, "bad_pages_pending": M} (M of the N
// pending); without "bad_pages" the call answers NOT_SUPPORTED. A null list asks the count.
struct FakeRetiredPage {
  std::uint64_t page_address, page_size;
  std::uint32_t status;
};

__attribute__((visibility("default"))) amdsmi_status_t amdsmi_get_gpu_bad_page_info(amdsmi_processor_handle h,
                                                                                    std::uint32_t* num_pages,
                                                                                    FakeRetiredPage* info) {
  FAKE_TELEMETRY_ENTRY("amdsmi_get_gpu_bad_page_info", num_pages);
  const nlohmann::json health = g->contains("health") ? (*g)["health"] : nlohmann::json::object();
  if (!health.contains("bad_pages")) return api::status_not_supported;
  const auto n = health["bad_pages"].get<std::uint32_t>();
  const auto pending = health.value("bad_pages_pending", std::uint32_t{0});
  if (!info) {
    *num_pages = n;
    return api::status_success;
  }
  const std::uint32_t filled = std::min(*num_pages, n);
  for (std::uint32_t i = 0; i < filled; ++i) info[i] = {0x100000ull * (i + 1), 4096, i < pending ? 1u : 0u};
  *num_pages = filled;
  return api::status_success;
}

}  // extern "C"
