// Live readings through NVML, per GPU and per MIG instance.
#include <time.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "vendors/nvidia/events.hpp"
#include "vendors/nvidia/gpm.hpp"
#include "vendors/nvidia/nvml_library.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

namespace detail {
namespace {

using namespace nvml;

struct TelemetryDevice {
  std::string uuid;
  std::string label;  // "GPU 1", "GPU 0 MIG 2"
  nvmlDevice_t handle = nullptr;
  GpmDevice gpm_device;                                   // GPM reads a MIG instance through its GPU
  std::string parent_uuid;                                // a MIG instance's GPU: its events come from there
  std::optional<unsigned int> gpu_instance_id;            // a MIG instance's, when known
  std::shared_ptr<GpmState> gpm = std::make_shared<GpmState>();
};

// Statuses that mean the device or the driver is gone, as opposed to one reading
// the device does not offer: the sample fails instead of listing the field.
bool device_failed(int code) {
  switch (code) {
    case NVML_ERROR_UNINITIALIZED:
    case NVML_ERROR_DRIVER_NOT_LOADED:
    case NVML_ERROR_IRQ_ISSUE:
    case NVML_ERROR_GPU_IS_LOST:
    case NVML_ERROR_RESET_REQUIRED:
    case NVML_ERROR_OPERATING_SYSTEM:
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
    case NVML_ERROR_UNKNOWN: return true;
    default: return false;
  }
}

struct ReasonName {
  unsigned long long bit;
  const char* name;
};
constexpr ReasonName kClockEventReasons[] = {
    {nvmlClocksEventReasonGpuIdle, "gpu_idle"},
    {nvmlClocksEventReasonApplicationsClocksSetting, "applications_clocks_setting"},
    {nvmlClocksEventReasonSwPowerCap, "sw_power_cap"},
    {nvmlClocksEventReasonHwSlowdown, "hw_slowdown"},
    {nvmlClocksEventReasonSyncBoost, "sync_boost"},
    {nvmlClocksEventReasonSwThermalSlowdown, "sw_thermal"},
    {nvmlClocksEventReasonHwThermalSlowdown, "hw_thermal"},
    {nvmlClocksEventReasonHwPowerBrakeSlowdown, "hw_power_brake"},
    {nvmlClocksEventReasonDisplayClockSetting, "display_clock_setting"},
};

double clock_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double monotonic_seconds() { return clock_seconds(CLOCK_MONOTONIC); }

// One NVML call and the sample fields it fills.
struct FieldReader {
  std::vector<const char*> fields;
  std::function<CallStatus(DeviceSample&)> read;
};

Result<DeviceSample> read_sample(const NvmlLibrary& nvml, CallTracker& tracker, const TelemetryDevice& d) {
  const auto& api = nvml.api();
  const auto& l = d.label;
  nvmlDevice_t h = d.handle;
  DeviceSample sample;
  sample.uuid = d.uuid;
  sample.time_s = monotonic_seconds();

  const FieldReader readers[] = {
      {{"power_w"},
       [&](DeviceSample& s) {
         unsigned int milliwatts = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetPowerUsage, l, h, &milliwatts);
         if (st.ok()) s.power_w = milliwatts / 1000.0;
         return st;
       }},
      {{"energy_j"},
       [&](DeviceSample& s) {
         // The sample's time is that of the energy counter, which callers difference.
         unsigned long long millijoules = 0;
         double before = monotonic_seconds();
         auto st = nvml.check(tracker, api.nvmlDeviceGetTotalEnergyConsumption, l, h, &millijoules);
         if (st.ok()) {
           s.energy_j = static_cast<double>(millijoules) / 1000.0;
           s.time_s = (before + monotonic_seconds()) / 2;
         }
         return st;
       }},
      {{"gpu_utilization_pct", "memory_utilization_pct"},
       [&](DeviceSample& s) {
         nvmlUtilization_t u{};
         auto st = nvml.check(tracker, api.nvmlDeviceGetUtilizationRates, l, h, &u);
         if (st.ok()) {
           s.gpu_utilization_pct = u.gpu;
           s.memory_utilization_pct = u.memory;
         }
         return st;
       }},
      {{"memory_used_bytes", "memory_total_bytes"},
       [&](DeviceSample& s) {
         nvmlMemory_t m{};
         auto st = nvml.check(tracker, api.nvmlDeviceGetMemoryInfo, l, h, &m);
         if (st.ok()) {
           s.memory_used_bytes = m.used;
           s.memory_total_bytes = m.total;
         }
         return st;
       }},
      {{"sm_clock_mhz"},
       [&](DeviceSample& s) {
         unsigned int mhz = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetClockInfo, l, h, NVML_CLOCK_SM, &mhz);
         if (st.ok()) s.sm_clock_mhz = static_cast<int>(mhz);
         return st;
       }},
      {{"memory_clock_mhz"},
       [&](DeviceSample& s) {
         unsigned int mhz = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetClockInfo, l, h, NVML_CLOCK_MEM, &mhz);
         if (st.ok()) s.memory_clock_mhz = static_cast<int>(mhz);
         return st;
       }},
      {{"temperature_c"},
       [&](DeviceSample& s) {
         unsigned int celsius = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetTemperature, l, h, NVML_TEMPERATURE_GPU, &celsius);
         if (st.ok()) s.temperature_c = static_cast<int>(celsius);
         return st;
       }},
      {{"throttle_reasons"},
       [&](DeviceSample& s) {
         unsigned long long reasons = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetCurrentClocksEventReasons, l, h, &reasons);
         if (st.ok()) {
           s.throttle_reasons = reasons;
           for (const auto& r : kClockEventReasons)
             if (reasons & r.bit) s.throttle_reason_names.emplace_back(r.name);
         }
         return st;
       }},
      {{"ecc_corrected"},
       [&](DeviceSample& s) {
         unsigned long long count = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetTotalEccErrors, l, h, NVML_MEMORY_ERROR_TYPE_CORRECTED,
                              NVML_VOLATILE_ECC, &count);
         if (st.ok()) s.ecc_corrected = count;
         return st;
       }},
      {{"ecc_uncorrected"},
       [&](DeviceSample& s) {
         unsigned long long count = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetTotalEccErrors, l, h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
                              NVML_VOLATILE_ECC, &count);
         if (st.ok()) s.ecc_uncorrected = count;
         return st;
       }},
      {{"retired_pages"},
       [&](DeviceSample& s) {
         unsigned long long total = 0;
         CallStatus st;
         for (auto cause : {NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS,
                            NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR}) {
           unsigned int n = 0;
           st = api.nvmlDeviceGetRetiredPages_v2
                    ? nvml.check(tracker, api.nvmlDeviceGetRetiredPages_v2, l, h, cause, &n,
                                 static_cast<unsigned long long*>(nullptr), static_cast<unsigned long long*>(nullptr))
                    : nvml.check(tracker, api.nvmlDeviceGetRetiredPages, l, h, cause, &n,
                                 static_cast<unsigned long long*>(nullptr));
           // Asking for the count alone may answer INSUFFICIENT_SIZE with the count filled in.
           if (st.code == NVML_ERROR_INSUFFICIENT_SIZE) st = CallStatus{0, false, st.call, st.device, {}};
           if (!st.ok()) return st;
           total += n;
         }
         s.retired_pages = total;
         return st;
       }},
      {{"remapped_rows"},
       [&](DeviceSample& s) {
         unsigned int corrected = 0, uncorrected = 0, pending = 0, failure = 0;
         auto st = nvml.check(tracker, api.nvmlDeviceGetRemappedRows, l, h, &corrected, &uncorrected, &pending, &failure);
         if (st.ok()) s.remapped_rows = static_cast<std::uint64_t>(corrected) + uncorrected;
         return st;
       }},
  };
  for (const auto& reader : readers) {
    CallStatus st = reader.read(sample);
    if (st.ok()) continue;
    if (device_failed(st.code)) return st.error();
    for (const char* field : reader.fields) sample.unavailable.emplace_back(field, st.note());
  }
  CallStatus gpm = !d.gpm ? CallStatus{NVML_ERROR_NOT_SUPPORTED, false, "nvmlDeviceGetGpuInstanceId", l,
                                        "no GPU instance id: GPM cannot sample this MIG instance"}
                          : d.gpm->read(nvml, tracker, d.gpm_device, sample.activity);
  if (!gpm.ok()) {
    if (device_failed(gpm.code)) return gpm.error();
    sample.unavailable.emplace_back("activity", gpm.note());
  }
  return sample;
}

