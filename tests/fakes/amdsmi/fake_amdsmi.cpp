// Fake amd_smi for tests: the entry points gpukit calls, answering from a JSON
// machine description (GPUKIT_FAKE_MACHINE, key "amd"):
//   {"amd": {"init_status": 0, "init_delay_s": 0,
//            "gpus": [{"bdf": "0000:c1:00.0", "market_name": "...", "vram_total_bytes": N,
//                      "driver_version": "6.3.6", "power_cap_uw": N}, ...]}}
// A field left out makes its call answer AMDSMI_STATUS_NOT_SUPPORTED.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vendors/amd/amd_smi_api.hpp"

namespace {

namespace api = gpukit::amdsmi;

constexpr amdsmi_status_t status_inval = 1;      // AMDSMI_STATUS_INVAL
constexpr amdsmi_status_t status_not_init = 32;  // AMDSMI_STATUS_NOT_INIT

struct State {
  std::mutex m;
  bool initialized = false;
  std::vector<nlohmann::json> gpus;
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

}  // extern "C"
