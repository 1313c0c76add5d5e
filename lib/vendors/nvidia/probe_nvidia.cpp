// The NVIDIA inventory: NVML for the facts, the CUDA driver API for CUDA's device
// order and what NVML lacks, /proc/driver/nvidia when NVML is absent.
#include <cstdio>
#include <cstring>
#include <optional>

#include "vendors/pci/pci.hpp"
#include "vendors/nvidia/cuda_library.hpp"
#include "vendors/nvidia/nvidia.hpp"
#include "vendors/nvidia/nvml_library.hpp"
#include "vendors/nvidia/procfs.hpp"

namespace gpukit {

namespace detail {
namespace {

using namespace nvml;

// One device as the CUDA driver API enumerates it (CUDA_DEVICE_ORDER's default,
// fastest first).
struct CudaDevice {
  int ordinal = 0;
  std::string bus_id;
  std::optional<int> multiprocessors, memory_bus_width_bits;
};

struct CudaView {
  std::string unavailable;  // why there is no CUDA view (a note), empty when there is one
  std::optional<int> driver_version;
  std::vector<CudaDevice> devices;
};

std::optional<int> cuda_attribute(const CudaLibrary& cuda, CallTracker& tracker, cuda::CUdevice device,
                                  cuda::CUdevice_attribute attribute, const std::string& label) {
  int value = 0;
  if (!cuda.check(tracker, cuda.api().cuDeviceGetAttribute, label, &value, attribute, device).ok()) return std::nullopt;
  return value;
}

CudaView enumerate_cuda(const CudaLibrary& cuda, CallTracker& tracker) {
  CudaView view;
  const auto& api = cuda.api();
  if (auto s = cuda.check(tracker, api.cuInit, "", 0u); !s.ok()) {
    view.unavailable = s.note();
    return view;
  }
  if (int version = 0; cuda.check(tracker, api.cuDriverGetVersion, "", &version).ok()) view.driver_version = version;
  int count = 0;
  if (auto s = cuda.check(tracker, api.cuDeviceGetCount, "", &count); !s.ok()) {
    view.unavailable = s.note();
    return view;
  }
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    std::string label = "CUDA device " + std::to_string(ordinal);
    cuda::CUdevice device = 0;
    if (!cuda.check(tracker, api.cuDeviceGet, label, &device, ordinal).ok()) continue;
    char bus_id[32] = {};
    if (!cuda.check(tracker, api.cuDeviceGetPCIBusId, label, bus_id, static_cast<int>(sizeof bus_id), device).ok())
      continue;
    CudaDevice d;
    d.ordinal = ordinal;
    d.bus_id = normalize_bus_id(bus_id);
    d.multiprocessors = cuda_attribute(cuda, tracker, device, cuda::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, label);
    d.memory_bus_width_bits =
        cuda_attribute(cuda, tracker, device, cuda::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, label);
    view.devices.push_back(std::move(d));
  }
  return view;
}

// "NVIDIA A100-SXM4-40GB MIG 1g.5gb" -> "1g.5gb"; empty when the name has no profile.
std::string mig_profile_from_name(const std::string& name) {
  auto at = name.find(" MIG ");
  if (at == std::string::npos) return {};
  std::string rest = name.substr(at + 5);
  return rest.substr(0, rest.find(' '));
}

// NVIDIA names profiles by slices and memory rounded up to whole GB of 1024 MiB:
// 4864 MiB on 1 slice is "1g.5gb"; a compute instance smaller than its GPU
// instance is prefixed ("1c.3g.20gb").
std::string mig_profile_from_attributes(const nvmlDeviceAttributes_t& a) {
  if (a.gpuInstanceSliceCount == 0 || a.memorySizeMB == 0) return {};
  std::string profile =
      std::to_string(a.gpuInstanceSliceCount) + "g." + std::to_string((a.memorySizeMB + 1023) / 1024) + "gb";
  if (a.computeInstanceSliceCount != 0 && a.computeInstanceSliceCount != a.gpuInstanceSliceCount)
    profile = std::to_string(a.computeInstanceSliceCount) + "c." + profile;
  return profile;
}

std::string compute_mode_name(nvmlComputeMode_t mode) {
  switch (mode) {
    case NVML_COMPUTEMODE_DEFAULT: return "default";
    case NVML_COMPUTEMODE_EXCLUSIVE_THREAD:
    case NVML_COMPUTEMODE_EXCLUSIVE_PROCESS: return "exclusive_process";
    case NVML_COMPUTEMODE_PROHIBITED: return "prohibited";
  }
  return "unknown";
}

// One enumeration, run on the deadline's worker thread. It owns (shares) the
// libraries so that an abandoned run keeps them alive.
class NvmlProbe {
 public:
  NvmlProbe(std::shared_ptr<NvmlLibrary> nvml, std::shared_ptr<CudaLibrary> cuda, std::string cuda_open_error,
            CallTracker& tracker)
      : nvml_(std::move(nvml)), cuda_(std::move(cuda)), cuda_open_error_(std::move(cuda_open_error)),
        tracker_(tracker) {}