struct ProcessPoll {
  std::vector<ProcessSample> processes;
  std::uint64_t cursor = 0;
};

// Calls a "fill an array, or say how large it must be" entry point until the
// array is large enough: the set of processes may grow between two calls.
template <class Call>
CallStatus fill_array(std::vector<unsigned char>& buffer, std::size_t element_size, unsigned int& count, Call call) {
  count = 0;
  CallStatus st = call(nullptr, count);
  for (int attempt = 0; attempt < 4; ++attempt) {
    bool too_small = st.code == NVML_ERROR_INSUFFICIENT_SIZE || (st.ok() && count > 0 && buffer.empty());
    if (!too_small) break;
    unsigned int capacity = count + 8;
    buffer.assign(static_cast<std::size_t>(capacity) * element_size, 0);
    count = capacity;
    st = call(buffer.data(), count);
  }
  if (!st.ok()) count = 0;
  return st;
}

Result<ProcessPoll> read_processes(const NvmlLibrary& nvml, CallTracker& tracker, const TelemetryDevice& d,
                                   std::uint64_t since_us) {
  const auto& api = nvml.api();
  ProcessPoll poll;
  poll.cursor = since_us;

  // Memory per process.
  std::map<unsigned int, std::optional<std::uint64_t>> memory;
  const bool v1 = nvml.process_info_v1();
  const std::size_t stride = v1 ? sizeof(nvmlProcessInfo_v1_t) : sizeof(nvmlProcessInfo_t);
  std::vector<unsigned char> buffer;
  unsigned int count = 0;
  CallStatus st = fill_array(buffer, stride, count, [&](unsigned char* data, unsigned int& n) {
    return nvml.check(tracker, api.nvmlDeviceGetComputeRunningProcesses, d.label, d.handle, &n,
                      static_cast<void*>(data));
  });
  if (!st.ok() && device_failed(st.code)) return st.error();
  for (unsigned int i = 0; i < count; ++i) {
    const unsigned char* at = buffer.data() + i * stride;
    unsigned int pid = 0;
    unsigned long long used = 0;
    if (v1) {
      const auto* p = reinterpret_cast<const nvmlProcessInfo_v1_t*>(at);
      pid = p->pid;
      used = p->usedGpuMemory;
    } else {
      const auto* p = reinterpret_cast<const nvmlProcessInfo_t*>(at);
      pid = p->pid;
      used = p->usedGpuMemory;
    }
    auto& slot = memory[pid];
    if (used == NVML_VALUE_NOT_AVAILABLE) continue;
    slot = slot.value_or(0) + used;
  }

  // Utilisation samples newer than the cursor. NOT_FOUND: none since then;
  // NOT_SUPPORTED: MIG instances and older boards have no per-process utilisation.
  std::vector<unsigned char> samples_buffer;
  unsigned int samples = 0;
  st = fill_array(samples_buffer, sizeof(nvmlProcessUtilizationSample_t), samples,
                  [&](unsigned char* data, unsigned int& n) {
                    return nvml.check(tracker, api.nvmlDeviceGetProcessUtilization, d.label, d.handle,
                                      reinterpret_cast<nvmlProcessUtilizationSample_t*>(data), &n,
                                      static_cast<unsigned long long>(since_us));
                  });
  if (!st.ok() && device_failed(st.code)) return st.error();

  std::map<unsigned int, bool> sampled;
  const auto* utilization = reinterpret_cast<const nvmlProcessUtilizationSample_t*>(samples_buffer.data());
  for (unsigned int i = 0; i < samples; ++i) {
    const auto& u = utilization[i];
    if (u.timeStamp <= since_us) continue;
    ProcessSample p;
    p.pid = static_cast<int>(u.pid);
    p.uuid = d.uuid;
    if (auto m = memory.find(u.pid); m != memory.end()) p.used_memory_bytes = m->second;
    p.sm_utilization_pct = u.smUtil;
    p.memory_utilization_pct = u.memUtil;
    p.last_seen_us = u.timeStamp;
    poll.cursor = std::max<std::uint64_t>(poll.cursor, u.timeStamp);
    sampled[u.pid] = true;
    poll.processes.push_back(std::move(p));
  }
  for (const auto& [pid, used] : memory) {
    if (sampled.count(pid)) continue;
    ProcessSample p;
    p.pid = static_cast<int>(pid);
    p.uuid = d.uuid;
    p.used_memory_bytes = used;
    poll.processes.push_back(std::move(p));
  }
  std::stable_sort(poll.processes.begin(), poll.processes.end(), [](const ProcessSample& a, const ProcessSample& b) {
    return a.last_seen_us != b.last_seen_us ? a.last_seen_us < b.last_seen_us : a.pid < b.pid;
  });
  return poll;
}

