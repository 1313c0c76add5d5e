// Readings around each workload: energy counter or power, clocks, temperature
// and throttle reasons. GPUs through the vendor telemetry (NVML); the CPU
// through the RAPL package counters of powercap when they are readable.
#pragma once

#include <memory>
#include <string>

#include "core/error.hpp"
#include "vendors/telemetry.hpp"

namespace gpukit {

class EnergyMeter {
 public:
  virtual ~EnergyMeter() = default;
  virtual std::string source() const = 0;  // "nvml", "rapl"
  // Whether energy and power belong to this device alone (not for a MIG
  // instance: the counter covers the whole GPU).
  virtual bool attributable() const = 0;
  virtual Result<DeviceSample> read() = 0;
};

// A device of a telemetry source; `attributable` false for MIG instances (then
// `uuid` is the parent GPU's, for clocks and temperature).
std::shared_ptr<EnergyMeter> make_telemetry_meter(std::shared_ptr<TelemetrySource> source, std::string uuid,
                                                  bool attributable);

// The package counters under /sys/class/powercap (GPUKIT_SYSFS_ROOT applies);
// an environment error saying why when there are none or they are unreadable.
Result<std::shared_ptr<EnergyMeter>> open_rapl_meter();

}  // namespace gpukit
