// The fake NVML's GPU Performance Monitoring: nvmlGpmQueryDeviceSupport,
// nvmlGpmSampleAlloc/Free/Get, nvmlGpmMigSampleGet and nvmlGpmMetricsGet, playing
// the "gpm" objects of the machine description (README.md): per GPU and per MIG
// instance, each metric a curve in NVML's units (percent; PCIe in MiB/s). A
// metric's value between two samples is the curve's exact mean over the interval.
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "../curve.hpp"
#include "machine.hpp"
#include "vendors/nvidia/nvml_gpm_api.hpp"

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

using namespace gpukit::detail::nvml;
using gpukit::fake::Curve;
using gpukit::fake::Device;
using gpukit::fake::Machine;

// The opaque sample of nvml_gpm_api.hpp, completed here.
struct gpukit::detail::nvml::nvmlGpmSample_st {
  const Machine* machine = nullptr;
  std::string uuid;
  double t = 0;
  bool filled = false;
};

namespace {

struct DeviceGpm {
  bool supported = false;
  std::map<unsigned int, Curve> metrics;
};

// Scripted GPM of one machine description, by device UUID.
using MachineGpm = std::map<std::string, DeviceGpm>;

const std::map<std::string, unsigned int>& metric_ids() {
  static const std::map<std::string, unsigned int> ids = {
      {"SM_UTIL", NVML_GPM_METRIC_SM_UTIL},
      {"SM_OCCUPANCY", NVML_GPM_METRIC_SM_OCCUPANCY},
      {"ANY_TENSOR_UTIL", NVML_GPM_METRIC_ANY_TENSOR_UTIL},
      {"DFMA_TENSOR_UTIL", NVML_GPM_METRIC_DFMA_TENSOR_UTIL},
      {"DRAM_BW_UTIL", NVML_GPM_METRIC_DRAM_BW_UTIL},
      {"FP64_UTIL", NVML_GPM_METRIC_FP64_UTIL},
      {"FP32_UTIL", NVML_GPM_METRIC_FP32_UTIL},
      {"FP16_UTIL", NVML_GPM_METRIC_FP16_UTIL},
      {"PCIE_TX_PER_SEC", NVML_GPM_METRIC_PCIE_TX_PER_SEC},
      {"PCIE_RX_PER_SEC", NVML_GPM_METRIC_PCIE_RX_PER_SEC},
  };
  return ids;
}

Curve curve_of(const nlohmann::json& v) {
  if (v.is_number()) return Curve(v.get<double>());
  std::vector<std::pair<double, double>> points;
  if (v.is_array())
    for (const auto& p : v)
      if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number())
        points.emplace_back(p[0].get<double>(), p[1].get<double>());
  return Curve(std::move(points));
}

DeviceGpm device_gpm(const nlohmann::json& spec, bool default_supported) {
  DeviceGpm d;
  auto it = spec.find("gpm");
  if (it == spec.end() || !it->is_object()) return d;
  d.supported = it->value("supported", default_supported);
  if (auto m = it->find("metrics"); m != it->end() && m->is_object())
    for (const auto& [name, value] : m->items())
      if (auto id = metric_ids().find(name); id != metric_ids().end()) d.metrics[id->second] = curve_of(value);
  return d;
}

MachineGpm load(const Machine& machine) {
  MachineGpm out;
  std::ifstream in(machine.path);
  nlohmann::json root = nlohmann::json::parse(in, nullptr, false);
  if (!root.is_object() || !root.contains("gpus") || !root["gpus"].is_array()) return out;
  for (const auto& g : root["gpus"]) {
    if (!g.is_object() || !g.contains("uuid")) continue;
    out[g["uuid"].get<std::string>()] = device_gpm(g, true);
    if (auto migs = g.find("mig_instances"); migs != g.end() && migs->is_array())
      for (const auto& m : *migs)
        if (m.is_object() && m.contains("uuid")) out[m["uuid"].get<std::string>()] = device_gpm(m, true);
  }
  return out;
}

const DeviceGpm* gpm_of(const Machine* machine, const std::string& uuid) {
  static std::mutex mutex;
  static auto* cache = new std::map<const Machine*, MachineGpm>;  // leaked, as the machines are
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(machine);
  if (it == cache->end()) it = cache->emplace(machine, load(*machine)).first;
  auto d = it->second.find(uuid);
  return d == it->second.end() ? nullptr : &d->second;
}