// Every GPU, and every MIG instance of the GPUs in MIG mode. A GPU whose handle or
// UUID cannot be read is left out: there is nothing to name its readings by.
Result<std::vector<TelemetryDevice>> list_devices(const NvmlLibrary& nvml, CallTracker& tracker) {
  const auto& api = nvml.api();
  if (CallStatus st = nvml.check(tracker, api.nvmlInit, ""); !st.ok()) return st.error();
  unsigned int count = 0;
  if (CallStatus st = nvml.check(tracker, api.nvmlDeviceGetCount, "", &count); !st.ok()) {
    nvml.check(tracker, api.nvmlShutdown, "");
    return st.error();
  }
  auto uuid_of = [&](nvmlDevice_t h, const std::string& label) -> std::string {
    char text[NVML_DEVICE_UUID_BUFFER_SIZE] = {};
    if (!nvml.check(tracker, api.nvmlDeviceGetUUID, label, h, text, static_cast<unsigned int>(sizeof text)).ok())
      return {};
    return text;
  };
  std::vector<TelemetryDevice> devices;
  for (unsigned int i = 0; i < count; ++i) {
    std::string label = "GPU " + std::to_string(i);
    nvmlDevice_t h = nullptr;
    if (!nvml.check(tracker, api.nvmlDeviceGetHandleByIndex, label, i, &h).ok()) continue;
    std::string uuid = uuid_of(h, label);
    if (uuid.empty()) continue;
    devices.push_back({uuid, label, h, {label, h, false, 0}, {}, std::nullopt});
    unsigned int current = 0, pending = 0, slots = 0;
    if (!nvml.check(tracker, api.nvmlDeviceGetMigMode, label, h, &current, &pending).ok() ||
        current != NVML_DEVICE_MIG_ENABLE)
      continue;
    if (!nvml.check(tracker, api.nvmlDeviceGetMaxMigDeviceCount, label, h, &slots).ok()) continue;
    for (unsigned int slot = 0; slot < slots; ++slot) {
      nvmlDevice_t mig = nullptr;
      if (!nvml.check(tracker, api.nvmlDeviceGetMigDeviceHandleByIndex, label, h, slot, &mig).ok()) continue;
      std::string mig_label = label + " MIG " + std::to_string(slot);
      std::string mig_uuid = uuid_of(mig, mig_label);
      unsigned int gpu_instance = 0;
      bool known = nvml.check(tracker, api.nvmlDeviceGetGpuInstanceId, mig_label, mig, &gpu_instance).ok();
      if (mig_uuid.empty()) continue;
      devices.push_back({mig_uuid, mig_label, mig, {mig_label, h, true, gpu_instance}, uuid,
                         known ? std::optional<unsigned int>(gpu_instance) : std::nullopt});
      if (!known) devices.back().gpm = nullptr;  // without its GPU instance id the instance cannot be sampled
    }
  }
  return devices;
}

