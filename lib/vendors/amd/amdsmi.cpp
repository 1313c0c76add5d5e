// amd_smi, opened at run time: market names, VRAM, driver version and power caps,
// matched to the KFD GPUs by PCI address.
#include <functional>
#include <memory>

#include "core/deadline.hpp"
#include "core/dynlib.hpp"
#include "vendors/amd/amd_smi_api.hpp"
#include "vendors/amd/kfd.hpp"

namespace gpukit::detail {

namespace {

// ROCm installs under /opt/rocm/lib, which is often not on the loader's path.
const std::vector<std::string> amdsmi_sonames = {
    "libamd_smi.so", "libamd_smi.so.26", "libamd_smi.so.25", "libamd_smi.so.24", "/opt/rocm/lib/libamd_smi.so",
};

struct Api {
  amdsmi::init_fn* init = nullptr;
  amdsmi::shut_down_fn* shut_down = nullptr;
  amdsmi::status_code_to_string_fn* status_text = nullptr;
  amdsmi::get_socket_handles_fn* socket_handles = nullptr;
  amdsmi::get_processor_handles_fn* processor_handles = nullptr;
  amdsmi::get_gpu_device_bdf_fn* device_bdf = nullptr;
  amdsmi::get_gpu_asic_info_fn* asic_info = nullptr;
  amdsmi::get_gpu_memory_total_fn* memory_total = nullptr;
  amdsmi::get_gpu_driver_info_fn* driver_info = nullptr;
  amdsmi::get_power_cap_info_fn* power_cap_info = nullptr;
};

// "amdsmi_init: AMDSMI_STATUS_INIT_ERROR (18)" from the library's own text when it has one.
std::string describe(const Api& api, const char* call, amdsmi_status_t status) {
  const char* text = nullptr;
  std::string out = std::string(call) + " returned " + std::to_string(status);
  if (api.status_text && api.status_text(status, &text) == amdsmi::status_success && text && *text)
    out += " (" + std::string(text) + ")";
  return out;
}

Result<std::vector<AmdSmiDevice>> read_devices(const Api& api) {
  std::uint32_t sockets = 0;
  if (auto s = api.socket_handles(&sockets, nullptr); s != amdsmi::status_success)
    return environment_error(describe(api, "amdsmi_get_socket_handles", s), "amd_smi");
  std::vector<amdsmi_socket_handle> socket_list(sockets);
  if (sockets > 0)
    if (auto s = api.socket_handles(&sockets, socket_list.data()); s != amdsmi::status_success)
      return environment_error(describe(api, "amdsmi_get_socket_handles", s), "amd_smi");
  socket_list.resize(sockets);

  std::vector<AmdSmiDevice> devices;
  for (auto socket : socket_list) {
    std::uint32_t count = 0;
    if (api.processor_handles(socket, &count, nullptr) != amdsmi::status_success) continue;
    std::vector<amdsmi_processor_handle> handles(count);
    if (count == 0 || api.processor_handles(socket, &count, handles.data()) != amdsmi::status_success) continue;
    handles.resize(count);
    for (auto h : handles) {
      amdsmi::Bdf bdf;
      // Without its PCI address a device cannot be matched to KFD: skip it.
      if (api.device_bdf(h, &bdf) != amdsmi::status_success) continue;
      AmdSmiDevice d;
      d.bus_id = bdf.text();
      amdsmi::OutBuffer out;
      if (api.asic_info && api.asic_info(h, out.bytes) == amdsmi::status_success)
        d.market_name = out.string_at_start(amdsmi::market_name_size);
      std::uint64_t vram = 0;
      if (api.memory_total && api.memory_total(h, amdsmi::memory_type_vram, &vram) == amdsmi::status_success && vram > 0)
        d.vram_bytes = vram;
      amdsmi::OutBuffer driver;
      if (api.driver_info && api.driver_info(h, driver.bytes) == amdsmi::status_success)
        d.driver_version = driver.string_at_start(amdsmi::driver_version_size);
      amdsmi::OutBuffer cap;
      if (api.power_cap_info && api.power_cap_info(h, 0, cap.bytes) == amdsmi::status_success && cap.u64_at_start() > 0)
        d.power_cap_w = static_cast<double>(cap.u64_at_start()) / 1e6;
      devices.push_back(std::move(d));
    }
  }
  return devices;
}

}  // namespace

Result<std::shared_ptr<DynamicLibrary>> open_amdsmi_library() {
  return DynamicLibrary::open(amdsmi_sonames, "GPUKIT_AMDSMI_LIBRARY");
}

Result<AmdSmiInventory> query_amdsmi(double timeout_s) {
  auto opened = open_amdsmi_library();
  if (!opened) return opened.error();
  std::shared_ptr<DynamicLibrary> lib = *opened;
  Api api;
  api.init = lib->function<amdsmi::init_fn>({"amdsmi_init"});
  api.shut_down = lib->function<amdsmi::shut_down_fn>({"amdsmi_shut_down"});
  api.status_text = lib->function<amdsmi::status_code_to_string_fn>({"amdsmi_status_code_to_string"});
  api.socket_handles = lib->function<amdsmi::get_socket_handles_fn>({"amdsmi_get_socket_handles"});
  api.processor_handles = lib->function<amdsmi::get_processor_handles_fn>({"amdsmi_get_processor_handles"});
  api.device_bdf = lib->function<amdsmi::get_gpu_device_bdf_fn>({"amdsmi_get_gpu_device_bdf"});
  api.asic_info = lib->function<amdsmi::get_gpu_asic_info_fn>({"amdsmi_get_gpu_asic_info"});
  api.memory_total = lib->function<amdsmi::get_gpu_memory_total_fn>({"amdsmi_get_gpu_memory_total"});
  api.driver_info = lib->function<amdsmi::get_gpu_driver_info_fn>({"amdsmi_get_gpu_driver_info"});
  api.power_cap_info = lib->function<amdsmi::get_power_cap_info_fn>({"amdsmi_get_power_cap_info"});

  AmdSmiInventory inventory;
  inventory.library_path = lib->resolved_path();
  inventory.missing_symbols = lib->missing_symbols();
  if (!api.init || !api.socket_handles || !api.processor_handles || !api.device_bdf)
    return environment_error("lacks the entry points gpukit needs (amdsmi_init, amdsmi_get_socket_handles, "
                             "amdsmi_get_processor_handles, amdsmi_get_gpu_device_bdf)",
                             inventory.library_path);

  // The worker owns the library: if amd_smi hangs, the thread is abandoned with
  // the library still loaded under it.
  std::function<Result<std::vector<AmdSmiDevice>>()> session = [lib, api]() -> Result<std::vector<AmdSmiDevice>> {
    if (auto s = api.init(amdsmi::init_amd_gpus); s != amdsmi::status_success)
      return environment_error(describe(api, "amdsmi_init", s), "amd_smi");
    auto devices = read_devices(api);
    if (api.shut_down) api.shut_down();
    return devices;
  };
  auto devices = run_with_deadline(session, timeout_s, "amd_smi");
  if (!devices) return devices.error();
  inventory.devices = std::move(*devices);
  return inventory;
}

}  // namespace gpukit::detail
