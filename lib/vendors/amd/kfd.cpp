// The KFD topology in sysfs: what the ROCm runtime itself reads
// (ROCR-Runtime libhsakmt/src/topology.c), available without any ROCm library.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/fsroot.hpp"
#include "core/paths.hpp"
#include "vendors/amd/amd.hpp"
#include "vendors/amd/kfd.hpp"

namespace gpukit {

namespace detail {

namespace {

const char* kfd_nodes_dir = "/sys/class/kfd/kfd/topology/nodes";

// "key value" lines, values unsigned decimal (unique_id and hive_id use all 64 bits).
std::map<std::string, std::uint64_t> read_properties(const std::string& path) {
  std::map<std::string, std::uint64_t> props;
  auto text = read_text_file(path);
  if (!text) return props;
  std::istringstream in(*text);
  std::string key, value;
  while (in >> key >> value) {
    char* end = nullptr;
    auto v = std::strtoull(value.c_str(), &end, 10);
    if (end != value.c_str()) props[key] = v;
  }
  return props;
}

std::uint64_t get(const std::map<std::string, std::uint64_t>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

// HSA_MEM_HEAP_TYPE_FB_PUBLIC (1) and FB_PRIVATE (2) are the GPU's own memory;
// 0 is system memory, 3.. are GDS, LDS and scratch apertures.
void read_memory_banks(const std::string& node_dir, KfdNode& node) {
  const std::string dir = node_dir + "/mem_banks";
  std::uint64_t total = 0;
  bool any = false;
  for (const auto& bank : list_directory(dir)) {
    auto p = read_properties(dir + "/" + bank + "/properties");
    auto heap = get(p, "heap_type");
    if (heap != 1 && heap != 2) continue;
    total += get(p, "size_in_bytes");
    any = true;
    if (auto clk = get(p, "mem_clk_max")) node.memory_clock_mhz = static_cast<int>(clk);
    if (auto width = get(p, "width")) node.memory_width_bits = static_cast<int>(width);
  }
  if (any && total > 0) node.local_memory_bytes = total;
}

}  // namespace

std::vector<KfdNode> read_kfd_nodes() {
  const std::string dir = fs_path(kfd_nodes_dir);
  std::vector<int> numbers;
  for (const auto& name : list_directory(dir)) {
    char* end = nullptr;
    long n = std::strtol(name.c_str(), &end, 10);
    if (end != name.c_str() && *end == '\0') numbers.push_back(static_cast<int>(n));
  }
  std::sort(numbers.begin(), numbers.end());  // "10" sorts before "2" as text
  std::vector<KfdNode> nodes;
  for (int n : numbers) {
    const std::string node_dir = dir + "/" + std::to_string(n);
    auto p = read_properties(node_dir + "/properties");
    if (get(p, "simd_count") == 0) continue;  // a CPU node
    KfdNode node;
    node.node = n;
    node.gfx_target_version = static_cast<long long>(get(p, "gfx_target_version"));
    node.simd_count = static_cast<int>(get(p, "simd_count"));
    node.simd_per_cu = static_cast<int>(get(p, "simd_per_cu"));
    node.domain = static_cast<std::uint32_t>(get(p, "domain"));
    node.location_id = static_cast<std::uint32_t>(get(p, "location_id"));
    if (p.count("drm_render_minor")) node.drm_render_minor = static_cast<int>(get(p, "drm_render_minor"));
    node.unique_id = get(p, "unique_id");
    node.capability = static_cast<std::uint32_t>(get(p, "capability"));
    node.vendor_id = static_cast<int>(get(p, "vendor_id"));
    node.device_id = static_cast<int>(get(p, "device_id"));
    if (auto clk = get(p, "max_engine_clk_fcompute")) node.max_engine_clock_mhz = static_cast<int>(clk);
    node.name = read_first_line(node_dir + "/name").value_or("");
    read_memory_banks(node_dir, node);
    nodes.push_back(std::move(node));
  }
  return nodes;
}

std::string kfd_gpu_uuid(std::uint64_t unique_id) {
  if (unique_id == 0) return {};
  char buf[24];
  std::snprintf(buf, sizeof buf, "GPU-%016llx", static_cast<unsigned long long>(unique_id));
  return buf;
}

std::string kfd_bus_id(std::uint32_t domain, std::uint32_t location_id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", domain, (location_id >> 8) & 0xff, (location_id >> 3) & 0x1f,
                location_id & 0x7);
  return buf;
}

Result<AmdTargetInfo> amd_target_info(const std::string& gfx) {
  auto path = data_file("amd-targets.json");
  if (!path) return path.error();
  std::ifstream in(*path);
  nlohmann::json table = nlohmann::json::parse(in, nullptr, false);
  if (table.is_discarded() || !table.contains("processors") || !table["processors"].is_array())
    return environment_error("not a gpukit AMD target table", *path);
  AmdTargetInfo info;
  for (const auto& row : table["processors"]) {
    if (!row.is_object() || row.value("gfx", "") != gfx) continue;
    info.known = true;
    for (const auto& f : row.value("features", nlohmann::json::array())) {
      if (f == "sramecc") info.sramecc = true;
      if (f == "xnack") info.xnack = true;
    }
    info.xnack_per_process = row.value("xnack_per_process", false);
    if (row.contains("noretry_default") && row["noretry_default"].is_boolean())
      info.noretry_default = row["noretry_default"].get<bool>();
  }
  for (const auto& row : table.value("generic", nlohmann::json::array())) {
    if (!row.is_object()) continue;
    for (const auto& p : row.value("processors", nlohmann::json::array()))
      if (p == gfx) info.generic.push_back(row.value("name", ""));
  }
  return info;
}

std::optional<bool> xnack_enabled(const AmdTargetInfo& target, const std::string& hsa_xnack, std::optional<int> noretry) {
  if (!target.xnack) return std::nullopt;
  // The KFD default for a process is "retry on" exactly when amdgpu runs with
  // noretry=0 (kfd_process_xnack_mode); -1 lets the kernel choose per ASIC.
  std::optional<bool> retry_on;
  if (noretry == 0) retry_on = true;
  else if (noretry == 1) retry_on = false;
  else if (target.noretry_default) retry_on = !*target.noretry_default;
  // ROCr asks KFD for HSA_XNACK's mode at start-up. KFD grants XNACK on to a
  // process only where the GPU supports per-process XNACK or retry is on anyway;
  // XNACK off is always granted.
  if (hsa_xnack == "0") return false;
  if (hsa_xnack == "1") {
    if (target.xnack_per_process) return true;
    return retry_on;
  }
  return retry_on;
}

std::string make_target_id(const std::string& gfx, const AmdTargetInfo& target, bool sramecc_on,
                           std::optional<bool> xnack_on) {
  std::string id = gfx;
  if (target.sramecc) id += sramecc_on ? ":sramecc+" : ":sramecc-";
  if (target.xnack && xnack_on) id += *xnack_on ? ":xnack+" : ":xnack-";
  return id;
}

}  // namespace detail

std::string gfx_name_from_target_version(long long version) {
  if (version <= 0) return {};
  long long major = version / 10000, minor = (version / 100) % 100, stepping = version % 100;
  char buf[48];
  // Major in decimal, minor and stepping as one hex digit each (LLVM's naming):
  // 90010 -> gfx90a, 90402 -> gfx942, 100300 -> gfx1030.
  std::snprintf(buf, sizeof buf, "gfx%lld%llx%llx", major, minor, stepping);
  return buf;
}

std::vector<std::string> amdgpu_generic_targets(const std::string& gfx) {
  auto info = detail::amd_target_info(gfx);
  if (!info) return {};
  return info->generic;
}

}  // namespace gpukit
