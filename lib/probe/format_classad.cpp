// gpuprobe --format classad: what `condor_gpu_discovery -properties -extra -uuid`
// prints (nested form), attribute by attribute, read from htcondor/htcondor
// src/gpu/condor_gpu_discovery.cpp (setPropertiesFromBasicProps, main) and
// cuda_device_enumeration.cpp / hip_device_enumeration.cpp. Deliberate
// differences (AMD Capability, xNACK) are listed in gpuprobe(1).
#include "core/classad.hpp"
#include "probe/format_health.hpp"
#include "probe/format_support.hpp"

namespace gpukit {

using namespace probe_format;

namespace {

// CoresPerCU as condor_gpu_discovery's ConvertSMVer2Cores (from CUDA's
// helper_cuda.h): its table, and for a capability it does not list the last
// row's value (128).
int cores_per_sm(long long major, long long minor) {
  switch (static_cast<int>(major * 16 + minor)) {
    case 0x10: case 0x11: case 0x12: case 0x13: return 8;
    case 0x20: return 32;
    case 0x21: return 48;
    case 0x30: case 0x32: case 0x35: case 0x37: return 192;
    case 0x60: case 0x70: case 0x72: case 0x75: case 0x80: return 64;
    default: return 128;
  }
}

using Props = std::map<std::string, std::string>;  // sorted, as condor_gpu_discovery prints them

// Whole GPUs come from CUDA (cuDeviceGetUuid), whose UUID has no "GPU-"
// prefix; MIG instances come from NVML, which names them "MIG-<uuid>" and
// condor keeps that. HIP devices are set from the same bare buffer.
std::string bare_uuid(const std::string& uuid) { return uuid.rfind("GPU-", 0) == 0 ? uuid.substr(4) : uuid; }

void add_nvidia_driver_props(Props& props, const NodeModel& node) {
  const NodeDriver* nvidia = node.driver("nvidia");
  if (auto v = cuda_value_of(nvidia)) {
    // condor_gpu_discovery prints v/1000 "." v%100: 12040 -> 12.40.
    props["DriverVersion"] = std::to_string(*v / 1000) + "." + std::to_string(*v % 100);
    props["MaxSupportedVersion"] = std::to_string(*v);
  }
  if (auto raw = driver_raw(nvidia); !raw.empty()) props["NvidiaDriver"] = classad_string(raw);
}

void add_common_gpu_props(Props& props, const NodeGpu& gpu) {
  if (auto bus = str(gpu.pci_bus_id); !bus.empty()) props["DevicePciBusId"] = classad_string(upper(bus));
  if (gpu.ecc_enabled) props["ECCEnabled"] = *gpu.ecc_enabled ? "true" : "false";
  if (gpu.max_sm_mhz) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(*gpu.max_sm_mhz));
    props["ClockMhz"] = buf;
  }
}

void add_memory_and_units(Props& props, const OptBytes& memory_bytes, const OptInt& multiprocessors) {
  if (memory_bytes)
    props["GlobalMemoryMb"] = std::to_string(std::llround(static_cast<double>(*memory_bytes) / static_cast<double>(mib)));
  if (multiprocessors) props["ComputeUnits"] = std::to_string(*multiprocessors);
}

Props nvidia_props(const NodeGpu& gpu, const NodeMigInstance* instance, const NodeModel& node) {
  Props props;
  add_common_gpu_props(props, gpu);
  add_nvidia_driver_props(props, node);
  if (gpu.cc_major && gpu.cc_minor) {
    props["Capability"] = std::to_string(*gpu.cc_major) + "." + std::to_string(*gpu.cc_minor);
    props["CoresPerCU"] = std::to_string(cores_per_sm(*gpu.cc_major, *gpu.cc_minor));
  }
  if (instance) {
    // A MIG device's name as NVML gives it: "<parent> MIG <profile>".
    std::string profile = str(instance->profile);
    props["DeviceName"] = classad_string(str(gpu.name) + (profile.empty() ? "" : " MIG " + profile));
    props["DeviceUuid"] = classad_string(str(instance->uuid));
    add_memory_and_units(props, instance->memory_bytes, instance->multiprocessors);
  } else {
    props["DeviceName"] = classad_string(str(gpu.name));
    if (auto uuid = bare_uuid(str(gpu.uuid)); !uuid.empty()) props["DeviceUuid"] = classad_string(uuid);
    add_memory_and_units(props, gpu.memory_bytes, gpu.multiprocessors);
  }
  return props;
}

