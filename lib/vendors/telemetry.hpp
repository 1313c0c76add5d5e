// Live readings of GPUs (power, energy counter, utilisation, memory, clocks,
// temperature, throttling, per-process use), vendor-neutral. gpubench samples
// around workloads; gpuaccount samples along a job.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

// NVIDIA GPM (Hopper and newer) over the interval since the device's previous
// sample: percent of the device's peak (DCGM's DCGM_FI_PROF_* as percentages);
// PCIe in bytes per second. A metric the device does not give stays empty.
struct GpuActivity {
  std::optional<double> sm_active_pct, sm_occupancy_pct, tensor_active_pct, tensor_dfma_active_pct, fp64_active_pct,
      fp32_active_pct, fp16_active_pct, dram_active_pct, pcie_tx_bytes_per_s, pcie_rx_bytes_per_s;
};

struct DeviceSample {
  std::string uuid;                          // GPU-… or MIG-…
  double time_s = 0;                         // CLOCK_MONOTONIC seconds when read
  std::optional<double> power_w;             // instantaneous / averaged board power
  std::optional<double> energy_j;            // cumulative counter since driver load (J)
  std::optional<double> gpu_utilization_pct;
  std::optional<double> memory_utilization_pct;
  std::optional<std::uint64_t> memory_used_bytes, memory_total_bytes;
  std::optional<int> sm_clock_mhz, memory_clock_mhz;
  std::optional<int> temperature_c;
  std::optional<std::uint64_t> throttle_reasons;  // vendor bit mask
  std::vector<std::string> throttle_reason_names; // "sw_power_cap", "hw_slowdown", "sw_thermal", ...
  std::optional<std::uint64_t> ecc_corrected, ecc_uncorrected;  // volatile counts
  // Memory retired so far (pages retired for ECC errors, both causes; DRAM rows
  // remapped, correctable and uncorrectable): callers difference them.
  std::optional<std::uint64_t> retired_pages, remapped_rows;
  // Empty at a device's first sample (GPM needs two) and where there is none
  // ("activity" in `unavailable` then says why).
  std::optional<GpuActivity> activity;
  // Fields the driver does not provide for this device (e.g. on a MIG instance):
  // name -> reason. Their values above stay nullopt.
  std::vector<std::pair<std::string, std::string>> unavailable;
};

// The names DeviceSample::throttle_reason_names uses, after NVML's clock event
// reasons (nvmlClocksEventReason*, lib/vendors/nvidia/telemetry.cpp): live
// exporters show each as a 0/1 series wherever the mask was read. A source may
// name others; they are shown as they come.
inline constexpr const char* throttle_reason_vocabulary[] = {
    "gpu_idle",   "applications_clocks_setting", "sw_power_cap",   "hw_slowdown",          "sync_boost",
    "sw_thermal", "hw_thermal",                  "hw_power_brake", "display_clock_setting"};

// An error the driver reported for a device (NVML events), as read.
struct DeviceEvent {
  enum class Kind { xid, ecc_single_bit, ecc_double_bit };
  Kind kind = Kind::xid;
  std::uint64_t xid = 0;                        // Kind::xid: the Xid (999: one the driver does not name)
  std::optional<unsigned> gpu_instance_id;      // the MIG GPU instance it is attributed to; empty: the whole GPU
  double time_s = 0;                            // CLOCK_MONOTONIC when read: at most one poll after it occurred
  double unix_time_s = 0;                       // the same moment, wall clock
};

// The kinds of event, as the record names them.
inline constexpr const char* device_event_kinds[] = {"xid", "ecc_single_bit", "ecc_double_bit"};
const char* to_string(DeviceEvent::Kind kind);

struct DeviceEvents {
  std::vector<DeviceEvent> events;  // since the previous call for the device
  // Kinds the device does not report (device_event_kinds) -> the reason.
  std::vector<std::pair<std::string, std::string>> unavailable;
};

struct ProcessSample {
  int pid = 0;
  std::string uuid;                          // device it was seen on
  std::optional<std::uint64_t> used_memory_bytes;
  std::optional<double> sm_utilization_pct, memory_utilization_pct;
  std::uint64_t last_seen_us = 0;            // driver timestamp of the utilisation sample
};

class TelemetrySource {
 public:
  virtual ~TelemetrySource() = default;
  virtual std::string vendor() const = 0;
  // Full UUIDs of the devices it can read: GPUs, and MIG instances where enabled.
  virtual std::vector<std::string> devices() const = 0;
  // One reading of a device. An error (GPU fell off the bus, driver reset) is
  // returned as an Error naming the call and the device; callers record a gap.
  virtual Result<DeviceSample> sample(const std::string& uuid) = 0;
  // Processes on a device. Utilisation samples newer than `since_us` (the
  // driver's lastSeenTimeStamp cursor), so that consecutive polls lose nothing;
  // the cursor is advanced to the newest sample returned.
  virtual Result<std::vector<ProcessSample>> processes(const std::string& uuid, std::uint64_t& since_us) = 0;
  // Error events of a device since the previous call (the first call starts the
  // watch: nothing before it is seen). Never waits for an event. A MIG instance
  // gets its GPU's events that name its GPU instance and those that name none
  // (they concern the whole GPU). The default: no kind is reported.
  virtual Result<DeviceEvents> events(const std::string& uuid);
};

// NVML-backed telemetry (libnvidia-ml.so.1 or GPUKIT_NVML_LIBRARY). Calls run
// under `timeout_s`. An environment error when NVML cannot be used.
Result<std::unique_ptr<TelemetrySource>> open_nvidia_telemetry(double timeout_s);

// amd_smi-backed telemetry (libamd_smi.so or GPUKIT_AMDSMI_LIBRARY) for the AMD
// GPUs of the KFD topology, named by gpuprobe's UUIDs. Calls run under
// `timeout_s`. amd_smi has no per-process sample history: processes() returns
// the processes present at the call, without utilisation, and advances
// `since_us` to the call's time. throttle_reasons is always in `unavailable`.
// An environment error when amd_smi cannot be used.
Result<std::unique_ptr<TelemetrySource>> open_amd_telemetry(double timeout_s);

// The telemetry of every vendor whose library opens and lists devices, as one
// source (vendor() "nvidia+amd" when both do); calls go to the source that lists
// the device. An environment error naming each vendor's problem when none opens.
Result<std::unique_ptr<TelemetrySource>> open_telemetry(double timeout_s);

}  // namespace gpukit
