#include "match/emit_dra.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "core/fsroot.hpp"
#include "core/paths.hpp"

namespace gpukit {

namespace {

// Attribute and capacity names as the drivers publish them:
// NVIDIA/k8s-dra-driver-gpu cmd/gpu-kubelet-plugin/deviceinfo.go (GetDevice)
// and ROCm/k8s-gpu-dra-driver docs/driver-attributes.md.
constexpr const char* nvidia_domain = "gpu.nvidia.com";
constexpr const char* amd_domain = "gpu.amd.com";

std::string cel_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string cel_list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + cel_string(values[i]);
  return out + "]";
}

std::string attribute(const char* domain, const char* name) {
  return std::string("device.attributes[") + cel_string(domain) + "]." + name;
}

std::string capacity(const char* domain, const char* name) {
  return std::string("device.capacity[") + cel_string(domain) + "]." + name;
}

// The drivers publish versions through Masterminds/semver's String(): three
// numeric parts without leading zeros ("535.104.05" -> "535.104.5").
std::string semver(const Version& v) {
  std::string out;
  for (std::size_t i = 0; i < 3; ++i) out += (i ? "." : "") + std::to_string(i < v.parts.size() ? v.parts[i] : 0);
  return out;
}

std::string at_least_version(const char* domain, const char* name, const Version& v) {
  return attribute(domain, name) + ".compareTo(semver(" + cel_string(semver(v)) + ")) >= 0";
}

std::string at_most_version(const char* domain, const char* name, const Version& v) {
  return attribute(domain, name) + ".compareTo(semver(" + cel_string(semver(v)) + ")) <= 0";
}

// Bytes as a Kubernetes quantity: exact, so no rounding can admit a device
// one byte short.
std::string at_least_memory(const char* domain, std::uint64_t bytes) {
  return capacity(domain, "memory") + ".compareTo(quantity(" + cel_string(std::to_string(bytes)) + ")) >= 0";
}

// The products of one vendor whose catalogue figures meet the FP64 minimums;
// nullopt when the requirement has none. Names are the driver's own (NVML's,
// AMD's product name), the catalogue's match.names.
std::optional<std::vector<std::string>> products_meeting(const Requirements& job, const json& hardware,
                                                         const std::string& vendor) {
  if (!job.min_fp64_tflops && !job.min_fp64_fp32_ratio) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& e : hardware.value("entries", json::array())) {
    if (!e.is_object() || e.value("vendor", "") != vendor) continue;
    const json& peaks = e.value("peak_tflops", json::object());
    auto peak = [&](const char* k) -> std::optional<double> {
      if (!peaks.is_object() || !peaks.contains(k) || !peaks[k].is_number()) return std::nullopt;
      return peaks[k].get<double>();
    };
    auto fp64 = peak("fp64"), fp32 = peak("fp32");
    if (job.min_fp64_tflops && (!fp64 || *fp64 < *job.min_fp64_tflops)) continue;
    if (job.min_fp64_fp32_ratio && (!fp64 || !fp32 || *fp32 <= 0 || *fp64 / *fp32 < *job.min_fp64_fp32_ratio)) continue;
    const json& match = e.value("match", json::object());
    for (const auto& n : match.value("names", json::array()))
      if (n.is_string() && std::find(names.begin(), names.end(), n.get<std::string>()) == names.end())
        names.push_back(n.get<std::string>());
  }
  return names;
}

// "gfx90a:xnack-" -> {"gfx90a"}; a generic target -> the processors it covers.
std::vector<std::string> processors_of(const std::string& target, const CompatTables& tables) {
  std::string base = target.substr(0, target.find(':'));
  if (const GenericTarget* g = tables.generic(base)) return g->processors;
  return {base};
}

struct AmdDevices {
  std::vector<std::string> device_ids;  // "0x740c", as the driver's deviceID attribute
  std::vector<std::string> unmapped;    // targets no catalogue row gives a device id for
  bool features_named = false;          // xnack / sramecc settings in a target id
};