class NvmlTelemetry final : public TelemetrySource {
 public:
  NvmlTelemetry(std::shared_ptr<NvmlLibrary> nvml, std::vector<TelemetryDevice> devices, double timeout_s)
      : nvml_(std::move(nvml)), devices_(std::move(devices)), timeout_s_(timeout_s) {}

  ~NvmlTelemetry() override {
    // After a call that never returned, NVML is left as it is: shutting it down
    // under a thread still inside it is what the deadline exists to avoid.
    if (abandoned_) return;
    auto nvml = nvml_;
    auto devices = devices_;
    std::vector<EventWatch> watches;
    for (const auto& [uuid, w] : watches_) watches.push_back(w);
    (void)run_tracked<bool>(timeout_s_, [nvml, devices, watches](CallTracker& tracker) -> Result<bool> {
      for (const auto& w : watches) free_events(*nvml, tracker, w);
      for (const auto& d : devices)
        if (d.gpm) d.gpm->release(*nvml, tracker);
      return nvml->check(tracker, nvml->api().nvmlShutdown, "").ok();
    });
  }

  std::string vendor() const override { return "nvidia"; }

  std::vector<std::string> devices() const override {
    std::vector<std::string> uuids;
    for (const auto& d : devices_) uuids.push_back(d.uuid);
    return uuids;
  }

