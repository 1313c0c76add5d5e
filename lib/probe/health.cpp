#include "probe/health.hpp"

#include <cstdlib>
#include <future>

#include "core/fsroot.hpp"
#include "core/health_limits.hpp"
#include "vendors/health.hpp"
#include "vendors/nvidia/nvidia.hpp"
#include "vendors/pci/pci.hpp"

namespace gpukit {

namespace {


HealthCheck nouveau_check(bool nvidia_gpus) {
  HealthCheck c;
  c.name = "nouveau";
  c.source = "/sys/module/nouveau";
  const bool loaded = path_exists(fs_path("/sys/module/nouveau"));
  c.value = loaded;
  c.threshold = false;
  c.status = loaded && nvidia_gpus ? CheckStatus::fail : CheckStatus::pass;
  if (loaded) {
    c.dcgm_code = "DCGM_FR_DENYLISTED_DRIVER";
    c.reason = nvidia_gpus ? "the nouveau driver is loaded: the NVIDIA driver cannot own the GPUs (blacklist nouveau)"
                           : "the nouveau driver is loaded (no NVIDIA GPU here to take)";
  }
  return c;
}

HealthCheck cuda_environment_check(const HealthLimits& limits) {
  HealthCheck c;
  c.name = "cuda_environment";
  c.source = "environment";
  json set = json::array();
  for (const auto& name : limits.cuda_environment)
    if (std::getenv(name.c_str())) set.push_back(name);
  c.value = set;
  c.threshold = json::array();
  c.status = set.empty() ? CheckStatus::pass : verdict(limits.cuda_environment_set);
  if (!set.empty()) {
    c.dcgm_code = "DCGM_FR_BAD_CUDA_ENV";
    std::string names;
    for (const auto& n : set) names += (names.empty() ? "" : ", ") + n.get<std::string>();
    c.reason = "set in this environment and changing how CUDA runs: " + names;
  }
  return c;
}

// The vendor record for a gpus entry: by PCI bus id when both have one, else by index.
const GpuHealthRecord* record_for(const json& entry, const VendorHealth& vendor) {
  const std::string bus = json_text(entry, "pci_bus_id");
  for (const auto& r : vendor.gpus)
    if (!bus.empty() && !r.pci_bus_id.empty() && normalize_bus_id(r.pci_bus_id) == bus) return &r;
  const json& index = json_member(entry, "index");
  for (const auto& r : vendor.gpus)
    if (r.pci_bus_id.empty() && index.is_number_integer() && index.get<int>() == r.index) return &r;
  return nullptr;
}

PcieLink link_of(const json& entry) {
  PcieLink link;
  const json& p = json_member(entry, "pcie");
  auto get = [&](const char* key, std::optional<int>& out) {
    if (p.is_object() && p.contains(key) && p[key].is_number_integer()) out = p[key].get<int>();
  };
  get("current_generation", link.current_generation);
  get("current_width", link.current_width);
  get("max_generation", link.max_generation);
  get("max_width", link.max_width);
  return link;
}

// A vendor whose layer did not answer: one check that says so on each of its GPUs.
HealthCheck vendor_check(const VendorHealth& vendor) {
  HealthCheck c;
  c.name = vendor.vendor == "nvidia" ? "nvml" : "amd_smi";
  c.source = c.name;
  c.reason = vendor.status.reason;
  switch (vendor.status.state) {
    case VendorState::timeout: c.status = CheckStatus::timeout; break;
    case VendorState::init_failed:
    case VendorState::permission_denied: c.status = CheckStatus::fail; break;
    default: c.status = CheckStatus::unsupported;
  }
  return c;
}

json health_json(const std::vector<HealthCheck>& checks) {
  json list = json::array();
  std::string_view worst = "unsupported";
  for (const auto& c : checks) {
    list.push_back(c.to_json());
    worst = worse_health_status(worst, to_string(c.status));
  }
  return {{"level", 1}, {"status", std::string(worst)}, {"checks", std::move(list)}};
}

bool failed(const VendorHealth& v) {
  return v.status.state == VendorState::init_failed || v.status.state == VendorState::permission_denied;
}

}  // namespace

Result<int> probe_health(Document& document, double timeout_s) {
  auto limits = load_health_limits();
  if (!limits) return limits.error();
  json gpus = document.section("gpus") ? *document.section("gpus") : json::array();
  const json* drivers = document.section("drivers");
  bool nvidia_gpus = false, amd_gpus = false;
  for (const auto& g : gpus) {
    nvidia_gpus = nvidia_gpus || json_text(g, "vendor") == "nvidia";
    amd_gpus = amd_gpus || json_text(g, "vendor") == "amd";
  }
  // Each vendor has its own deadline: side by side, as the inventory runs them.
  std::future<VendorHealth> amd_future;
  if (amd_gpus) amd_future = std::async(std::launch::async, check_amd_health, *limits, timeout_s);

  // A driver whose inventory already timed out would only hang again: its GPUs say so.
  VendorHealth nvidia;
  nvidia.vendor = "nvidia";
  const json& nvidia_driver = drivers ? json_member(*drivers, "nvidia") : json_member(json(), "");
  if (json_text(nvidia_driver, "status") == "timeout") {
    const std::string why = json_text(nvidia_driver, "reason");
    nvidia.status = {VendorState::timeout, why.empty() ? "the NVIDIA driver did not answer" : why};
  } else if (nvidia_gpus) {
    nvidia = check_nvidia_health(*limits, timeout_s);
  }

  VendorHealth amd;
  amd.vendor = "amd";
  if (amd_future.valid()) amd = amd_future.get();
  const bool deadline = nvidia.status.state == VendorState::timeout || amd.status.state == VendorState::timeout;
  // A driver that refused the inventory (no permission, init failed) leaves its GPUs unchecked: a vendor failure.
  bool vendor_failed = failed(nvidia) || failed(amd);
  if (drivers)
    for (const char* vendor : {"nvidia", "amd"}) {
      const std::string state = json_text(json_member(*drivers, vendor), "status");
      vendor_failed = vendor_failed || state == "init_failed" || state == "permission_denied";
    }
  for (auto& entry : gpus) {
    std::vector<HealthCheck> checks;
    const std::string vendor = json_text(entry, "vendor");
    if (vendor == "nvidia") {
      const GpuHealthRecord* r = record_for(entry, nvidia);
      if (r) checks = r->checks;
      if (!r || (checks.empty() && nvidia.status.state != VendorState::ok)) checks.push_back(vendor_check(nvidia));
    } else {
      if (vendor == "amd") {
        const GpuHealthRecord* r = record_for(entry, amd);
        if (r) checks = r->checks;
        else checks.push_back(vendor_check(amd));
      }
      // The link as the inventory read it (sysfs).
      checks.push_back(pcie_link_check(link_of(entry), *limits, "sysfs current_link_speed/width, max_link_speed/width"));
    }
    entry["health"] = health_json(checks);
  }

  std::vector<HealthCheck> node_checks = {nouveau_check(nvidia_gpus), cuda_environment_check(*limits)};
  json node = health_json(node_checks);
  node["generator"] = generator_stamp("gpuprobe");
  node["thresholds"] = "health-thresholds.json" + std::string(std::getenv("GPUKIT_SITE_HEALTH") ? " + GPUKIT_SITE_HEALTH" : "");
  int healthy = 0, any_failed = node["status"] == "fail" ? 1 : 0;
  json unhealthy = json::array();
  for (const auto& entry : gpus) {
    json reasons = json::array();
    for (const auto& c : entry["health"]["checks"])
      if (c["status"] == "fail") reasons.push_back(json_text(c, "name") + ": " + json_text(c, "reason"));
    if (reasons.empty() && node["status"] != "fail") ++healthy;
    if (!reasons.empty()) {
      any_failed = 1;
      unhealthy.push_back(
          {{"index", json_member(entry, "index")}, {"uuid", json_member(entry, "uuid")}, {"reasons", reasons}});
    }
  }
  node["gpus_total"] = gpus.size();
  node["gpus_healthy"] = healthy;
  node["unhealthy"] = std::move(unhealthy);
  document.set_section("gpus", std::move(gpus));
  document.set_section("health", std::move(node));
  if (deadline) return 4;
  if (vendor_failed) return 3;
  return any_failed;
}

std::string health_status_of(const NodeGpu& gpu) {
  if (!gpu.health) return "";
  if (gpu.health->status) return *gpu.health->status;
  std::string_view worst = "unsupported";
  for (const auto& c : gpu.health->checks) worst = worse_health_status(worst, c.status);
  return std::string(worst);
}

std::string health_failure_summary(const NodeGpu& gpu) {
  std::string out;
  if (!gpu.health) return out;
  for (const auto* c : gpu.health->failures())
    out += (out.empty() ? "" : "; ") + c->name + (c->reason ? ": " + *c->reason : std::string());
  return out;
}

int healthy_gpu_count(const NodeModel& node) {
  if (node.health && !node.health->failures().empty()) return 0;
  int n = 0;
  for (const auto& g : node.gpu_list()) n += g.healthy() ? 1 : 0;
  return n;
}

bool has_health(const NodeModel& node) {
  if (node.health) return true;
  for (const auto& g : node.gpu_list())
    if (g.health) return true;
  return false;
}

}  // namespace gpukit
