#include "vendors/pci/pci.hpp"
#include "vendors/nvidia/procfs.hpp"

#include <cctype>
#include <map>
#include <sstream>

#include "core/fsroot.hpp"
#include "vendors/nvidia/vendor_call.hpp"

namespace gpukit::detail {

namespace {

// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ..." (and
// "... Open Kernel Module for x86_64  550.54.14  Release Build ..."): the first
// word made of digits and dots with at least one dot.
std::string driver_version_from(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("NVRM version:", 0) != 0) continue;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      bool digits_and_dots = std::isdigit(static_cast<unsigned char>(word[0])) &&
                             word.find_first_not_of("0123456789.") == std::string::npos;
      if (digits_and_dots && word.find('.') != std::string::npos) return word;
    }
  }
  return {};
}

// "Model: \t\t NVIDIA H100 80GB HBM3" lines -> {"Model": "NVIDIA H100 80GB HBM3"}.
std::map<std::string, std::string> information_fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields[trim(std::string_view(line).substr(0, colon))] = trim(std::string_view(line).substr(colon + 1));
  }
  return fields;
}

}  // namespace

VendorInventory probe_nvidia_procfs(const std::string& nvml_error) {
  VendorInventory inventory;
  inventory.vendor = "nvidia";
  auto version_text = read_text_file(fs_path("/proc/driver/nvidia/version"));
  if (!version_text) {
    inventory.status = {VendorState::driver_absent,
                        "NVML cannot be opened (" + nvml_error + ") and /proc/driver/nvidia/version does not exist"};
    return inventory;
  }
  inventory.status = {VendorState::library_absent, "NVML cannot be opened: " + nvml_error};
  inventory.source = "procfs";
  if (auto version = driver_version_from(*version_text); !version.empty())
    inventory.driver_version = make_version(version);

  // Directory names are bus ids; sorted, they give NVML's default (PCI) order.
  std::string gpus_dir = fs_path("/proc/driver/nvidia/gpus");
  int index = 0;
  for (const auto& entry : list_directory(gpus_dir)) {
    auto text = read_text_file(gpus_dir + "/" + entry + "/information");
    if (!text) continue;
    auto fields = information_fields(*text);
    GpuRecord gpu;
    gpu.vendor = "nvidia";
    gpu.index = index++;
    gpu.name = fields["Model"];
    gpu.uuid = fields["GPU UUID"];
    gpu.pci_bus_id = normalize_bus_id(fields.count("Bus Location") ? fields["Bus Location"] : entry);
    gpu.source = "procfs";
    gpu.notes.push_back("NVML cannot be opened: only the name, UUID and bus id come from /proc/driver/nvidia");
    inventory.gpus.push_back(std::move(gpu));
  }
  return inventory;
}

}  // namespace gpukit::detail
