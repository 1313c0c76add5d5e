// A library-free PCI layer: display and accelerator devices of NVIDIA, AMD and
// Intel in /sys/bus/pci/devices, found even when no driver or library is loaded.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpukit {

struct PciDevice {
  std::string bus_id;        // "0000:17:00.0"
  std::string vendor;        // "nvidia", "amd", "intel"
  std::string vendor_id;     // "0x10de"
  std::string device_id;     // "0x2330"
  std::string class_code;    // "0x030200"
  std::string driver;        // bound kernel driver ("nvidia", "amdgpu", "vfio-pci"), "" when none
  std::optional<int> numa_node;    // nullopt when the kernel reports -1
  std::string local_cpus;    // "0-31" from local_cpulist
  std::optional<int> max_link_generation, max_link_width, current_link_generation, current_link_width;
};

// GPU-class devices (class 0x03xxxx display, 0x12xxxx processing accelerator) of the
// three vendors, sorted by bus id. Reads under GPUKIT_SYSFS_ROOT.
std::vector<PciDevice> scan_gpu_pci_devices();

// NUMA node and local CPU list of one PCI device by bus id (any case, 4- or 8-digit
// domain); nullopt when unknown.
std::optional<PciDevice> pci_device(const std::string& bus_id);

// "00000000:17:00.0" (NVML's form) -> "0000:17:00.0", lowercase.
std::string normalize_bus_id(const std::string& bus_id);

}  // namespace gpukit
