// gpuprobe --format nfd: Kubernetes node-feature-discovery labels (features.d).
#include "probe/format_health.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

namespace {

// A Kubernetes label value: at most 63 characters of [A-Za-z0-9._-], starting
// and ending with an alphanumeric. Like GFD's sanitise(): other characters are
// dropped and runs of blanks become one '-'.
std::string label_value(const std::string& raw) {
  std::string kept;
  for (char c : raw)
    if (alnum(c) || c == '-' || c == '_' || c == '.' || c == ' ') kept += c;
  std::string joined;
  for (const std::string& field : split(kept, ' '))
    if (!field.empty()) joined += (joined.empty() ? "" : "-") + field;
  if (joined.size() > 63) joined.resize(63);
  size_t b = 0, e = joined.size();
  while (b < e && !alnum(joined[b])) ++b;
  while (e > b && !alnum(joined[e - 1])) --e;
  return joined.substr(b, e - b);
}

// "<prefix><name>" with the name part cut to the 63 characters Kubernetes
// allows and ending in an alphanumeric.
std::string label_key(const std::string& prefix, std::string name) {
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && !alnum(name.back())) name.pop_back();
  return prefix + name;
}

// GPU Feature Discovery's gpu.family (internal/lm/resource.go getArchFamily).
std::string cuda_family(long long major, long long minor) {
  switch (major) {
    case 1: return "tesla";
    case 2: return "fermi";
    case 3: return "kepler";
    case 5: return "maxwell";
    case 6: return "pascal";
    case 7: return minor < 5 ? "volta" : "turing";
    case 8: return minor < 9 ? "ampere" : "ada-lovelace";
    case 9: return "hopper";
    case 10: case 12: return "blackwell";
    case 13: return "rubin";
    default: return "undefined";
  }
}

// The amdgpu kernel family acronym the AMD node labeller reports
// (amdgpu_drm.h AMDGPU_FAMILY_*), for the targets we can name with confidence.
std::string amd_family(const std::string& gfx) {
  static const std::map<std::string, std::string> families = {
      {"gfx900", "AI"},  {"gfx906", "AI"},  {"gfx908", "AI"},  {"gfx90a", "AI"},  {"gfx940", "AI"},
      {"gfx941", "AI"},  {"gfx942", "AI"},  {"gfx950", "AI"},  {"gfx1010", "NV"}, {"gfx1011", "NV"},
      {"gfx1012", "NV"}, {"gfx1030", "NV"}, {"gfx1031", "NV"}, {"gfx1032", "NV"}, {"gfx1034", "NV"},
  };
  auto it = families.find(gfx);
  return it == families.end() ? std::string() : it->second;
}

using Labels = std::map<std::string, std::string>;

// One label when every GPU agrees; nothing on a heterogeneous node, where a
// single value would describe some GPUs wrongly (GFD#13).
void label_if_common(Labels& labels, const std::string& key, const std::vector<std::optional<std::string>>& values) {
  if (values.empty() || !values.front()) return;
  for (const auto& v : values)
    if (!v || *v != *values.front()) return;
  labels[key] = label_value(*values.front());
}

// The AMD node labeller's scheme: "<prefix>=<value>" when all GPUs share the
// value, else "<prefix>.<value>=<count>" for each value.
void label_counted(Labels& labels, const std::string& prefix, const std::vector<std::string>& values) {
  std::map<std::string, int> counts;
  for (const auto& v : values)
    if (!v.empty()) counts[label_value(v)]++;
  if (counts.size() == 1) labels[prefix] = counts.begin()->first;
  else
    for (const auto& [value, n] : counts) labels[prefix + "." + value] = std::to_string(n);
}

std::optional<std::string> mib_text(const OptBytes& bytes) {
  return bytes ? std::optional<std::string>(std::to_string(*bytes / mib)) : std::nullopt;
}

