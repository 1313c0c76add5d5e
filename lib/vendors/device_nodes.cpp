#include "vendors/device_nodes.hpp"

#include <sstream>

#include "core/fsroot.hpp"
#include "core/units.hpp"

namespace gpukit {

std::optional<int> nvidia_device_minor(const std::string& bus_id) {
  auto text = read_text_file(fs_path("/proc/driver/nvidia/gpus/" + bus_id + "/information"));
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  const std::string key = "Device Minor:";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    return parse_integer<int>(trim(line.substr(key.size())));
  }
  return std::nullopt;
}

std::optional<int> nvidia_mig_cap_minor(int device_minor, int gi, int ci) {
  auto text = read_text_file(fs_path("/proc/driver/nvidia-caps/mig-minors"));
  if (!text) return std::nullopt;
  std::string want = "gpu" + std::to_string(device_minor) + "/gi" + std::to_string(gi) +
                     (ci >= 0 ? "/ci" + std::to_string(ci) : "") + "/access";
  std::istringstream in(*text);
  std::string name;
  int minor = 0;
  while (in >> name >> minor)
    if (name == want) return minor;
  return std::nullopt;
}

}  // namespace gpukit
