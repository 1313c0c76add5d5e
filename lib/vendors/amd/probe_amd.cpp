// The AMD inventory: KFD topology first (no library needed), enriched by amd_smi.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/fsroot.hpp"
#include "vendors/amd/amd.hpp"
#include "vendors/amd/kfd.hpp"
#include "vendors/pci/pci.hpp"

namespace gpukit {

namespace {

std::string hex4(int v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

void apply_pci(GpuRecord& gpu, const PciDevice& pci) {
  gpu.numa_node = pci.numa_node;
  gpu.local_cpus = pci.local_cpus;
  gpu.pcie.max_generation = pci.max_link_generation;
  gpu.pcie.max_width = pci.max_link_width;
  gpu.pcie.current_generation = pci.current_link_generation;
  gpu.pcie.current_width = pci.current_link_width;
  if (gpu.pci_device_id.empty()) gpu.pci_device_id = pci.device_id;
}

// KFD's `name` is the kernel's ASIC name ("aldebaran"); ASICs found through IP
// discovery (MI300 and later) all read "ip discovery", which names nothing.
std::string fallback_name(const detail::KfdNode& node, const std::string& gfx) {
  if (!node.name.empty() && node.name != "ip discovery") return node.name;
  return "AMD " + (gfx.empty() ? std::string("GPU") : gfx);
}

GpuRecord record_from_kfd(const detail::KfdNode& node, int index, const std::string& hsa_xnack,
                          std::optional<int> noretry) {
  GpuRecord gpu;
  gpu.vendor = "amd";
  gpu.index = index;
  gpu.source = "kfd";
  gpu.gfx_target = gfx_name_from_target_version(node.gfx_target_version);
  gpu.name = fallback_name(node, gpu.gfx_target);
  gpu.pci_bus_id = detail::kfd_bus_id(node.domain, node.location_id);
  if (node.drm_render_minor >= 0) gpu.drm_render_minor = node.drm_render_minor;
  gpu.uuid = detail::kfd_gpu_uuid(node.unique_id);
  gpu.memory_bytes = node.local_memory_bytes;
  if (node.simd_per_cu > 0) gpu.multiprocessors = node.simd_count / node.simd_per_cu;
  gpu.max_sm_clock_mhz = node.max_engine_clock_mhz;
  gpu.max_memory_clock_mhz = node.memory_clock_mhz;
  gpu.memory_bus_width_bits = node.memory_width_bits;
  // KFD sets MEM_EDCSUPPORTED when RAS is enabled for the memory controller (UMC).
  gpu.ecc_enabled = (node.capability & detail::kfd_cap_mem_edc_supported) != 0;
  if (node.device_id > 0) gpu.pci_device_id = hex4(node.device_id);
  if (auto pci = pci_device(gpu.pci_bus_id)) apply_pci(gpu, *pci);

  if (gpu.gfx_target.empty()) {
    gpu.notes.push_back("KFD reports no gfx_target_version");
    return gpu;
  }
  auto target = detail::amd_target_info(gpu.gfx_target);
  if (!target) {
    gpu.target_id = gpu.gfx_target;
    gpu.notes.push_back("target features unknown: " + target.error().what());
    return gpu;
  }
  if (!target->known) gpu.notes.push_back(gpu.gfx_target + " is not in amd-targets.json: target features unknown");
  // sramecc: KFD's capability bit, which the ROCm runtime also uses for the ISA
  // it reports. xnack: a per-process mode, not in sysfs; derived as the runtime
  // would set it for this process (HSA_XNACK, amdgpu.noretry, the ASIC default).
  bool sramecc = (node.capability & detail::kfd_cap_sram_edc_supported) != 0;
  auto xnack = detail::xnack_enabled(*target, hsa_xnack, noretry);
  if (target->xnack && !xnack) gpu.notes.push_back("xnack mode unknown (amdgpu.noretry unreadable, no default known)");
  gpu.target_id = detail::make_target_id(gpu.gfx_target, *target, sramecc, xnack);
  return gpu;
}

GpuRecord record_from_pci(const PciDevice& pci, int index, const std::string& why) {
  GpuRecord gpu;
  gpu.vendor = "amd";
  gpu.index = index;
  gpu.source = "pci";
  gpu.name = "AMD GPU " + pci.device_id;
  gpu.pci_bus_id = pci.bus_id;
  gpu.pci_device_id = pci.device_id;
  apply_pci(gpu, pci);
  gpu.notes.push_back(why);
  return gpu;
}

void apply_amdsmi(GpuRecord& gpu, const detail::AmdSmiDevice& d) {
  if (!d.market_name.empty()) gpu.name = d.market_name;
  if (d.vram_bytes && !gpu.memory_bytes) gpu.memory_bytes = d.vram_bytes;
  if (d.power_cap_w) gpu.power_limit_w = d.power_cap_w;
  gpu.source = "kfd+amdsmi";
}

std::optional<int> read_noretry() {
  auto v = read_integer_file(fs_path("/sys/module/amdgpu/parameters/noretry"));
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

// HIP_VERSION_MAJOR/MINOR/PATCH from ROCm's bin/.hipVersion (Debian:
// /usr/share/hip/version), the numbers hipDriverGetVersion() encodes and
// HTCondor's HIP discovery prints as AmdDriverVersion.
std::optional<VersionInfo> read_hip_version() {
  std::vector<std::string> candidates;
  if (const char* rocm = std::getenv("ROCM_PATH"); rocm && *rocm) candidates.push_back(std::string(rocm) + "/bin/.hipVersion");
  candidates.push_back("/opt/rocm/bin/.hipVersion");
  candidates.push_back("/usr/share/hip/version");
  for (const auto& path : candidates) {
    auto text = read_text_file(fs_path(path));
    if (!text) continue;
    std::string major, minor, patch;
    std::size_t at = 0;
    while (at < text->size()) {
      std::size_t end = text->find('\n', at);
      std::string line = text->substr(at, end == std::string::npos ? std::string::npos : end - at);
      at = end == std::string::npos ? text->size() : end + 1;
      auto value = [&](const char* key) {
        std::string k = std::string(key) + "=";
        return line.rfind(k, 0) == 0 ? line.substr(k.size()) : std::string();
      };
      if (auto v = value("HIP_VERSION_MAJOR"); !v.empty()) major = v;
      if (auto v = value("HIP_VERSION_MINOR"); !v.empty()) minor = v;
      if (auto v = value("HIP_VERSION_PATCH"); !v.empty()) patch = v.substr(0, v.find_first_not_of("0123456789"));
    }
    auto digits = [](const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; };
    if (digits(major) && digits(minor)) return make_version(major + "." + minor + (digits(patch) ? "." + patch : ""));
  }
  return std::nullopt;
}

}  // namespace

VendorInventory probe_amd(double timeout_s) {
  VendorInventory inv;
  inv.vendor = "amd";
  inv.source = "kfd";

  std::vector<PciDevice> pci_gpus;
  for (auto& d : scan_gpu_pci_devices())
    if (d.vendor == "amd") pci_gpus.push_back(std::move(d));
  const bool kfd_present = path_exists(fs_path("/sys/class/kfd/kfd/topology/nodes"));
  const bool module_loaded = path_exists(fs_path("/sys/module/amdgpu"));
  if (auto version = read_first_line(fs_path("/sys/module/amdgpu/version")); version && !version->empty())
    inv.driver_version = make_version(*version);

  if (!kfd_present && pci_gpus.empty()) {
    inv.status = {VendorState::no_gpu, "no AMD GPU on the PCI bus and no KFD topology"};
    return inv;
  }
  if (!pci_gpus.empty() && (!module_loaded || !kfd_present)) {
    std::string why = !module_loaded ? "amdgpu kernel module not loaded (no /sys/module/amdgpu)"
                                     : "amdgpu loaded but no KFD topology (/sys/class/kfd)";
    inv.status = {VendorState::driver_absent, why};
    inv.source = "pci";
    for (const auto& d : pci_gpus) inv.gpus.push_back(record_from_pci(d, static_cast<int>(inv.gpus.size()), why));
    return inv;
  }

  const char* hsa_xnack_env = std::getenv("HSA_XNACK");
  const std::string hsa_xnack = hsa_xnack_env ? hsa_xnack_env : "";
  const auto noretry = read_noretry();
  for (const auto& node : detail::read_kfd_nodes())
    inv.gpus.push_back(record_from_kfd(node, static_cast<int>(inv.gpus.size()), hsa_xnack, noretry));
  if (inv.gpus.empty()) {
    inv.status = {VendorState::no_gpu, "KFD topology lists no GPU node"};
    return inv;
  }

  inv.status = {VendorState::ok, ""};
  inv.hip_version = read_hip_version();
  const std::string kfd_dev = fs_path("/dev/kfd");
  if (access(kfd_dev.c_str(), R_OK | W_OK) != 0) {
    // The GPUs exist but this process cannot open them (not in the render/video
    // group, or a container without --device=/dev/kfd).
    inv.status = {VendorState::permission_denied, "/dev/kfd: " + std::string(std::strerror(errno))};
  }

  auto smi = detail::query_amdsmi(timeout_s);
  if (!smi) {
    std::string note = "amd_smi not used: " + smi.error().what();
    for (auto& gpu : inv.gpus) gpu.notes.push_back(note);
    return inv;
  }
  inv.missing_symbols = smi->missing_symbols;
  bool matched_any = false;
  for (auto& gpu : inv.gpus) {
    bool matched = false;
    for (const auto& d : smi->devices) {
      if (normalize_bus_id(d.bus_id) != gpu.pci_bus_id) continue;
      apply_amdsmi(gpu, d);
      if (!inv.driver_version && !d.driver_version.empty()) inv.driver_version = make_version(d.driver_version);
      matched = matched_any = true;
    }
    if (!matched) gpu.notes.push_back("amd_smi does not list " + gpu.pci_bus_id);
  }
  if (matched_any) inv.source = "kfd+amdsmi";
  return inv;
}

}  // namespace gpukit