std::optional<std::string> int_text(const OptInt& v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

void nvidia_driver_labels(Labels& labels, const NodeDriver* nvidia) {
  std::string driver = driver_raw(nvidia);
  auto parts = split(driver, '.');
  if (!driver.empty() && parts.size() >= 2 && parts.size() <= 3) {
    labels["nvidia.com/cuda.driver-version.major"] = label_value(parts[0]);
    labels["nvidia.com/cuda.driver-version.minor"] = label_value(parts[1]);
    labels["nvidia.com/cuda.driver-version.revision"] = parts.size() == 3 ? label_value(parts[2]) : "";
    labels["nvidia.com/cuda.driver-version.full"] = label_value(driver);
  }
  // GFD's "runtime" version is the driver's CUDA version.
  if (auto cuda = cuda_value_of(nvidia)) {
    std::string major = std::to_string(*cuda / 1000), minor = std::to_string((*cuda % 1000) / 10);
    labels["nvidia.com/cuda.runtime-version.major"] = major;
    labels["nvidia.com/cuda.runtime-version.minor"] = minor;
    labels["nvidia.com/cuda.runtime-version.full"] = major + "." + minor;
  }
}

void nvidia_gpu_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus) {
  std::vector<std::optional<std::string>> product, memory, family, cc_major, cc_minor;
  std::map<std::string, int> products;
  bool any_mig_capable = false, all_known = true;
  for (const NodeGpu* gpu : gpus) {
    std::string name = label_value(str(gpu->name));
    product.push_back(name.empty() ? std::nullopt : std::optional<std::string>(name));
    if (!name.empty()) products[name]++;
    memory.push_back(mib_text(gpu->memory_bytes));
    auto major = gpu->cc_major, minor = gpu->cc_minor;
    family.push_back(major && minor ? std::optional<std::string>(cuda_family(*major, *minor)) : std::nullopt);
    cc_major.push_back(int_text(major));
    cc_minor.push_back(int_text(minor));
    std::string mode = str(gpu->mig_mode);
    if (mode == "enabled" || mode == "disabled") any_mig_capable = true;
    else if (mode != "unsupported") all_known = false;
  }
  label_if_common(labels, "nvidia.com/gpu.product", product);
  label_if_common(labels, "nvidia.com/gpu.memory", memory);
  label_if_common(labels, "nvidia.com/gpu.family", family);
  label_if_common(labels, "nvidia.com/gpu.compute.major", cc_major);
  label_if_common(labels, "nvidia.com/gpu.compute.minor", cc_minor);
  if (any_mig_capable) labels["nvidia.com/mig.capable"] = "true";
  else if (all_known) labels["nvidia.com/mig.capable"] = "false";
  if (products.size() > 1) {
    labels["gpukit.io/nvidia.heterogeneous"] = "true";
    for (const auto& [name, n] : products) labels[label_key("gpukit.io/", "nvidia.product." + name)] = std::to_string(n);
  }
}

// MIG, GFD's mixed strategy: one resource per profile.
void nvidia_mig_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus) {
  struct Profile {
    int count = 0;
    std::vector<std::optional<std::string>> memory, sms, product;
  };
  std::map<std::string, Profile> profiles;
  for (const NodeGpu* gpu : gpus) {
    if (!gpu->mig_enabled()) continue;
    for (const auto& inst : gpu->mig_instances) {
      std::string profile = label_value(str(inst.profile));
      if (profile.empty()) continue;
      Profile& p = profiles[profile];
      ++p.count;
      p.memory.push_back(mib_text(inst.memory_bytes));
      p.sms.push_back(int_text(inst.multiprocessors));
      p.product.push_back(label_value(str(gpu->name)) + "-MIG-" + profile);
    }
  }
  if (!profiles.empty()) labels["nvidia.com/mig.strategy"] = "mixed";
  for (const auto& [profile, p] : profiles) {
    std::string prefix = "nvidia.com/mig-" + profile;
    labels[prefix + ".count"] = std::to_string(p.count);
    label_if_common(labels, prefix + ".memory", p.memory);
    label_if_common(labels, prefix + ".multiprocessors", p.sms);
    label_if_common(labels, prefix + ".product", p.product);
  }
}