  Result<DeviceSample> sample(const std::string& uuid) override {
    auto device = find(uuid);
    if (!device) return device.error();
    auto nvml = nvml_;
    TelemetryDevice d = *device;
    return watch(run_tracked<DeviceSample>(
        timeout_s_, [nvml, d](CallTracker& tracker) { return read_sample(*nvml, tracker, d); }));
  }

  Result<std::vector<ProcessSample>> processes(const std::string& uuid, std::uint64_t& since_us) override {
    auto device = find(uuid);
    if (!device) return device.error();
    auto nvml = nvml_;
    TelemetryDevice d = *device;
    std::uint64_t since = since_us;
    auto poll = watch(run_tracked<ProcessPoll>(
        timeout_s_, [nvml, d, since](CallTracker& tracker) { return read_processes(*nvml, tracker, d, since); }));
    if (!poll) return poll.error();
    since_us = poll->cursor;
    return std::move(poll->processes);
  }

  Result<DeviceEvents> events(const std::string& uuid) override;

 private:
  // Hands the events read from a GPU to its device and its MIG instances.
  void distribute(const std::string& gpu_uuid, const std::vector<nvmlEventData_t>& read);

  Result<TelemetryDevice> find(const std::string& uuid) const {
    for (const auto& d : devices_)
      if (d.uuid == uuid) return d;
    return usage_error("no NVIDIA device with UUID " + uuid, "nvidia telemetry");
  }

  template <class T>
  Result<T> watch(Result<T> result) {
    if (!result.ok() && result.error().code == ExitCode::deadline) abandoned_ = true;
    return result;
  }

  std::shared_ptr<NvmlLibrary> nvml_;
  std::vector<TelemetryDevice> devices_;
  double timeout_s_;
  bool abandoned_ = false;
  // Per GPU: its event watch, and why it stopped (a wait failed or never returned).
  std::map<std::string, EventWatch> watches_;
  std::map<std::string, Error> watch_failed_;
  // Per device: events read but not yet asked for, oldest first.
  std::map<std::string, std::deque<DeviceEvent>> pending_;
};

