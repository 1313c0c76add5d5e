#include "vendors/nvidia/events.hpp"

namespace gpukit::detail {

namespace {

using namespace nvml;

struct Kind {
  unsigned long long bit;
  const char* name;
};
constexpr Kind kKinds[] = {{nvmlEventTypeXidCriticalError, "xid"},
                           {nvmlEventTypeSingleBitEccError, "ecc_single_bit"},
                           {nvmlEventTypeDoubleBitEccError, "ecc_double_bit"}};
constexpr unsigned long long kWanted =
    nvmlEventTypeXidCriticalError | nvmlEventTypeSingleBitEccError | nvmlEventTypeDoubleBitEccError;
// Enough for any sane interval; more waits for the next read.
constexpr int kMaxPerRead = 1024;

void mark_all(EventWatch& w, unsigned long long bits, const std::string& reason) {
  for (const auto& k : kKinds)
    if (bits & k.bit) w.unavailable.emplace_back(k.name, reason);
}

void start(const NvmlLibrary& nvml, CallTracker& tracker, EventWatch& w) {
  const auto& api = nvml.api();
  w.started = true;
  // What the GPU can report; without the query, what registration accepts.
  unsigned long long supported = kWanted;
  if (api.nvmlDeviceGetSupportedEventTypes) {
    CallStatus s = nvml.check(tracker, api.nvmlDeviceGetSupportedEventTypes, w.label, w.gpu, &supported);
    if (!s.ok()) {
      mark_all(w, kWanted, s.note());
      return;
    }
  }
  mark_all(w, kWanted & ~supported, "not among the event types this GPU reports (nvmlDeviceGetSupportedEventTypes)");
  const unsigned long long wanted = kWanted & supported;
  if (!wanted) return;
  nvmlEventSet_t set = nullptr;
  if (CallStatus s = nvml.check(tracker, api.nvmlEventSetCreate, w.label, &set); !s.ok()) {
    mark_all(w, wanted, s.note());
    return;
  }
  CallStatus s = nvml.check(tracker, api.nvmlDeviceRegisterEvents, w.label, w.gpu, wanted, set);
  if (s.ok()) {
    w.set = set;
    w.registered = wanted;
    return;
  }
  // Some drivers refuse a mask with an ECC type on a GPU without ECC: keep Xid alone.
  if (wanted != nvmlEventTypeXidCriticalError && (wanted & nvmlEventTypeXidCriticalError) &&
      nvml.check(tracker, api.nvmlDeviceRegisterEvents, w.label, w.gpu, nvmlEventTypeXidCriticalError, set).ok()) {
    w.set = set;
    w.registered = nvmlEventTypeXidCriticalError;
    mark_all(w, wanted & ~nvmlEventTypeXidCriticalError, s.note());
    return;
  }
  mark_all(w, wanted, s.note());
  nvml.check(tracker, api.nvmlEventSetFree, w.label, set);
}

}  // namespace

Result<EventRead> read_events(const NvmlLibrary& nvml, CallTracker& tracker, EventWatch watch) {
  EventRead out;
  if (!watch.started) start(nvml, tracker, watch);
  out.watch = std::move(watch);
  if (!out.watch.set) return out;
  for (int n = 0; n < kMaxPerRead; ++n) {
    nvmlEventData_t data{};
    CallStatus s = nvml.check(tracker, nvml.api().nvmlEventSetWait, out.watch.label, out.watch.set, &data, 0u);
    if (s.code == NVML_ERROR_TIMEOUT) break;
    if (!s.ok()) {
      out.failure = s.error();
      break;
    }
    if (data.device == out.watch.gpu && (data.eventType & out.watch.registered)) out.events.push_back(data);
  }
  return out;
}

void free_events(const NvmlLibrary& nvml, CallTracker& tracker, const EventWatch& watch) {
  if (watch.set) nvml.check(tracker, nvml.api().nvmlEventSetFree, watch.label, watch.set);
}

}  // namespace gpukit::detail