AmdDevices amd_devices(const Requirements& job, const CompatTables& tables, const json& hardware) {
  AmdDevices out;
  for (const auto& target : job.amd_targets) {
    if (target.find(':') != std::string::npos) out.features_named = true;
    bool mapped = false;
    for (const auto& gfx : processors_of(target, tables)) {
      for (const auto& e : hardware.value("entries", json::array())) {
        if (!e.is_object() || e.value("vendor", "") != "amd" || !e.contains("gfx_target") || e["gfx_target"] != gfx) continue;
        for (const auto& id : e.value("match", json::object()).value("pci_device_ids", json::array())) {
          if (!id.is_string()) continue;
          std::string lower = id.get<std::string>();
          std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
          mapped = true;
          if (std::find(out.device_ids.begin(), out.device_ids.end(), lower) == out.device_ids.end())
            out.device_ids.push_back(lower);
        }
      }
    }
    if (!mapped) out.unmapped.push_back(target);
  }
  return out;
}

// One way to satisfy the request: a device class, a count and the selectors
// (ANDed).
struct Alternative {
  std::string name, device_class;
  std::vector<std::string> selectors;
};

std::vector<std::string> nvidia_common(const Requirements& job, const CompatTables& tables, const json& hardware) {
  std::vector<std::string> s;
  if (job.min_compute_capability) s.push_back(at_least_version(nvidia_domain, "cudaComputeCapability", *job.min_compute_capability));
  if (job.max_compute_capability) {
    // "8.9" admits 8.9.x: the drivers publish major.minor.0.
    s.push_back(at_most_version(nvidia_domain, "cudaComputeCapability", *job.max_compute_capability));
  }
  if (job.cuda_runtime) {
    // The driver's CUDA version (cudaDriverVersion) must reach the runtime's
    // major (minor version compatibility) or major.minor, and the driver the
    // table's floor for it.
    Version floor = job.minor_version_compatibility ? Version::of(job.cuda_runtime->major(), 0)
                                                    : Version::of(job.cuda_runtime->major(), job.cuda_runtime->minor());
    s.push_back(at_least_version(nvidia_domain, "cudaDriverVersion", floor));
    const MvcFloor* mvc = job.minor_version_compatibility ? tables.mvc_floor(job.cuda_runtime->major()) : nullptr;
    const ToolkitRow* row = tables.toolkit(*job.cuda_runtime);
    if (mvc) s.push_back(at_least_version(nvidia_domain, "driverVersion", mvc->min_driver));
    else if (row) s.push_back(at_least_version(nvidia_domain, "driverVersion", row->min_driver));
  }
  if (job.gpu_memory_bytes) s.push_back(at_least_memory(nvidia_domain, *job.gpu_memory_bytes));
  if (auto products = products_meeting(job, hardware, "nvidia"))
    s.push_back(attribute(nvidia_domain, "productName") + " in " + cel_list(*products));
  return s;
}

std::vector<Alternative> nvidia_alternatives(const Requirements& job, const CompatTables& tables, const json& hardware) {
  std::vector<Alternative> out;
  auto common = nvidia_common(job, tables, hardware);
  if (job.mig != MigPolicy::require) {
    Alternative gpu{"nvidia-gpu", "gpu.nvidia.com", {attribute(nvidia_domain, "type") + " == \"gpu\""}};
    gpu.selectors.insert(gpu.selectors.end(), common.begin(), common.end());
    out.push_back(gpu);
  }
  // A MIG instance is never a whole, unshared GPU.
  if (job.mig != MigPolicy::forbid && !job.exclusive) {
    Alternative mig{"nvidia-mig", "mig.nvidia.com", {attribute(nvidia_domain, "type") + " == \"mig\""}};
    mig.selectors.insert(mig.selectors.end(), common.begin(), common.end());
    if (!job.mig_profiles.empty()) mig.selectors.push_back(attribute(nvidia_domain, "profile") + " in " + cel_list(job.mig_profiles));
    if (job.mig_min_slice)  // the slice count is the number before "g." ("3g.40gb", "1c.3g.40gb")
      mig.selectors.push_back(attribute(nvidia_domain, "profile") + ".matches(" +
                              cel_string("(^|[.])[" + std::to_string(*job.mig_min_slice) + "-8]g[.]") + ")");
    out.push_back(mig);
  }
  return out;
}