// A device whose events are never asked for (a sibling MIG instance the job
// does not hold) keeps at most this many.
constexpr std::size_t kPendingLimit = 4096;

Result<DeviceEvents> NvmlTelemetry::events(const std::string& uuid) {
  auto device = find(uuid);
  if (!device) return device.error();
  const std::string gpu_uuid = device->parent_uuid.empty() ? device->uuid : device->parent_uuid;
  auto gpu = find(gpu_uuid);
  if (!gpu) return gpu.error();
  if (auto f = watch_failed_.find(gpu_uuid); f != watch_failed_.end()) return f->second;
  auto [at, fresh] = watches_.try_emplace(gpu_uuid);
  if (fresh) {
    at->second.gpu = gpu->handle;
    at->second.label = gpu->label;
  }
  auto nvml = nvml_;
  EventWatch current = at->second;
  auto read = watch(run_tracked<EventRead>(
      timeout_s_, [nvml, current](CallTracker& tracker) { return read_events(*nvml, tracker, current); }));
  if (!read) {
    // A wait that failed or never returned is not tried again: the events of
    // this GPU are unknown from here on (the record says so).
    watch_failed_.emplace(gpu_uuid, read.error());
    return read.error();
  }
  at->second = read->watch;
  if (read->failure) {
    watch_failed_.emplace(gpu_uuid, *read->failure);
    return *read->failure;
  }
  distribute(gpu_uuid, read->events);
  DeviceEvents out;
  auto& queue = pending_[uuid];
  out.events.assign(queue.begin(), queue.end());
  queue.clear();
  out.unavailable = at->second.unavailable;
  if (device->parent_uuid.size() && !device->gpu_instance_id)
    out.unavailable.emplace_back("gpu_instance_id", "the instance's GPU instance id is unknown: only events of the whole GPU are counted");
  return out;
}

void NvmlTelemetry::distribute(const std::string& gpu_uuid, const std::vector<nvmlEventData_t>& read) {
  const double now = monotonic_seconds(), wall = clock_seconds(CLOCK_REALTIME);
  for (const auto& data : read) {
    DeviceEvent e;
    e.kind = data.eventType & nvmlEventTypeXidCriticalError    ? DeviceEvent::Kind::xid
             : data.eventType & nvmlEventTypeDoubleBitEccError ? DeviceEvent::Kind::ecc_double_bit
                                                               : DeviceEvent::Kind::ecc_single_bit;
    if (e.kind == DeviceEvent::Kind::xid) e.xid = data.eventData;
    if (data.gpuInstanceId != NVML_EVENT_NO_GPU_INSTANCE) e.gpu_instance_id = data.gpuInstanceId;
    e.time_s = now;
    e.unix_time_s = wall;
    for (const auto& d : devices_) {
      bool mine = d.uuid == gpu_uuid ||
                  (d.parent_uuid == gpu_uuid && (!e.gpu_instance_id || e.gpu_instance_id == d.gpu_instance_id));
      if (!mine) continue;
      auto& queue = pending_[d.uuid];
      if (queue.size() >= kPendingLimit) queue.pop_front();
      queue.push_back(e);
    }
  }
}

}  // namespace
}  // namespace detail

Result<std::unique_ptr<TelemetrySource>> open_nvidia_telemetry(double timeout_s) {
  auto nvml = detail::NvmlLibrary::open();
  if (!nvml) return environment_error("NVML cannot be opened: " + nvml.error().what());
  std::shared_ptr<detail::NvmlLibrary> library = *nvml;
  auto devices = detail::run_tracked<std::vector<detail::TelemetryDevice>>(
      timeout_s, [library](detail::CallTracker& tracker) { return detail::list_devices(*library, tracker); });
  if (!devices) return devices.error();
  return std::unique_ptr<TelemetrySource>(
      std::make_unique<detail::NvmlTelemetry>(library, std::move(*devices), timeout_s));
}

}  // namespace gpukit
