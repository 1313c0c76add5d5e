// The fake NVML's health entry points (gpuprobe --health), answering from each
// GPU's "health" object (README.md). Built into both fakes; the old one has only
// the unversioned entry points.
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "fake_nvml_entry.hpp"

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

using namespace gpukit::detail::nvml;
using gpukit::fake::enter_nvml;
using gpukit::fake::Entry;

namespace {

// An event set: the health Xids of the GPUs registered in it (queued at
// registration), and their scripted events as their times pass; each once.
struct EventSet {
  struct Registration {
    nvmlDevice_t device;
    const gpukit::fake::Device* spec;
    unsigned long long types;
    double at_s;                  // when it was registered
    std::vector<bool> delivered;  // per scripted event
  };
  std::mutex mutex;
  std::vector<nvmlEventData_t> queue;
  std::vector<Registration> registrations;
};

// The first scripted event due (registered for its type, at or after registration, time passed).
bool next_scripted(EventSet& s, nvmlEventData_t& out) {
  for (auto& r : s.registrations) {
    const auto& events = r.spec->gpu->events;
    const double now = r.spec->machine->elapsed_s();
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      if (r.delivered[i] || !(e.type & r.types) || e.at_s < r.at_s || e.at_s > now) continue;
      r.delivered[i] = true;
      out = {r.device, e.type, e.type == nvmlEventTypeXidCriticalError ? e.data : 0, e.gpu_instance_id,
             e.compute_instance_id};
      return true;
    }
  }
  return false;
}

unsigned int count_at(const gpukit::fake::Curve& c, const Entry& e) {
  return static_cast<unsigned int>(std::floor(c.at(e.machine->elapsed_s())));
}

// Row remapping is not reported while MIG is enabled (the driver answers NOT_SUPPORTED).
bool remapping_hidden(const Entry& e) { return e.device->mig || e.device->gpu->mig == "enabled"; }

nvmlReturn_t retired_pages(const char* name, nvmlDevice_t device, nvmlPageRetirementCause_t cause, unsigned int* count,
                           unsigned long long* addresses) {
  Entry e = enter_nvml(name, device, true);
  if (e.status) return e.status;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& h = e.device->gpu->health;
  unsigned int n = count_at(cause == NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR ? h.retired_double_bit : h.retired_single_bit, e);
  if (*count < n || !addresses) {
    bool short_list = *count < n;
    *count = n;
    return short_list ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
  }
  for (unsigned int i = 0; i < n; ++i) addresses[i] = 0x1000ull * (i + 1);
  *count = n;
  return NVML_SUCCESS;
}