  VendorInventory run();

 private:
  template <class F, class... Args>
  CallStatus call(const VendorFunction<F>& f, const std::string& device, Args... args) {
    return nvml_->check(tracker_, f, device, args...);
  }
  // Runs a call whose failure only costs one fact: the reason goes into the notes.
  template <class F, class... Args>
  bool read(GpuRecord& gpu, const VendorFunction<F>& f, const std::string& device, Args... args) {
    CallStatus s = call(f, device, args...);
    if (!s.ok()) gpu.notes.push_back(s.note());
    return s.ok();
  }
  std::optional<std::string> read_string(GpuRecord& gpu, const VendorFunction<nvmlDeviceGetString_fn>& f,
                                         nvmlDevice_t device, const std::string& label);

  GpuRecord read_gpu(unsigned int index);
  void read_mig(GpuRecord& gpu, nvmlDevice_t device, const std::string& label);
  void apply_cuda(GpuRecord& gpu);

  std::shared_ptr<NvmlLibrary> nvml_;
  std::shared_ptr<CudaLibrary> cuda_;
  std::string cuda_open_error_;
  CallTracker& tracker_;
  CudaView cuda_view_;
};

VendorInventory NvmlProbe::run() {
  const auto& api = nvml_->api();
  VendorInventory inventory;
  inventory.vendor = "nvidia";
  inventory.source = "nvml";
  inventory.missing_symbols = nvml_->missing_symbols();
  if (cuda_)
    inventory.missing_symbols.insert(inventory.missing_symbols.end(), cuda_->missing_symbols().begin(),
                                     cuda_->missing_symbols().end());

  if (CallStatus s = call(api.nvmlInit, ""); !s.ok()) {
    VendorState state = s.code == NVML_ERROR_DRIVER_NOT_LOADED ? VendorState::driver_absent
                        : s.code == NVML_ERROR_NO_PERMISSION   ? VendorState::permission_denied
                                                               : VendorState::init_failed;
    inventory.status = {state, s.error().what()};
    return inventory;
  }

  char text[NVML_SYSTEM_VERSION_BUFFER_SIZE] = {};
  if (call(api.nvmlSystemGetDriverVersion, "", text, static_cast<unsigned int>(sizeof text)).ok())
    inventory.driver_version = make_version(text);
  if (call(api.nvmlSystemGetNVMLVersion, "", text, static_cast<unsigned int>(sizeof text)).ok())
    inventory.library_version = make_version(text);

  if (cuda_) cuda_view_ = enumerate_cuda(*cuda_, tracker_);
  else cuda_view_.unavailable = cuda_open_error_;

  if (int version = 0; call(api.nvmlSystemGetCudaDriverVersion, "", &version).ok()) {
    inventory.cuda_version = make_version(cuda_version_string(version));
  } else if (cuda_view_.driver_version) {
    inventory.cuda_version = make_version(cuda_version_string(*cuda_view_.driver_version));
    inventory.source = "nvml+cuda";
  }

  unsigned int count = 0;
  if (CallStatus s = call(api.nvmlDeviceGetCount, "", &count); !s.ok()) {
    inventory.status = {VendorState::init_failed, s.error().what()};
  } else if (count == 0) {
    inventory.status = {VendorState::no_gpu, "NVML reports no GPU"};
  } else {
    inventory.status = {VendorState::ok, ""};
    for (unsigned int i = 0; i < count; ++i) {
      inventory.gpus.push_back(read_gpu(i));
      if (inventory.gpus.back().source == "nvml+cuda") inventory.source = "nvml+cuda";
    }
  }
  call(api.nvmlShutdown, "");
  return inventory;
}

std::optional<std::string> NvmlProbe::read_string(GpuRecord& gpu, const VendorFunction<nvmlDeviceGetString_fn>& f,
                                                  nvmlDevice_t device, const std::string& label) {
  char text[NVML_DEVICE_NAME_BUFFER_SIZE] = {};
  if (!read(gpu, f, label, device, text, static_cast<unsigned int>(sizeof text))) return std::nullopt;
  return std::string(text);
}

GpuRecord NvmlProbe::read_gpu(unsigned int index) {
  const auto& api = nvml_->api();
  GpuRecord gpu;
  gpu.vendor = "nvidia";
  gpu.index = static_cast<int>(index);
  gpu.source = "nvml";
  const std::string label = "GPU " + std::to_string(index);

  nvmlDevice_t device = nullptr;
  if (!read(gpu, api.nvmlDeviceGetHandleByIndex, label, index, &device)) return gpu;

  if (auto name = read_string(gpu, api.nvmlDeviceGetName, device, label)) gpu.name = *name;
  if (auto uuid = read_string(gpu, api.nvmlDeviceGetUUID, device, label)) gpu.uuid = *uuid;

  nvmlPciInfo_t pci{};
  if (read(gpu, api.nvmlDeviceGetPciInfo, label, device, &pci)) {
    // The unversioned call fills the v1 layout, whose bus id sits where busIdLegacy is.
    const char* bus_id = nvml_->pci_info_v1() || !pci.busId[0] ? pci.busIdLegacy : pci.busId;
    gpu.pci_bus_id = normalize_bus_id(std::string(bus_id, strnlen(bus_id, sizeof pci.busId)));
    char id[16];
    std::snprintf(id, sizeof id, "0x%04x", pci.pciDeviceId >> 16);
    gpu.pci_device_id = id;
  }

  if (nvmlMemory_t memory{}; read(gpu, api.nvmlDeviceGetMemoryInfo, label, device, &memory))
    gpu.memory_bytes = memory.total;
  if (int major = 0, minor = 0; read(gpu, api.nvmlDeviceGetCudaComputeCapability, label, device, &major, &minor)) {
    gpu.cc_major = major;
    gpu.cc_minor = minor;
  }
  if (unsigned int mhz = 0; read(gpu, api.nvmlDeviceGetMaxClockInfo, label, device, NVML_CLOCK_SM, &mhz))
    gpu.max_sm_clock_mhz = static_cast<int>(mhz);
  if (unsigned int mhz = 0; read(gpu, api.nvmlDeviceGetMaxClockInfo, label, device, NVML_CLOCK_MEM, &mhz))
    gpu.max_memory_clock_mhz = static_cast<int>(mhz);
  if (unsigned int bits = 0; read(gpu, api.nvmlDeviceGetMemoryBusWidth, label, device, &bits))
    gpu.memory_bus_width_bits = static_cast<int>(bits);
  if (nvmlEnableState_t current{}, pending{}; read(gpu, api.nvmlDeviceGetEccMode, label, device, &current, &pending))
    gpu.ecc_enabled = current == NVML_FEATURE_ENABLED;

  // The enforced limit is what the board obeys; the management limit is the
  // configured one, equal unless another limiter is stricter.
  unsigned int milliwatts = 0;
  if (CallStatus s = call(api.nvmlDeviceGetEnforcedPowerLimit, label, device, &milliwatts); s.ok()) {
    gpu.power_limit_w = milliwatts / 1000.0;
  } else if (call(api.nvmlDeviceGetPowerManagementLimit, label, device, &milliwatts).ok()) {
    gpu.power_limit_w = milliwatts / 1000.0;
  } else {
    gpu.notes.push_back(s.note());
  }

  if (nvmlComputeMode_t mode{}; read(gpu, api.nvmlDeviceGetComputeMode, label, device, &mode))
    gpu.compute_mode = compute_mode_name(mode);

  auto link = [&](const VendorFunction<nvmlDeviceGetUInt_fn>& f, std::optional<int>& out) {
    if (unsigned int v = 0; read(gpu, f, label, device, &v)) out = static_cast<int>(v);
  };
  link(api.nvmlDeviceGetMaxPcieLinkGeneration, gpu.pcie.max_generation);
  link(api.nvmlDeviceGetMaxPcieLinkWidth, gpu.pcie.max_width);
  link(api.nvmlDeviceGetCurrPcieLinkGeneration, gpu.pcie.current_generation);
  link(api.nvmlDeviceGetCurrPcieLinkWidth, gpu.pcie.current_width);

  read_mig(gpu, device, label);
  apply_cuda(gpu);
  return gpu;
}

void NvmlProbe::read_mig(GpuRecord& gpu, nvmlDevice_t device, const std::string& label) {
  const auto& api = nvml_->api();
  unsigned int current = 0, pending = 0;
  CallStatus mode = call(api.nvmlDeviceGetMigMode, label, device, &current, &pending);
  if (mode.code == NVML_ERROR_NOT_SUPPORTED) {
    gpu.mig_mode = "unsupported";
    return;
  }
  if (!mode.ok()) {
    gpu.notes.push_back(mode.note());
    return;
  }
  gpu.mig_mode = current == NVML_DEVICE_MIG_ENABLE ? "enabled" : "disabled";
  if (current != NVML_DEVICE_MIG_ENABLE) return;

  unsigned int slots = 0;
  if (!read(gpu, api.nvmlDeviceGetMaxMigDeviceCount, label, device, &slots)) return;
  for (unsigned int slot = 0; slot < slots; ++slot) {
    nvmlDevice_t mig = nullptr;
    CallStatus s = call(api.nvmlDeviceGetMigDeviceHandleByIndex, label, device, slot, &mig);
    if (s.code == NVML_ERROR_NOT_FOUND) continue;  // an empty slot
    if (!s.ok()) {
      gpu.notes.push_back(s.note());
      continue;
    }
    const std::string mig_label = label + " MIG " + std::to_string(slot);
    // Notes about an instance say which one: "MIG 2: nvmlDeviceGetName: Not Supported".
    const std::size_t first_note = gpu.notes.size();
    MigInstance instance;
    instance.index = static_cast<int>(slot);
    if (auto uuid = read_string(gpu, api.nvmlDeviceGetUUID, mig, mig_label)) instance.uuid = *uuid;
    std::optional<std::string> name = read_string(gpu, api.nvmlDeviceGetName, mig, mig_label);
    if (unsigned int id = 0; read(gpu, api.nvmlDeviceGetGpuInstanceId, mig_label, mig, &id))
      instance.gpu_instance_id = static_cast<int>(id);
    if (unsigned int id = 0; read(gpu, api.nvmlDeviceGetComputeInstanceId, mig_label, mig, &id))
      instance.compute_instance_id = static_cast<int>(id);
    if (nvmlMemory_t memory{}; read(gpu, api.nvmlDeviceGetMemoryInfo, mig_label, mig, &memory))
      instance.memory_bytes = memory.total;
    nvmlDeviceAttributes_t attributes{};
    if (read(gpu, api.nvmlDeviceGetAttributes, mig_label, mig, &attributes)) {
      instance.multiprocessors = static_cast<int>(attributes.multiprocessorCount);
      if (!instance.memory_bytes && attributes.memorySizeMB)
        instance.memory_bytes = attributes.memorySizeMB * 1024 * 1024;
    }
    if (name) instance.profile = mig_profile_from_name(*name);
    if (instance.profile.empty()) instance.profile = mig_profile_from_attributes(attributes);
    for (std::size_t n = first_note; n < gpu.notes.size(); ++n) gpu.notes[n] = "MIG " + std::to_string(slot) + ": " + gpu.notes[n];
    gpu.mig_instances.push_back(std::move(instance));
  }
}

void NvmlProbe::apply_cuda(GpuRecord& gpu) {
  if (!cuda_view_.unavailable.empty()) {
    gpu.notes.push_back("cuda_index: " + cuda_view_.unavailable);
    if (!gpu.multiprocessors) gpu.notes.push_back("multiprocessors: " + cuda_view_.unavailable);
    return;
  }
  // With MIG enabled CUDA enumerates instances, not the GPU: its SM count and
  // ordinal under this bus id would describe one instance.
  if (gpu.mig_mode == "enabled") {
    gpu.notes.push_back("cuda_index, multiprocessors: MIG is enabled; CUDA enumerates MIG instances, not the GPU");
    return;
  }
  for (const auto& d : cuda_view_.devices) {
    if (d.bus_id != gpu.pci_bus_id) continue;
    gpu.cuda_index = d.ordinal;
    gpu.source = "nvml+cuda";
    if (d.multiprocessors) gpu.multiprocessors = d.multiprocessors;
    if (!gpu.memory_bus_width_bits && d.memory_bus_width_bits) {
      gpu.memory_bus_width_bits = d.memory_bus_width_bits;
      std::erase_if(gpu.notes, [](const std::string& n) { return n.rfind("nvmlDeviceGetMemoryBusWidth", 0) == 0; });
    }
    return;
  }
  gpu.notes.push_back("cuda_index: the CUDA driver API does not list bus id " + gpu.pci_bus_id);
}

}  // namespace
}  // namespace detail

VendorInventory probe_nvidia(double timeout_s) {
  auto nvml = detail::NvmlLibrary::open();
  if (!nvml) return detail::probe_nvidia_procfs(nvml.error().what());
  std::shared_ptr<detail::CudaLibrary> cuda;
  std::string cuda_error;
  if (auto opened = detail::CudaLibrary::open()) cuda = *opened;
  else cuda_error = opened.error().what();

  std::shared_ptr<detail::NvmlLibrary> library = *nvml;
  auto result = detail::run_tracked<VendorInventory>(
      timeout_s, [library, cuda, cuda_error](detail::CallTracker& tracker) -> Result<VendorInventory> {
        return detail::NvmlProbe(library, cuda, cuda_error, tracker).run();
      });
  if (result) return std::move(*result);

  VendorInventory inventory;
  inventory.vendor = "nvidia";
  inventory.source = "nvml";
  inventory.missing_symbols = library->missing_symbols();
  inventory.status = {VendorState::timeout, result.error().what()};
  return inventory;
}

}  // namespace gpukit
