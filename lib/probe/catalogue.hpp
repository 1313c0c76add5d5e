// The hardware catalogue (share/gpukit/hardware.json): specs, peaks, prices and
// sources for known GPU models.
#pragma once

#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/error.hpp"

namespace gpukit {

class HardwareCatalogue {
 public:
  // Loads and checks the file (schema "gpukit-hardware/1"); a usage error naming
  // the path and entry when it is malformed.
  static Result<HardwareCatalogue> load(const std::string& path);
  // The installed catalogue (data_file("hardware.json")) with the per-SM/CU
  // lanes of compute-capability.json, then the site's own rows: the file named
  // by $GPUKIT_SITE_HARDWARE (same format) adds entries and replaces shipped
  // entries of the same id.
  static Result<HardwareCatalogue> load_default();

  // Adds `site`'s entries, replacing those of the same id; each is marked
  // "origin": "site".
  void merge_site(const HardwareCatalogue& site);
  // The compute-capability table used to derive peaks for GPUs it lacks.
  void set_lanes(json table) { lanes_ = std::move(table); }
  const json& lanes() const { return lanes_; }
  // The file's "updated" date, or "" when it has none.
  const std::string& updated() const { return updated_; }

  // The entry for a GPU: by PCI device id when given and unique for the vendor,
  // else by exact (case-insensitive) name; nullptr when unknown.
  const json* match(const std::string& vendor, const std::string& name, const std::string& pci_device_id) const;
  const json& entries() const { return entries_; }

 private:
  json entries_ = json::array();
  json lanes_ = json::object();
  std::string updated_;
};

// Sets gpus[i].catalogue to {id, name, source, ...peaks} for each GPU the
// catalogue knows. For one it does not know, catalogue is null,
// catalogue_reason says why and derived_peaks holds what the probed clocks,
// units and bus width give. Returns the names of those GPUs.
std::vector<std::string> attach_catalogue(json& gpus, const HardwareCatalogue& catalogue);

// The peaks of one gpus entry from its probed figures and the lanes table:
// {fp64_tflops, fp32_tflops, fp16_tflops, memory_bandwidth_gbs, sources, unknown}.
json derive_peaks(const json& gpu, const json& lanes);

}  // namespace gpukit
