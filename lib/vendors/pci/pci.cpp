#include "vendors/pci/pci.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "core/fsroot.hpp"

namespace gpukit {

namespace {

const char* pci_devices_dir = "/sys/bus/pci/devices";

std::string vendor_name(const std::string& vendor_id) {
  if (vendor_id == "0x10de") return "nvidia";
  if (vendor_id == "0x1002") return "amd";
  if (vendor_id == "0x8086") return "intel";
  return {};
}

// Base class 0x03 (display controller: VGA 0x0300, 3D 0x0302) or 0x12 (processing
// accelerator): what GPUs and compute accelerators report. Everything else of these
// vendors (audio functions, bridges, NICs) is left out.
bool is_gpu_class(const std::string& class_code) {
  return class_code.rfind("0x03", 0) == 0 || class_code.rfind("0x12", 0) == 0;
}

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "16.0 GT/s PCIe" (or the older "16 GT/s") -> PCIe generation 4. The kernel writes
// "Unknown" when it cannot tell.
std::optional<int> link_generation(const std::optional<std::string>& speed) {
  if (!speed || speed->empty()) return std::nullopt;
  char* end = nullptr;
  double gts = std::strtod(speed->c_str(), &end);
  if (end == speed->c_str()) return std::nullopt;
  struct Row { double gts; int gen; };
  static constexpr Row table[] = {{2.5, 1}, {5, 2}, {8, 3}, {16, 4}, {32, 5}, {64, 6}};
  for (const auto& r : table)
    if (gts > r.gts - 0.05 && gts < r.gts + 0.05) return r.gen;
  return std::nullopt;
}

std::optional<int> link_width(const std::string& path) {
  auto v = read_integer_file(path);
  // 0 and 255 mean "not trained" or "unknown" in the kernel's PCIe code.
  if (!v || *v <= 0 || *v == 255) return std::nullopt;
  return static_cast<int>(*v);
}

PciDevice read_device(const std::string& dir, const std::string& bus_id) {
  PciDevice d;
  d.bus_id = lowercase(bus_id);
  d.vendor_id = lowercase(read_first_line(dir + "/vendor").value_or(""));
  d.device_id = lowercase(read_first_line(dir + "/device").value_or(""));
  d.class_code = lowercase(read_first_line(dir + "/class").value_or(""));
  d.vendor = vendor_name(d.vendor_id);
  std::error_code ec;
  auto target = std::filesystem::read_symlink(dir + "/driver", ec);
  if (!ec) d.driver = target.filename().string();
  if (auto node = read_integer_file(dir + "/numa_node"); node && *node >= 0) d.numa_node = static_cast<int>(*node);
  d.local_cpus = read_first_line(dir + "/local_cpulist").value_or("");
  d.max_link_generation = link_generation(read_first_line(dir + "/max_link_speed"));
  d.current_link_generation = link_generation(read_first_line(dir + "/current_link_speed"));
  d.max_link_width = link_width(dir + "/max_link_width");
  d.current_link_width = link_width(dir + "/current_link_width");
  return d;
}

}  // namespace

std::string normalize_bus_id(const std::string& bus_id) {
  std::string id = lowercase(trim(bus_id));
  auto first = id.find(':');
  if (first == std::string::npos) return id;
  if (id.find(':', first + 1) == std::string::npos) return "0000:" + id;  // "17:00.0"
  std::string domain = id.substr(0, first);
  // NVML prints an 8-digit domain ("00000000:17:00.0"); sysfs uses 4 digits unless
  // the domain needs more (VMD and some hypervisors use 0x10000 and above).
  while (domain.size() > 4 && domain.front() == '0') domain.erase(0, 1);
  while (domain.size() < 4) domain.insert(0, "0");
  return domain + id.substr(first);
}

std::vector<PciDevice> scan_gpu_pci_devices() {
  std::vector<PciDevice> out;
  const std::string root = fs_path(pci_devices_dir);
  for (const auto& name : list_directory(root)) {
    PciDevice d = read_device(root + "/" + name, name);
    if (d.vendor.empty() || !is_gpu_class(d.class_code)) continue;
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const PciDevice& a, const PciDevice& b) { return a.bus_id < b.bus_id; });
  return out;
}

std::optional<PciDevice> pci_device(const std::string& bus_id) {
  std::string id = normalize_bus_id(bus_id);
  std::string dir = fs_path(pci_devices_dir) + "/" + id;
  if (!path_exists(dir + "/vendor")) return std::nullopt;
  return read_device(dir, id);
}

}  // namespace gpukit
