// Live readings through amd_smi, per AMD GPU (each MI250X GCD is its own GPU).
// Devices are named by the UUID gpuprobe gives them (from KFD's unique_id) and
// matched to amd_smi's processors by PCI address, as probe_amd does.
#include <time.h>

#include <functional>
#include <limits>
#include <map>

#include "core/deadline.hpp"
#include "core/dynlib.hpp"
#include "vendors/amd/amd_smi_api.hpp"
#include "vendors/amd/kfd.hpp"
#include "vendors/pci/pci.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

namespace detail {
namespace {

struct AmdTelemetryApi {
  std::shared_ptr<DynamicLibrary> library;  // keeps the entry points below loaded
  amdsmi::init_fn* init = nullptr;
  amdsmi::shut_down_fn* shut_down = nullptr;
  amdsmi::get_socket_handles_fn* socket_handles = nullptr;
  amdsmi::get_processor_handles_fn* processor_handles = nullptr;
  amdsmi::get_gpu_device_bdf_fn* device_bdf = nullptr;
  amdsmi::get_power_info_fn* power_info = nullptr;
  amdsmi::get_energy_count_fn* energy_count = nullptr;
  amdsmi::get_gpu_activity_fn* activity = nullptr;
  amdsmi::get_gpu_memory_usage_fn* memory_usage = nullptr;
  amdsmi::get_gpu_memory_total_fn* memory_total = nullptr;
  amdsmi::get_clock_info_fn* clock_info = nullptr;
  amdsmi::get_temp_metric_fn* temp_metric = nullptr;
  amdsmi::get_gpu_total_ecc_count_fn* ecc_count = nullptr;
  amdsmi::get_gpu_process_list_fn* process_list = nullptr;
};

// amdsmi_status_t names (amdsmi.h, ROCm 6.x).
std::string status_name(amdsmi_status_t s) {
  static const std::map<amdsmi_status_t, const char*> names = {
      {0, "SUCCESS"},           {1, "INVAL"},
      {2, "NOT_SUPPORTED"},     {3, "NOT_YET_IMPLEMENTED"},
      {4, "FAIL_LOAD_MODULE"},  {5, "FAIL_LOAD_SYMBOL"},
      {6, "DRM_ERROR"},         {7, "API_FAILED"},
      {8, "TIMEOUT"},           {9, "RETRY"},
      {10, "NO_PERM"},          {11, "INTERRUPT"},
      {12, "IO"},               {13, "ADDRESS_FAULT"},
      {14, "FILE_ERROR"},       {15, "OUT_OF_RESOURCES"},
      {16, "INTERNAL_EXCEPTION"}, {17, "INPUT_OUT_OF_BOUNDS"},
      {18, "INIT_ERROR"},       {19, "REFCOUNT_OVERFLOW"},
      {20, "DIRECTORY_NOT_FOUND"}, {30, "BUSY"},
      {31, "NOT_FOUND"},        {32, "NOT_INIT"},
      {33, "NO_SLOT"},          {34, "DRIVER_NOT_LOADED"},
      {39, "MORE_DATA"},        {40, "NO_DATA"},
      {41, "INSUFFICIENT_SIZE"}, {42, "UNEXPECTED_SIZE"},
      {43, "UNEXPECTED_DATA"},  {54, "AMDGPU_RESTART_ERR"},
      {55, "SETTING_UNAVAILABLE"}, {0xFFFFFFFEu, "MAP_ERROR"},
      {0xFFFFFFFFu, "UNKNOWN_ERROR"},
  };
  auto it = names.find(s);
  return it == names.end() ? "status " + std::to_string(s) : std::string("AMDSMI_STATUS_") + it->second;
}

// Statuses that say the device or the driver is gone rather than that one
// reading is not offered: the sample fails instead of listing the field.
bool device_failed(amdsmi_status_t s) {
  switch (s) {
    case 12:  // IO
    case 31:  // NOT_FOUND
    case 32:  // NOT_INIT
    case 34:  // DRIVER_NOT_LOADED
    case 54:  // AMDGPU_RESTART_ERR
    case 0xFFFFFFFFu: return true;
    default: return false;
  }
}

// A status with the call it came from; `missing` when the library lacks the entry point.
struct CallStatus {
  const char* call = "";
  amdsmi_status_t status = amdsmi::status_success;
  bool missing = false;
  bool ok() const { return !missing && status == amdsmi::status_success; }
  std::string note() const {
    return missing ? std::string(call) + " is not exported by this libamd_smi" : std::string(call) + ": " + status_name(status);
  }
};

template <class F, class... Args>
CallStatus call(const char* name, F* fn, Args... args) {
  if (!fn) return {name, amdsmi::status_not_supported, true};
  return {name, fn(args...), false};
}

struct AmdDevice {
  std::string uuid;
  std::string bus_id;
  amdsmi_processor_handle handle = nullptr;
};

double monotonic_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::uint64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

Error device_error(const AmdDevice& d, const CallStatus& st) {
  return environment_error(st.note(), "amd_smi " + d.uuid + " (" + d.bus_id + ")");
}

struct FieldReader {
  std::vector<const char*> fields;
  std::function<CallStatus(DeviceSample&)> read;
};

// A power member amd_smi leaves unset holds all ones (in 32 or, from older
// releases, 16 bits); 0 W is what a board without a sensor reports.
std::optional<double> socket_power(std::uint32_t watts) {
  if (watts == 0 || watts == std::numeric_limits<std::uint32_t>::max() || watts == 0xFFFFu) return std::nullopt;
  return static_cast<double>(watts);
}

Result<DeviceSample> read_sample(const AmdTelemetryApi& api, const AmdDevice& d) {
  amdsmi_processor_handle h = d.handle;
  DeviceSample sample;
  sample.uuid = d.uuid;
  sample.time_s = monotonic_seconds();

  const FieldReader readers[] = {
      {{"power_w"},
       [&](DeviceSample& s) {
         amdsmi::PowerInfo info{};
         auto st = call("amdsmi_get_power_info", api.power_info, h, &info);
         if (!st.ok()) return st;
         // MI300 and later fill the current power, MI200 and earlier a 1 s average.
         s.power_w = socket_power(info.current_socket_power);
         if (!s.power_w) s.power_w = socket_power(info.average_socket_power);
         if (!s.power_w) s.unavailable.emplace_back("power_w", "amdsmi_get_power_info: no socket power reported");
         return st;
       }},
      {{"energy_j"},
       [&](DeviceSample& s) {
         // The sample's time is that of the energy counter, which callers difference.
         std::uint64_t counter = 0, timestamp_ns = 0;
         float resolution_uj = 0;
         double before = monotonic_seconds();
         auto st = call("amdsmi_get_energy_count", api.energy_count, h, &counter, &resolution_uj, &timestamp_ns);
         if (st.ok()) {
           s.energy_j = static_cast<double>(counter) * static_cast<double>(resolution_uj) * 1e-6;
           s.time_s = (before + monotonic_seconds()) / 2;
         }
         return st;
       }},
      {{"gpu_utilization_pct", "memory_utilization_pct"},
       [&](DeviceSample& s) {
         amdsmi::EngineUsage usage{};
         auto st = call("amdsmi_get_gpu_activity", api.activity, h, &usage);
         if (st.ok()) {
           s.gpu_utilization_pct = usage.gfx_activity;
           s.memory_utilization_pct = usage.umc_activity;
         }
         return st;
       }},
      {{"memory_used_bytes"},
       [&](DeviceSample& s) {
         std::uint64_t used = 0;
         auto st = call("amdsmi_get_gpu_memory_usage", api.memory_usage, h, amdsmi::memory_type_vram, &used);
         if (st.ok()) s.memory_used_bytes = used;
         return st;
       }},
      {{"memory_total_bytes"},
       [&](DeviceSample& s) {
         std::uint64_t total = 0;
         auto st = call("amdsmi_get_gpu_memory_total", api.memory_total, h, amdsmi::memory_type_vram, &total);
         if (st.ok()) s.memory_total_bytes = total;
         return st;
       }},
      {{"sm_clock_mhz"},
       [&](DeviceSample& s) {
         amdsmi::ClkInfo info{};
         auto st = call("amdsmi_get_clock_info", api.clock_info, h, amdsmi::clk_type_gfx, &info);
         if (st.ok()) s.sm_clock_mhz = static_cast<int>(info.clk);
         return st;
       }},
      {{"memory_clock_mhz"},
       [&](DeviceSample& s) {
         amdsmi::ClkInfo info{};
         auto st = call("amdsmi_get_clock_info", api.clock_info, h, amdsmi::clk_type_mem, &info);
         if (st.ok()) s.memory_clock_mhz = static_cast<int>(info.clk);
         return st;
       }},
      {{"temperature_c"},
       [&](DeviceSample& s) {
         // MI300 has no edge sensor: its hottest point (junction) instead.
         std::int64_t celsius = 0;
         auto st = call("amdsmi_get_temp_metric", api.temp_metric, h, amdsmi::temperature_edge, amdsmi::temp_current,
                        &celsius);
         if (!st.ok() && !device_failed(st.status))
           st = call("amdsmi_get_temp_metric", api.temp_metric, h, amdsmi::temperature_hotspot, amdsmi::temp_current,
                     &celsius);
         if (st.ok()) s.temperature_c = static_cast<int>(celsius);
         return st;
       }},
      {{"ecc_corrected", "ecc_uncorrected"},
       [&](DeviceSample& s) {
         amdsmi::ErrorCount count{};
         auto st = call("amdsmi_get_gpu_total_ecc_count", api.ecc_count, h, &count);
         if (st.ok()) {
           s.ecc_corrected = count.correctable_count;
           s.ecc_uncorrected = count.uncorrectable_count;
         }
         return st;
       }},
  };
  std::optional<CallStatus> first_failure;
  std::size_t failed = 0;
  for (const auto& reader : readers) {
    CallStatus st = reader.read(sample);
    if (st.ok()) continue;
    if (!st.missing && device_failed(st.status)) return device_error(d, st);
    ++failed;
    if (!first_failure) first_failure = st;
    for (const char* field : reader.fields) sample.unavailable.emplace_back(field, st.note());
  }
  // A device on which nothing at all can be read is not a sample with every field missing.
  if (failed == std::size(readers)) return device_error(d, *first_failure);
  // amd_smi has throttle status only inside amdsmi_get_gpu_metrics_info, a
  // ~1.5 KiB struct whose layout changes with each metrics-table version.
  sample.unavailable.emplace_back("throttle_reasons", "not read: amd_smi reports throttling only in the versioned gpu_metrics table");
  return sample;
}

// amdsmi_get_gpu_process_list with a list that grows until the processes fit:
// more may start between two calls.
Result<std::vector<ProcessSample>> read_processes(const AmdTelemetryApi& api, const AmdDevice& d) {
  std::vector<amdsmi::ProcInfo> list;
  std::uint32_t count = 0;
  CallStatus st = call("amdsmi_get_gpu_process_list", api.process_list, d.handle, &count,
                       static_cast<amdsmi::ProcInfo*>(nullptr));
  for (int attempt = 0; attempt < 4 && (st.ok() || st.status == amdsmi::status_out_of_resources ||
                                        st.status == amdsmi::status_insufficient_size);
       ++attempt) {
    if (st.ok() && count <= list.size()) break;
    list.assign(count + 8, amdsmi::ProcInfo{});
    count = static_cast<std::uint32_t>(list.size());
    st = call("amdsmi_get_gpu_process_list", api.process_list, d.handle, &count, list.data());
  }
  if (!st.ok()) return device_error(d, st);
  const std::uint64_t now_us = realtime_us();
  std::vector<ProcessSample> out;
  for (std::uint32_t i = 0; i < count && i < list.size(); ++i) {
    ProcessSample p;
    p.pid = static_cast<int>(list[i].pid);
    p.uuid = d.uuid;
    p.used_memory_bytes = list[i].memory_usage.vram_mem;
    p.last_seen_us = now_us;
    out.push_back(std::move(p));
  }
  return out;
}

// Every amd_smi GPU whose PCI address is a KFD GPU node with a unique_id: the
// devices gpuprobe names. Others have no UUID to name their readings by.
Result<std::vector<AmdDevice>> list_devices(const AmdTelemetryApi& api) {
  std::map<std::string, std::string> uuid_by_bus;
  for (const auto& node : read_kfd_nodes()) {
    std::string uuid = kfd_gpu_uuid(node.unique_id);
    if (!uuid.empty()) uuid_by_bus[kfd_bus_id(node.domain, node.location_id)] = uuid;
  }
  if (auto s = api.init(amdsmi::init_amd_gpus); s != amdsmi::status_success)
    return environment_error("amdsmi_init: " + status_name(s), "amd_smi");
  std::uint32_t sockets = 0;
  std::vector<amdsmi_socket_handle> socket_list;
  auto s = api.socket_handles(&sockets, nullptr);
  if (s == amdsmi::status_success) {
    socket_list.resize(sockets);
    if (sockets > 0) s = api.socket_handles(&sockets, socket_list.data());
  }
  if (s != amdsmi::status_success) {
    api.shut_down();
    return environment_error("amdsmi_get_socket_handles: " + status_name(s), "amd_smi");
  }
  socket_list.resize(sockets);
  std::vector<AmdDevice> devices;
  for (auto socket : socket_list) {
    std::uint32_t count = 0;
    if (api.processor_handles(socket, &count, nullptr) != amdsmi::status_success || count == 0) continue;
    std::vector<amdsmi_processor_handle> handles(count);
    if (api.processor_handles(socket, &count, handles.data()) != amdsmi::status_success) continue;
    handles.resize(count);
    for (auto h : handles) {
      amdsmi::Bdf bdf;
      if (api.device_bdf(h, &bdf) != amdsmi::status_success) continue;
      std::string bus = normalize_bus_id(bdf.text());
      auto uuid = uuid_by_bus.find(bus);
      if (uuid == uuid_by_bus.end()) continue;
      devices.push_back({uuid->second, bus, h});
    }
  }
  return devices;
}

class AmdSmiTelemetry final : public TelemetrySource {
 public:
  AmdSmiTelemetry(std::shared_ptr<AmdTelemetryApi> api, std::vector<AmdDevice> devices, double timeout_s)
      : api_(std::move(api)), devices_(std::move(devices)), timeout_s_(timeout_s) {}