// The statuses every device entry point gives first: scripted errors, a lost GPU.
nvmlReturn_t device_status(const Device* d, const char* name) {
  if (!d || !d->machine || !d->gpu) return NVML_ERROR_INVALID_ARGUMENT;
  if (auto e = gpukit::fake::find_error(d->machine->errors, name)) return static_cast<nvmlReturn_t>(gpukit::fake::nvml_status(*e));
  const auto& lost = d->gpu->telemetry.lost_at_s;
  if (lost && d->machine->elapsed_s() >= *lost) return NVML_ERROR_GPU_IS_LOST;
  if (auto e = gpukit::fake::find_error(d->gpu->errors, name)) return static_cast<nvmlReturn_t>(gpukit::fake::nvml_status(*e));
  return NVML_SUCCESS;
}

const Device* device_of(nvmlDevice_t handle) { return reinterpret_cast<const Device*>(handle); }

}  // namespace

FAKE_EXPORT nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t device, nvmlGpmSupport_t* support) {
  const Device* d = device_of(device);
  if (nvmlReturn_t st = device_status(d, "nvmlGpmQueryDeviceSupport"); st != NVML_SUCCESS) return st;
  if (!support || support->version != NVML_GPM_SUPPORT_VERSION) return NVML_ERROR_INVALID_ARGUMENT;
  const DeviceGpm* g = gpm_of(d->machine, d->gpu->uuid);  // a MIG instance answers for its GPU
  support->isSupportedDevice = g && g->supported ? 1 : 0;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t* sample) {
  if (!sample) return NVML_ERROR_INVALID_ARGUMENT;
  *sample = new nvmlGpmSample_st;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t sample) {
  if (!sample) return NVML_ERROR_INVALID_ARGUMENT;
  delete sample;
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t sample) {
  const Device* d = device_of(device);
  if (nvmlReturn_t st = device_status(d, "nvmlGpmSampleGet"); st != NVML_SUCCESS) return st;
  if (!sample) return NVML_ERROR_INVALID_ARGUMENT;
  if (d->mig) return NVML_ERROR_NOT_SUPPORTED;  // a MIG instance is sampled through its GPU
  const DeviceGpm* g = gpm_of(d->machine, d->gpu->uuid);
  if (!g || !g->supported) return NVML_ERROR_NOT_SUPPORTED;
  *sample = {d->machine, d->gpu->uuid, d->machine->elapsed_s(), true};
  return NVML_SUCCESS;
}

FAKE_EXPORT nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t device, unsigned int gpu_instance_id, nvmlGpmSample_t sample) {
  const Device* d = device_of(device);
  if (nvmlReturn_t st = device_status(d, "nvmlGpmMigSampleGet"); st != NVML_SUCCESS) return st;
  if (!sample || d->mig) return NVML_ERROR_INVALID_ARGUMENT;
  const DeviceGpm* parent = gpm_of(d->machine, d->gpu->uuid);
  if (!parent || !parent->supported) return NVML_ERROR_NOT_SUPPORTED;
  for (const auto& m : d->gpu->mig_instances)
    if (m.gpu_instance_id == gpu_instance_id) {
      *sample = {d->machine, m.uuid, d->machine->elapsed_s(), true};
      return NVML_SUCCESS;
    }
  return NVML_ERROR_NOT_FOUND;
}

FAKE_EXPORT nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t* m) {
  if (!m || m->version != NVML_GPM_METRICS_GET_VERSION || m->numMetrics > NVML_GPM_METRIC_MAX) return NVML_ERROR_INVALID_ARGUMENT;
  const nvmlGpmSample_st* a = m->sample1;
  const nvmlGpmSample_st* b = m->sample2;
  if (!a || !b || !a->filled || !b->filled || a->uuid != b->uuid || a->machine != b->machine || b->t <= a->t)
    return NVML_ERROR_INVALID_ARGUMENT;
  if (auto e = gpukit::fake::find_error(a->machine->errors, "nvmlGpmMetricsGet"))
    return static_cast<nvmlReturn_t>(gpukit::fake::nvml_status(*e));
  const DeviceGpm* g = gpm_of(a->machine, a->uuid);
  for (unsigned int i = 0; i < m->numMetrics; ++i) {
    nvmlGpmMetric_t& metric = m->metrics[i];
    metric.metricInfo = {nullptr, nullptr, nullptr};
    auto curve = g ? g->metrics.find(metric.metricId) : decltype(g->metrics.end()){};
    if (!g || curve == g->metrics.end()) {
      metric.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
      metric.value = 0;
      continue;
    }
    metric.nvmlReturn = NVML_SUCCESS;
    metric.value = curve->second.integral(a->t, b->t) / (b->t - a->t);
  }
  return NVML_SUCCESS;
}