Alternative amd_alternative(const Requirements& job, const AmdDevices& devices, const json& hardware) {
  Alternative amd{"amd-gpu", amd_domain, {}};
  // AMD partitions stand where NVIDIA has MIG instances.
  if (job.mig == MigPolicy::forbid || job.exclusive) amd.selectors.push_back(attribute(amd_domain, "type") + " == \"amdgpu\"");
  else if (job.mig == MigPolicy::require) amd.selectors.push_back(attribute(amd_domain, "type") + " == \"amdgpu-partition\"");
  if (!devices.device_ids.empty()) amd.selectors.push_back(attribute(amd_domain, "deviceID") + " in " + cel_list(devices.device_ids));
  // The driver publishes memory 0 when it cannot read it, and a capacity a
  // device lacks aborts the allocation: guard, as the driver's docs advise.
  if (job.gpu_memory_bytes)
    amd.selectors.push_back("cel.bind(cap, device.capacity[" + cel_string(amd_domain) + "], has(cap.memory) && " +
                            "cap.memory.compareTo(quantity(" + cel_string(std::to_string(*job.gpu_memory_bytes)) + ")) >= 0)");
  if (auto products = products_meeting(job, hardware, "amd"))
    amd.selectors.push_back(attribute(amd_domain, "productName") + " in " + cel_list(*products));
  return amd;
}

std::string yaml_single_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A Kubernetes object name: lower-case RFC 1123 subdomain.
std::string object_name(const std::string& job_name) {
  std::string out;
  for (char c : job_name) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) out += static_cast<char>(std::tolower(u));
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 200) out.resize(200);
  return out.empty() ? "gpumatch-job" : "gpumatch-" + out;
}

// `indent` spaces before each key of one request or subrequest body.
std::string request_body(const Alternative& a, int count, const std::string& indent) {
  std::string out = indent + "deviceClassName: " + a.device_class + "\n" + indent + "allocationMode: ExactCount\n" + indent +
                    "count: " + std::to_string(count) + "\n";
  if (a.selectors.empty()) return out;
  out += indent + "selectors:\n";
  for (const auto& s : a.selectors) out += indent + "- cel:\n" + indent + "    expression: " + yaml_single_quoted(s) + "\n";
  return out;
}

std::vector<std::string> not_expressible(const Requirements& job, const AmdDevices& amd, bool amd_used) {
  std::vector<std::string> left;
  if (amd_used && amd.features_named) left.push_back("amd_targets features (xnack, sramecc: no DRA attribute)");
  if (amd_used && job.hip_runtime) left.push_back("hip_runtime (no table maps it to an amdgpu driverVersion)");
  if (job.min_fp64_tflops || job.min_fp64_fp32_ratio)
    left.push_back("min_fp64_* exactly (approximated by the catalogue's productName list; a product it lacks is excluded)");
  if (job.min_score) left.push_back("min_score");
  if (job.pinned_memory_per_gpu_bytes) left.push_back("pinned_memory_per_gpu_bytes");
  if (job.numa_local) left.push_back("numa_local (the CPUs are not DRA devices here)");
  if (!job.payloads.empty()) left.push_back("payloads");
  if (job.cuda_runtime && !job.ptx_jit) left.push_back("ptx_jit");
  return left;
}

}  // namespace