  ~AmdSmiTelemetry() override {
    // After a call that never returned, amd_smi is left as it is: shutting it
    // down under a thread still inside it is what the deadline exists to avoid.
    if (abandoned_) return;
    auto api = api_;
    (void)run_with_deadline<bool>([api]() -> Result<bool> { return api->shut_down() == amdsmi::status_success; },
                                  timeout_s_, "amdsmi_shut_down");
  }

  std::string vendor() const override { return "amd"; }

  std::vector<std::string> devices() const override {
    std::vector<std::string> uuids;
    for (const auto& d : devices_) uuids.push_back(d.uuid);
    return uuids;
  }

  Result<DeviceSample> sample(const std::string& uuid) override {
    auto device = find(uuid);
    if (!device) return device.error();
    auto api = api_;
    AmdDevice d = *device;
    return watch(run_with_deadline<DeviceSample>([api, d]() { return read_sample(*api, d); }, timeout_s_,
                                                 "amd_smi sample of " + uuid));
  }

  // amd_smi keeps no per-process sample history to page through with a cursor:
  // each call returns the processes present now, and `since_us` is advanced to
  // the time of the call (CLOCK_REALTIME microseconds, as last_seen_us).
  Result<std::vector<ProcessSample>> processes(const std::string& uuid, std::uint64_t& since_us) override {
    auto device = find(uuid);
    if (!device) return device.error();
    auto api = api_;
    AmdDevice d = *device;
    auto list = watch(run_with_deadline<std::vector<ProcessSample>>([api, d]() { return read_processes(*api, d); },
                                                                    timeout_s_, "amd_smi process list of " + uuid));
    if (!list) return list.error();
    for (const auto& p : *list) since_us = std::max(since_us, p.last_seen_us);
    if (list->empty()) since_us = std::max(since_us, realtime_us());
    return list;
  }

