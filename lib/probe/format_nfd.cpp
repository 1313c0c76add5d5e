// gpuprobe --format nfd: Kubernetes node-feature-discovery labels (features.d).
#include <cmath>
#include <ctime>
#include <set>

#include "core/units.hpp"
#include "probe/format_health.hpp"
#include "probe/format_support.hpp"
#include "probe/formats.hpp"

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

// The MIG strategy the node's state implies, as the device plugin would be
// configured for it: none without MIG, single when every GPU is split into one
// profile only, mixed otherwise.
std::string derived_mig_strategy(const std::vector<const NodeGpu*>& gpus) {
  std::set<std::string> profiles;
  bool any = false, all = true;
  for (const NodeGpu* gpu : gpus) {
    if (!gpu->mig_enabled()) {
      all = false;
      continue;
    }
    any = true;
    for (const auto& inst : gpu->mig_instances) profiles.insert(str(inst.profile));
  }
  if (!any) return "none";
  return all && profiles.size() == 1 ? "single" : "mixed";
}

struct MigProfile {
  int count = 0;
  std::vector<std::optional<std::string>> memory, sms, product;
};

std::map<std::string, MigProfile> mig_profiles(const std::vector<const NodeGpu*>& gpus) {
  std::map<std::string, MigProfile> profiles;
  for (const NodeGpu* gpu : gpus) {
    if (!gpu->mig_enabled()) continue;
    for (const auto& inst : gpu->mig_instances) {
      std::string profile = label_value(str(inst.profile));
      if (profile.empty()) continue;
      MigProfile& p = profiles[profile];
      ++p.count;
      p.memory.push_back(mib_text(inst.memory_bytes));
      p.sms.push_back(int_text(inst.multiprocessors));
      p.product.push_back(label_value(str(gpu->name)) + "-MIG-" + profile);
    }
  }
  return profiles;
}

// GFD's MIG labels: mixed, one resource per profile; single, the GPU labels
// describe the one profile (nvidia.com/gpu is a MIG device); none, nothing.
Status nvidia_mig_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus, const std::string& strategy) {
  labels["nvidia.com/mig.strategy"] = strategy;
  auto profiles = mig_profiles(gpus);
  if (strategy == "single") {
    if (derived_mig_strategy(gpus) != "single")
      return usage_error("the single MIG strategy needs every GPU split into instances of one profile; this node's "
                         "MIG state is " + derived_mig_strategy(gpus),
                         "--nfd-mig-strategy");
    const MigProfile& p = profiles.begin()->second;
    labels["nvidia.com/gpu.count"] = std::to_string(p.count);
    labels.erase("nvidia.com/gpu.product");
    labels.erase("nvidia.com/gpu.memory");
    label_if_common(labels, "nvidia.com/gpu.product", p.product);
    label_if_common(labels, "nvidia.com/gpu.memory", p.memory);
    label_if_common(labels, "nvidia.com/gpu.multiprocessors", p.sms);
    return {};
  }
  if (strategy == "none") return {};
  for (const auto& [profile, p] : profiles) {
    std::string prefix = "nvidia.com/mig-" + profile;
    labels[prefix + ".count"] = std::to_string(p.count);
    label_if_common(labels, prefix + ".memory", p.memory);
    label_if_common(labels, prefix + ".multiprocessors", p.sms);
    label_if_common(labels, prefix + ".product", p.product);
  }
  return {};
}

// A GPU is offered only where its driver works: a node whose driver is absent
// or failed says so (gpukit.io/<vendor>.driver-status) and how many GPUs wait
// for it (gpukit.io/<vendor>.gpu.unusable), never a gpu.count or a product a
// pod would be scheduled onto and fail.
bool usable(const NodeGpu& gpu, const NodeDriver* driver) {
  if (gpu.driver_loaded && !*gpu.driver_loaded) return false;
  return !driver || str(driver->status) == "ok";
}

