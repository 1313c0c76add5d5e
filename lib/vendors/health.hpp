// Vendor-neutral results of the GPU health checks (gpuprobe --health level 1):
// only lib/vendors fills these; lib/probe writes them into the node document.
#pragma once

#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/health_limits.hpp"
#include "vendors/gpu_info.hpp"

namespace gpukit {

enum class CheckStatus { pass, warn, fail, unsupported, timeout };
const char* to_string(CheckStatus status);
// "fail" -> fail, "warn" -> warn (the verdicts of health-thresholds.json).
CheckStatus verdict(const std::string& text);

struct HealthCheck {
  std::string name;
  CheckStatus status = CheckStatus::unsupported;
  json value, threshold;  // what was read and what it was compared with (null when not applicable)
  std::string source;     // the vendor call ("nvmlDeviceGetRemappedRows") or file read
  std::string reason;     // for a person: "3 rows pending remap; reset the GPU"
  std::string dcgm_code;  // "DCGM_FR_PENDING_ROW_REMAP", or empty

  json to_json() const;
};

struct GpuHealthRecord {
  int index = 0;            // the vendor's enumeration order
  std::string pci_bus_id;   // normalised, to join with the inventory
  std::string uuid;
  std::vector<HealthCheck> checks;
};

struct VendorHealth {
  std::string vendor;
  // ok: checks ran (some may be unsupported); a vendor without GPUs is no_gpu or
  // driver_absent/library_absent; init_failed/permission_denied: exit 3; timeout: exit 4.
  VendorStatus status;
  std::vector<GpuHealthRecord> gpus;
};

// NVIDIA through NVML (GPUKIT_NVML_LIBRARY): every call under `timeout_s`; on
// expiry the checks done so far are kept and the call in flight is a `timeout` check.
VendorHealth check_nvidia_health(const HealthLimits& limits, double timeout_s);
// AMD through amd_smi (GPUKIT_AMDSMI_LIBRARY): uncorrectable ECC, bad pages.
VendorHealth check_amd_health(const HealthLimits& limits, double timeout_s);
// The PCIe link check from a link the inventory read (sysfs or the vendor library).
HealthCheck pcie_link_check(const PcieLink& link, const HealthLimits& limits, const std::string& source);

}  // namespace gpukit