void nvidia_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus, const NodeModel& node) {
  if (gpus.empty()) return;
  labels["nvidia.com/gpu.count"] = std::to_string(gpus.size());
  nvidia_driver_labels(labels, node.driver("nvidia"));
  nvidia_gpu_labels(labels, gpus);
  nvidia_mig_labels(labels, gpus);
}

// The AMD node labeller's xnack / sramecc: "on", "off" or unknown.
std::string target_feature(const std::string& target, const char* feature_name) {
  if (target.find(std::string(":") + feature_name + "+") != std::string::npos) return "on";
  if (target.find(std::string(":") + feature_name + "-") != std::string::npos) return "off";
  return {};
}

void amd_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus, const NodeModel& node) {
  if (gpus.empty()) return;
  std::vector<std::string> family, device_id, product, vram, cus, gfx, xnack, sramecc;
  for (const NodeGpu* gpu : gpus) {
    std::string g = str(gpu->gfx);
    family.push_back(amd_family(g));
    gfx.push_back(g);
    std::string id = lower(str(gpu->pci_device_id));
    device_id.push_back(id.rfind("0x", 0) == 0 ? id.substr(2) : id);
    // The labeller's product-name: blanks to '_', parentheses dropped.
    std::string name;
    for (char c : str(gpu->name))
      if (c != '(' && c != ')') name += c == ' ' ? '_' : c;
    product.push_back(name);
    if (gpu->memory_bytes)
      vram.push_back(std::to_string(std::llround(static_cast<double>(*gpu->memory_bytes) / static_cast<double>(gib))) + "G");
    if (gpu->multiprocessors) cus.push_back(std::to_string(*gpu->multiprocessors));
    std::string target = str(gpu->target_id);
    xnack.push_back(target_feature(target, "xnack"));
    sramecc.push_back(target_feature(target, "sramecc"));
  }
  label_counted(labels, "amd.com/gpu.family", family);
  label_counted(labels, "amd.com/gpu.device-id", device_id);
  label_counted(labels, "amd.com/gpu.product-name", product);
  label_counted(labels, "amd.com/gpu.vram", vram);
  label_counted(labels, "amd.com/gpu.cu-count", cus);
  if (auto raw = driver_raw(node.driver("amd")); !raw.empty()) labels["amd.com/gpu.driver-version"] = label_value(raw);
  labels["gpukit.io/amdgpu.count"] = std::to_string(gpus.size());
  label_counted(labels, "gpukit.io/amdgpu.gfx", gfx);
  label_counted(labels, "gpukit.io/amdgpu.xnack", xnack);
  label_counted(labels, "gpukit.io/amdgpu.sramecc", sramecc);
}


}  // namespace

std::string render_nfd(const NodeModel& node) {
  std::vector<const NodeGpu*> nvidia, amd;
  for (const NodeGpu& gpu : node.gpu_list()) {
    if (gpu.vendor == "nvidia") nvidia.push_back(&gpu);
    if (gpu.vendor == "amd") amd.push_back(&gpu);
  }
  Labels labels;
  nvidia_labels(labels, nvidia, node);
  amd_labels(labels, amd, node);
  add_health_nfd_labels(labels, node);
  // A GPU whose driver is missing or broken is worth a label: jobs would fail there.
  if (node.drivers)
    for (const auto& d : *node.drivers) {
      std::string status = str(d.status);
      if (!status.empty() && status != "no_gpu") labels["gpukit.io/" + d.vendor + ".driver-status"] = label_value(status);
    }
  std::string out = header_comment(node, "node-feature-discovery labels");
  for (const auto& [key, value] : labels) out += key + "=" + value + "\n";
  return out;
}

}  // namespace gpukit