Status nvidia_labels(Labels& labels, const std::vector<const NodeGpu*>& gpus, const NodeModel& node,
                     const NfdOptions& options) {
  if (gpus.empty()) return {};
  labels["nvidia.com/gpu.count"] = std::to_string(gpus.size());
  nvidia_driver_labels(labels, node.driver("nvidia"));
  nvidia_gpu_labels(labels, gpus);
  return nvidia_mig_labels(labels, gpus, options.mig_strategy.value_or(derived_mig_strategy(gpus)));
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


// gpukit.io/<vendor>.<name> for a vendor's <vendor>.com/<name>: NFD reads
// features.d in file-name order and the last value of a label wins, so a
// vendor name written here would silently replace GFD's or the labeller's.
Labels in_gpukit_namespace(const Labels& labels) {
  Labels out;
  for (const auto& [key, value] : labels) {
    std::string renamed = key;
    for (const char* vendor : {"nvidia", "amd"}) {
      std::string prefix = std::string(vendor) + ".com/";
      if (key.rfind(prefix, 0) == 0) renamed = label_key("gpukit.io/", std::string(vendor) + "." + key.substr(prefix.size()));
    }
    out[renamed] = value;
  }
  return out;
}

// NFD's features.d directive: the labels below it go when the time passes
// unless the file is rewritten (a node whose gpukit run stopped loses them).
Result<std::string> expiry_line(const NfdOptions& options) {
  auto seconds = parse_duration(*options.expiry);
  if (!seconds) return Error{seconds.error().code, seconds.error().message, "--nfd-expiry"};
  if (!(*seconds > 0) || *seconds > 10.0 * 365 * 86400)
    return usage_error("must be a duration above 0 and at most 10 years, not " + *options.expiry, "--nfd-expiry");
  std::time_t at = (options.now ? options.now : std::time(nullptr)) + static_cast<std::time_t>(std::ceil(*seconds));
  std::tm tm{};
  gmtime_r(&at, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return "# +expiry-time=" + std::string(buf) + "\n";
}

}  // namespace

Result<std::string> render_nfd(const NodeModel& node, const NfdOptions& options) {
  if (options.names != "gpukit" && options.names != "vendor")
    return usage_error("must be gpukit or vendor, not " + options.names, "--nfd-names");
  if (options.mig_strategy && *options.mig_strategy != "none" && *options.mig_strategy != "single" &&
      *options.mig_strategy != "mixed")
    return usage_error("must be none, single or mixed, not " + *options.mig_strategy, "--nfd-mig-strategy");
  std::vector<const NodeGpu*> nvidia, amd;
  std::map<std::string, int> unusable;
  for (const NodeGpu& gpu : node.gpu_list()) {
    std::string vendor = str(gpu.vendor);
    if (vendor != "nvidia" && vendor != "amd") continue;
    if (!usable(gpu, node.driver(vendor))) {
      unusable[vendor]++;
      continue;
    }
    (vendor == "nvidia" ? nvidia : amd).push_back(&gpu);
  }
  Labels labels;
  if (auto st = nvidia_labels(labels, nvidia, node, options); !st) return st.error();
  amd_labels(labels, amd, node);
  if (options.names == "gpukit") labels = in_gpukit_namespace(labels);
  for (const auto& [vendor, n] : unusable) labels["gpukit.io/" + vendor + ".gpu.unusable"] = std::to_string(n);
  add_health_nfd_labels(labels, node);
  // A GPU whose driver is missing or broken is worth a label: jobs would fail there.
  if (node.drivers)
    for (const auto& d : *node.drivers) {
      std::string status = str(d.status);
      if (!status.empty() && status != "no_gpu") labels["gpukit.io/" + d.vendor + ".driver-status"] = label_value(status);
    }
  std::string out = header_comment(node, "node-feature-discovery labels");
  if (options.expiry) {
    auto line = expiry_line(options);
    if (!line) return line.error();
    out += *line;
  }
  for (const auto& [key, value] : labels) out += key + "=" + value + "\n";
  return out;
}

}  // namespace gpukit
