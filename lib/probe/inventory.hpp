// Turning what the vendor layers and the PCI scan found into the drivers and
// gpus sections: one entry per physical GPU, whichever layer saw it.
#pragma once

#include <vector>

#include "core/document.hpp"
#include "vendors/gpu_info.hpp"
#include "vendors/pci/pci.hpp"

namespace gpukit {

struct Inventory {
  json drivers;  // the drivers section
  json gpus;     // the gpus section (without catalogue entries)
};

// Reconciles the vendor inventories with the PCI scan:
// - a vendor whose driver is absent and that has no device on PCI is `no_gpu`;
// - a GPU on PCI that no vendor layer reported is listed with driver_loaded false
//   and allocatable false, so "installed but no driver" is visible;
// - NUMA node, local CPUs and PCIe link come from PCI sysfs where the vendor
//   library did not give them.
Inventory assemble_inventory(const std::vector<VendorInventory>& vendors, const std::vector<PciDevice>& pci);

// One gpus entry from a vendor record.
json gpu_entry(const GpuRecord& gpu);

// {"raw", "parts", "major", "minor"} (+ "value" = major*1000 + minor*10 for CUDA versions).
json version_json(const VersionInfo& version, bool cuda_value = false);

}  // namespace gpukit
