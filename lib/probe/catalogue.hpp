// The hardware catalogue (share/gpukit/hardware.json): specs, peaks, prices and
// sources for known GPU models.
#pragma once

#include <string>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

class HardwareCatalogue {
 public:
  // Loads and checks the file (schema "gpukit-hardware/1"); a usage error naming
  // the path and entry when it is malformed.
  static Result<HardwareCatalogue> load(const std::string& path);
  // The installed catalogue (data_file("hardware.json")).
  static Result<HardwareCatalogue> load_default();

  // The entry for a GPU: by PCI device id when given and unique for the vendor,
  // else by exact (case-insensitive) name; nullptr when unknown.
  const json* match(const std::string& vendor, const std::string& name, const std::string& pci_device_id) const;
  const json& entries() const { return entries_; }

 private:
  json entries_ = json::array();
};

// Sets gpus[i].catalogue to {id, name, source, ...peaks} or null for each GPU.
void attach_catalogue(json& gpus, const HardwareCatalogue& catalogue);

}  // namespace gpukit