 private:
  Result<AmdDevice> find(const std::string& uuid) const {
    for (const auto& d : devices_)
      if (d.uuid == uuid) return d;
    return usage_error("no AMD device with UUID " + uuid, "amd telemetry");
  }

  template <class T>
  Result<T> watch(Result<T> result) {
    if (!result.ok() && result.error().code == ExitCode::deadline) abandoned_ = true;
    return result;
  }

  std::shared_ptr<AmdTelemetryApi> api_;
  std::vector<AmdDevice> devices_;
  double timeout_s_;
  bool abandoned_ = false;
};

}  // namespace
}  // namespace detail

Result<std::unique_ptr<TelemetrySource>> open_amd_telemetry(double timeout_s) {
  auto opened = detail::open_amdsmi_library();
  if (!opened) return environment_error("amd_smi cannot be opened: " + opened.error().what());
  auto api = std::make_shared<detail::AmdTelemetryApi>();
  auto& lib = **opened;
  api->library = *opened;
  api->init = lib.function<amdsmi::init_fn>({"amdsmi_init"});
  api->shut_down = lib.function<amdsmi::shut_down_fn>({"amdsmi_shut_down"});
  api->socket_handles = lib.function<amdsmi::get_socket_handles_fn>({"amdsmi_get_socket_handles"});
  api->processor_handles = lib.function<amdsmi::get_processor_handles_fn>({"amdsmi_get_processor_handles"});
  api->device_bdf = lib.function<amdsmi::get_gpu_device_bdf_fn>({"amdsmi_get_gpu_device_bdf"});
  api->power_info = lib.function<amdsmi::get_power_info_fn>({"amdsmi_get_power_info"});
  api->energy_count = lib.function<amdsmi::get_energy_count_fn>({"amdsmi_get_energy_count"});
  api->activity = lib.function<amdsmi::get_gpu_activity_fn>({"amdsmi_get_gpu_activity"});
  api->memory_usage = lib.function<amdsmi::get_gpu_memory_usage_fn>({"amdsmi_get_gpu_memory_usage"});
  api->memory_total = lib.function<amdsmi::get_gpu_memory_total_fn>({"amdsmi_get_gpu_memory_total"});
  api->clock_info = lib.function<amdsmi::get_clock_info_fn>({"amdsmi_get_clock_info"});
  api->temp_metric = lib.function<amdsmi::get_temp_metric_fn>({"amdsmi_get_temp_metric"});
  api->ecc_count = lib.function<amdsmi::get_gpu_total_ecc_count_fn>({"amdsmi_get_gpu_total_ecc_count"});
  api->process_list = lib.function<amdsmi::get_gpu_process_list_fn>({"amdsmi_get_gpu_process_list"});
  if (!api->init || !api->shut_down || !api->socket_handles || !api->processor_handles || !api->device_bdf)
    return environment_error("lacks the entry points gpukit needs (amdsmi_init, amdsmi_shut_down, "
                             "amdsmi_get_socket_handles, amdsmi_get_processor_handles, amdsmi_get_gpu_device_bdf)",
                             lib.resolved_path());
  std::shared_ptr<const detail::AmdTelemetryApi> shared = api;
  auto devices = run_with_deadline<std::vector<detail::AmdDevice>>(
      [shared]() { return detail::list_devices(*shared); }, timeout_s, "amd_smi");
  if (!devices) return devices.error();
  return std::unique_ptr<TelemetrySource>(std::make_unique<detail::AmdSmiTelemetry>(api, std::move(*devices), timeout_s));
}

}  // namespace gpukit