Result<json> load_hardware_catalogue() {
  auto path = data_file("hardware.json");
  if (!path) return path.error();
  auto text = read_text_file(*path);
  if (!text) return usage_error("is unreadable", *path);
  auto shipped = parse_json(*text, *path);
  if (!shipped) return shipped.error();
  // The site's rows (gpukit(7) SITE DATA) add device ids the shipped table lacks.
  if (const char* site = std::getenv("GPUKIT_SITE_HARDWARE"); site && *site) {
    std::string origin = std::string("GPUKIT_SITE_HARDWARE=") + site;
    auto site_text = read_text_file(site);
    if (!site_text) return usage_error("is unreadable", origin);
    auto rows = parse_json(*site_text, origin);
    if (!rows) return rows.error();
    if (!rows->is_object() || !rows->contains("entries") || !(*rows)["entries"].is_array())
      return usage_error("entries: must be an array", origin);
    if (!shipped->is_object() || !shipped->contains("entries") || !(*shipped)["entries"].is_array())
      return usage_error("entries: must be an array", *path);
    for (const auto& row : (*rows)["entries"]) (*shipped)["entries"].push_back(row);
  }
  return shipped;
}

Result<std::string> emit_k8s_dra(const Requirements& job, const CompatTables& tables, const json& hardware) {
  if (!job.gpu_job())
    return usage_error("the requirement asks for no GPU: a CPU-only job claims no device (use --emit k8s)", "--emit k8s-dra");
  bool nvidia = job.vendor != "amd", amd = job.vendor != "nvidia";
  AmdDevices amd_ids = amd_devices(job, tables, hardware);
  if (!job.amd_targets.empty() && amd_ids.device_ids.empty()) {
    if (job.vendor == "amd") {
      std::string names;
      for (const auto& t : amd_ids.unmapped) names += (names.empty() ? "" : ", ") + t;
      return usage_error("no catalogue row gives a PCI device id for " + names +
                             ": DRA selects AMD GPUs by deviceID (add the row: GPUKIT_SITE_HARDWARE, gpukit(7))",
                         "amd_targets");
    }
    amd = false;  // NVIDIA devices only: AMD ones cannot be told apart
  }
  std::vector<Alternative> alternatives;
  if (nvidia) alternatives = nvidia_alternatives(job, tables, hardware);
  if (amd) alternatives.push_back(amd_alternative(job, amd_ids, hardware));

  std::string out = "# ResourceClaimTemplate written by gpumatch --emit k8s-dra (resource.k8s.io/v1, Kubernetes 1.34+):\n";
  out += "# devices of NVIDIA's DRA driver (gpu.nvidia.com, mig.nvidia.com) and AMD's (gpu.amd.com).\n";
  out += "# A pod claims it with spec.resourceClaims[].resourceClaimTemplateName; DRA devices are not shared.\n";
  out += "# CPU and memory stay in the pod's resources: cpu \"" + std::to_string(job.total_cores()) + "\"";
  if (std::uint64_t mem = job.job_memory_bytes(); mem > 0) out += ", memory \"" + std::to_string((mem + (1ULL << 20) - 1) >> 20) + "Mi\"";
  out += ".\n";
  if (alternatives.size() > 1) out += "# firstAvailable: the first alternative the node can satisfy (the DRAPrioritizedList feature).\n";
  if (!amd_ids.unmapped.empty()) {
    std::string names;
    for (const auto& t : amd_ids.unmapped) names += (names.empty() ? "" : ", ") + t;
    out += "# AMD targets without a known PCI device id, not selected: " + names + ".\n";
  }
  auto left = not_expressible(job, amd_ids, amd);
  if (!left.empty()) {
    out += "# Not expressible in DRA, checked on the node by gpumatch:";
    for (std::size_t i = 0; i < left.size(); ++i) out += (i ? "; " : " ") + left[i];
    out += ".\n";
  }
  out += "apiVersion: resource.k8s.io/v1\nkind: ResourceClaimTemplate\nmetadata:\n  name: " + object_name(job.name) + "\n";
  out += "spec:\n  spec:\n    devices:\n      requests:\n      - name: gpus\n";
  if (alternatives.size() == 1) {
    out += "        exactly:\n" + request_body(alternatives.front(), job.gpus, "          ");
  } else {
    out += "        firstAvailable:\n";
    for (const auto& a : alternatives) out += "        - name: " + a.name + "\n" + request_body(a, job.gpus, "          ");
  }
  return out;
}

}  // namespace gpukit
