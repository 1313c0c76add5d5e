// NVML error events for gpuaccount: Xid critical errors and single- and
// double-bit ECC errors, one event set per GPU (MIG instances are read through
// their GPU). The set is created at the first read and drained without waiting
// (a zero timeout), so a read costs one NVML call per queued event.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vendors/nvidia/nvml_library.hpp"

namespace gpukit::detail {

// One GPU's watch, a value: the worker thread returns it updated, the caller
// keeps it (no state is shared with a thread that may be abandoned).
struct EventWatch {
  nvml::nvmlDevice_t gpu = nullptr;
  std::string label;                    // "GPU 0"
  bool started = false;                 // registration was tried
  nvml::nvmlEventSet_t set = nullptr;   // null when nothing could be registered
  unsigned long long registered = 0;    // nvmlEventType* bits
  // Kinds not watched ("xid", "ecc_single_bit", "ecc_double_bit") -> the reason.
  std::vector<std::pair<std::string, std::string>> unavailable;
};

struct EventRead {
  EventWatch watch;
  std::vector<nvml::nvmlEventData_t> events;
  std::optional<Error> failure;  // a wait failed otherwise than by finding nothing (NVML_ERROR_TIMEOUT)
};

// Starts the watch if it has not been, then reads what is queued. The watch
// comes back also after a failure, so that its set is freed at the end.
Result<EventRead> read_events(const NvmlLibrary& nvml, CallTracker& tracker, EventWatch watch);

// Frees the event set (before nvmlShutdown).
void free_events(const NvmlLibrary& nvml, CallTracker& tracker, const EventWatch& watch);

}  // namespace gpukit::detail