// AMD devices: the gfx target goes into its own attributes, never into
// Capability, where HTCondor's HIP path puts major.minor and lets
// "Capability >= 8.0" match an MI300 (research note, lesson 7).
Props amd_props(const NodeGpu& gpu, const NodeModel& node) {
  Props props;
  add_common_gpu_props(props, gpu);
  props["DeviceName"] = classad_string(str(gpu.name));
  if (auto uuid = bare_uuid(str(gpu.uuid)); !uuid.empty()) props["DeviceUuid"] = classad_string(uuid);
  add_memory_and_units(props, gpu.memory_bytes, gpu.multiprocessors);
  std::string gfx = str(gpu.gfx);
  if (!gfx.empty()) {
    props["GfxTarget"] = classad_string(gfx);
    // Wavefront size as hipDeviceProp_t.warpSize reports it: 64 on GCN/CDNA, 32 on RDNA.
    props["WarpSize"] = gfx.rfind("gfx9", 0) == 0 && gfx.size() <= 6 ? "64" : "32";
  }
  if (auto target = str(gpu.target_id); !target.empty()) {
    props["TargetId"] = classad_string(target);
    if (target.find(":xnack+") != std::string::npos) props["xNACK"] = "1";
    else if (target.find(":xnack-") != std::string::npos) props["xNACK"] = "0";
  }
  // HTCondor's HIP path: Rocm is the major version of the HIP library it
  // loaded, AmdDriverVersion hipDriverGetVersion() as "major.minor.patch".
  // The amdgpu kernel module's version is neither, so without a HIP version
  // both are left out.
  if (const NodeDriver* amd = node.driver("amd"); amd && amd->hip_version && amd->hip_version->parts.size() >= 2) {
    const auto& p = amd->hip_version->parts;
    props["Rocm"] = std::to_string(p[0]);
    props["AmdDriverVersion"] =
        classad_string(std::to_string(p[0]) + "." + std::to_string(p[1]) + "." + std::to_string(p.size() > 2 ? p[2] : 0));
  }
  return props;
}

// condor_gpu_discovery names each device's nested ad after its id with '-'
// and '/' turned into '_' (the startd finds the ad the same way).
std::string attribute_of(std::string id) {
  std::replace(id.begin(), id.end(), '-', '_');
  std::replace(id.begin(), id.end(), '/', '_');
  return id;
}

}  // namespace

std::string render_classad(const NodeModel& node, const NodeVisible& visible) {
  // condor_gpu_discovery lists the CUDA devices first, in CUDA order, then the
  // NVML-only ones (MIG instances) in the order of a std::map keyed by UUID.
  std::vector<std::string> cuda_ids, mig_ids;
  std::map<std::string, Props> devices;  // keyed by id: the nested ads come out sorted
  for (const auto& d : visible.devices) {
    const NodeGpu* gpu = gpu_at(node, d);
    if (!gpu) continue;
    std::string vendor = str(d.vendor);
    std::string uuid = str(d.uuid);
    const NodeMigInstance* instance = d.kind == "mig" ? instance_of(*gpu, uuid) : nullptr;
    // Without a UUID, condor_gpu_discovery falls back to the runtime index.
    std::string id = !uuid.empty() ? uuid : (vendor == "nvidia" ? "CUDA" : "GPU") + dash_or(d.runtime_index);
    if (devices.count(id)) continue;
    (instance ? mig_ids : cuda_ids).push_back(id);
    auto props = vendor == "nvidia" ? nvidia_props(*gpu, instance, node) : amd_props(*gpu, node);
    add_health_classad_props(props, *gpu, node);
    devices.emplace(id, std::move(props));
  }
  if (devices.empty()) return "DetectedGPUs=0\n";
  std::sort(mig_ids.begin(), mig_ids.end());

  std::string ids;
  for (const auto* list : {&cuda_ids, &mig_ids})
    for (const auto& id : *list) ids += (ids.empty() ? "" : ", ") + id;
  std::string out = "DetectedGPUs=" + classad_string(ids) + "\n" + health_classad_node(node);

  // Properties with one value on every device go into Common.
  Props common;
  for (const auto& [key, value] : devices.begin()->second) {
    bool shared = std::all_of(devices.begin(), devices.end(), [&](const auto& dev) {
      auto it = dev.second.find(key);
      return it != dev.second.end() && it->second == value;
    });
    if (shared) common[key] = value;
  }
  if (!common.empty()) {
    out += "Common=[ ";
    for (const auto& [key, value] : common) out += key + "=" + value + "; ";
    out += "]\n";
  }
  for (const auto& [id, props] : devices) {
    out += attribute_of(id) + "=[ id=" + classad_string(id) + "; ";
    for (const auto& [key, value] : props)
      if (!common.count(key)) out += key + "=" + value + "; ";
    out += "]\n";
  }
  return out;
}

}  // namespace gpukit
