// What the NVML and CUDA driver API loaders share: resolved entry points, the
// outcome of one call, and running a sequence of calls under a deadline that
// names the call which did not return.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/deadline.hpp"
#include "core/dynlib.hpp"
#include "core/error.hpp"

namespace gpukit::detail {

// An entry point and the symbol it was resolved from ("nvmlDeviceGetCount_v2" or,
// from an older library, "nvmlDeviceGetCount"). fn is null when none was exported.
template <class F>
struct VendorFunction {
  F* fn = nullptr;
  const char* name = "";
  explicit operator bool() const { return fn != nullptr; }
};

// The first of `names` that `library` exports; a miss is recorded in `missing`
// under the first (preferred) name.
template <class F>
VendorFunction<F> resolve(DynamicLibrary& library, std::initializer_list<const char*> names,
                          std::vector<std::string>& missing) {
  for (const char* name : names)
    if (void* p = library.symbol({name})) return {reinterpret_cast<F*>(p), name};
  missing.emplace_back(*names.begin());
  return {nullptr, *names.begin()};
}

// The call in flight, read by the waiting thread when the deadline expires.
// Names are string literals, so the pointer stays valid in an abandoned thread.
struct CallTracker {
  std::atomic<const char*> current{nullptr};
};

// The outcome of one vendor call.
struct CallStatus {
  int code = 0;          // the vendor's status; 0 is success in both APIs
  bool missing = false;  // the library does not export the entry point
  std::string call;      // the symbol called
  std::string device;    // "GPU 2", "GPU 0 MIG 1", or empty for system calls
  std::string text;      // the vendor's text for `code`

  bool ok() const { return code == 0 && !missing; }
  // "nvmlDeviceGetPowerUsage (GPU 1): GPU is lost"
  Error error() const { return environment_error(text, device.empty() ? call : call + " (" + device + ")"); }
  // "nvmlDeviceGetMemoryBusWidth: Not Supported", for GpuRecord::notes
  std::string note() const { return call + ": " + text; }
};

// Runs `work` on a worker thread under `timeout_s`. On expiry the error names the
// vendor call that was in flight. `work` must own what it uses (shared_ptr by value).
template <class T>
Result<T> run_tracked(double timeout_s, std::function<Result<T>(CallTracker&)> work) {
  auto tracker = std::make_shared<CallTracker>();
  std::function<Result<T>()> job = [tracker, work = std::move(work)]() { return work(*tracker); };
  Result<T> result = run_with_deadline<T>(std::move(job), timeout_s, "the NVIDIA driver");
  if (result.ok() || result.error().code != ExitCode::deadline) return result;
  const char* call = tracker->current.load();
  if (!call) return result;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
  return deadline_error(std::string(call) + " did not return within " + seconds + " s");
}


// 12040 -> "12.4" (the driver's CUDA version as cuDriverGetVersion encodes it).
std::string cuda_version_string(int encoded);

}  // namespace gpukit::detail