nvmlReturn_t fabric(const Entry& e, unsigned char& state, nvmlReturn_t& status) {
  const auto& h = e.device->gpu->health;
  if (!h.fabric_state) return NVML_ERROR_NOT_SUPPORTED;
  state = *h.fabric_state == "completed"     ? NVML_GPU_FABRIC_STATE_COMPLETED
          : *h.fabric_state == "in_progress" ? NVML_GPU_FABRIC_STATE_IN_PROGRESS
                                             : NVML_GPU_FABRIC_STATE_NOT_STARTED;
  status = static_cast<nvmlReturn_t>(gpukit::fake::nvml_status(h.fabric_status));
  return NVML_SUCCESS;
}

}  // namespace

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int* corrected,
                                                   unsigned int* uncorrected, unsigned int* pending,
                                                   unsigned int* failure) {
  Entry e = enter_nvml("nvmlDeviceGetRemappedRows", device, true);
  if (e.status) return e.status;
  if (!corrected || !uncorrected || !pending || !failure) return NVML_ERROR_INVALID_ARGUMENT;
  if (remapping_hidden(e)) return NVML_ERROR_NOT_SUPPORTED;
  const auto& h = e.device->gpu->health;
  *corrected = count_at(h.remapped_correctable, e);
  *uncorrected = count_at(h.remapped_uncorrectable, e);
  *pending = h.remap_pending ? 1 : 0;
  *failure = h.remap_failure ? 1 : 0;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t device, nvmlPageRetirementCause_t cause,
                                                   unsigned int* count, unsigned long long* addresses) {
  return retired_pages("nvmlDeviceGetRetiredPages", device, cause, count, addresses);
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetRetiredPagesPendingStatus(nvmlDevice_t device, nvmlEnableState_t* pending) {
  Entry e = enter_nvml("nvmlDeviceGetRetiredPagesPendingStatus", device, true);
  if (e.status) return e.status;
  if (!pending) return NVML_ERROR_INVALID_ARGUMENT;
  *pending = e.device->gpu->health.retirement_pending ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceValidateInforom(nvmlDevice_t device) {
  Entry e = enter_nvml("nvmlDeviceValidateInforom", device, true);
  if (e.status) return e.status;
  return e.device->gpu->health.inforom_valid ? NVML_SUCCESS : NVML_ERROR_CORRUPTED_INFOROM;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t device, nvmlEnableState_t* mode) {
  Entry e = enter_nvml("nvmlDeviceGetPersistenceMode", device, true);
  if (e.status) return e.status;
  if (!mode) return NVML_ERROR_INVALID_ARGUMENT;
  *mode = e.device->gpu->health.persistence_mode ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetPcieReplayCounter(nvmlDevice_t device, unsigned int* value) {
  Entry e = enter_nvml("nvmlDeviceGetPcieReplayCounter", device, true);
  if (e.status) return e.status;
  if (!value) return NVML_ERROR_INVALID_ARGUMENT;
  *value = e.device->gpu->health.pcie_replay_counter;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetGpuFabricInfo(nvmlDevice_t device, nvmlGpuFabricInfo_t* info) {
  Entry e = enter_nvml("nvmlDeviceGetGpuFabricInfo", device, true);
  if (e.status) return e.status;
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  std::memset(info, 0, sizeof *info);
  return fabric(e, info->state, info->status);
}

FAKE_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  Entry e = enter_nvml("nvmlEventSetCreate", nullptr, false);
  if (e.status) return e.status;
  if (!set) return NVML_ERROR_INVALID_ARGUMENT;
  *set = reinterpret_cast<nvmlEventSet_t>(new EventSet);
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types, nvmlEventSet_t set) {
  Entry e = enter_nvml("nvmlDeviceRegisterEvents", device, true);
  if (e.status) return e.status;
  if (!set) return NVML_ERROR_INVALID_ARGUMENT;
  if (types & ~e.device->gpu->event_types) return NVML_ERROR_NOT_SUPPORTED;
  auto* s = reinterpret_cast<EventSet*>(set);
  std::lock_guard<std::mutex> lock(s->mutex);
  s->registrations.push_back({device, e.device, types, e.machine->elapsed_s(),
                              std::vector<bool>(e.device->gpu->events.size(), false)});
  if (!(types & nvmlEventTypeXidCriticalError)) return NVML_SUCCESS;
  for (unsigned long long xid : e.device->gpu->health.xid_events)
    s->queue.push_back({device, nvmlEventTypeXidCriticalError, xid, 0xFFFFFFFFu, 0xFFFFFFFFu});
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long* types) {
  Entry e = enter_nvml("nvmlDeviceGetSupportedEventTypes", device, true);
  if (e.status) return e.status;
  if (!types) return NVML_ERROR_INVALID_ARGUMENT;
  *types = e.device->gpu->event_types;
  return NVML_SUCCESS;
}

namespace {
nvmlReturn_t event_wait(const char* name, nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  Entry e = enter_nvml(name, nullptr, false);
  if (e.status) return e.status;
  if (!set || !data) return NVML_ERROR_INVALID_ARGUMENT;
  auto* s = reinterpret_cast<EventSet*>(set);
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    if (!s->queue.empty()) {
      *data = s->queue.front();
      s->queue.erase(s->queue.begin());
      return NVML_SUCCESS;
    }
    if (next_scripted(*s, *data)) return NVML_SUCCESS;
  }
  // Nothing scripted arrives later: the wait runs out as the driver's would.
  struct timespec t = {static_cast<time_t>(timeout_ms / 1000), static_cast<long>(timeout_ms % 1000) * 1000000L};
  nanosleep(&t, nullptr);
  return NVML_ERROR_TIMEOUT;
}
}  // namespace

FAKE_EXPORT nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  return event_wait("nvmlEventSetWait", set, data, timeout_ms);
}

FAKE_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  Entry e = enter_nvml("nvmlEventSetFree", nullptr, false);
  if (e.status) return e.status;
  delete reinterpret_cast<EventSet*>(set);
  return NVML_SUCCESS;
}

#ifndef GPUKIT_FAKE_NVML_OLD
FAKE_EXPORT nvmlReturn_t nvmlDeviceGetRetiredPages_v2(nvmlDevice_t device, nvmlPageRetirementCause_t cause,
                                                      unsigned int* count, unsigned long long* addresses,
                                                      unsigned long long* timestamps) {
  nvmlReturn_t r = retired_pages("nvmlDeviceGetRetiredPages_v2", device, cause, count, addresses);
  if (r == NVML_SUCCESS && timestamps && addresses)
    for (unsigned int i = 0; i < *count; ++i) timestamps[i] = 1700000000000000ull;
  return r;
}

FAKE_EXPORT nvmlReturn_t nvmlDeviceGetGpuFabricInfoV(nvmlDevice_t device, nvmlGpuFabricInfo_v2_t* info) {
  Entry e = enter_nvml("nvmlDeviceGetGpuFabricInfoV", device, true);
  if (e.status) return e.status;
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  if (info->version != nvmlGpuFabricInfo_v2) return static_cast<nvmlReturn_t>(25);  // NVML_ERROR_ARGUMENT_VERSION_MISMATCH
  std::memset(reinterpret_cast<char*>(info) + sizeof info->version, 0, sizeof *info - sizeof info->version);
  return fabric(e, info->state, info->status);
}

FAKE_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  return event_wait("nvmlEventSetWait_v2", set, data, timeout_ms);
}
#endif
