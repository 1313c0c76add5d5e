// The GPM activity profile and usage class in the node_exporter textfile:
// one family per metric, each named after the DCGM profiling field it
// corresponds to, so that a site that scrapes DCGM can put them side by side.
#include <cstdio>

#include "account/formats.hpp"
#include "account/usage_class.hpp"

namespace gpukit {

namespace {

struct ActivityFamily {
  const char* key;     // in gpus[].activity.mean
  const char* name;
  const char* dcgm;
  double scale;
};

const ActivityFamily activity_families[] = {
    {"sm_active_pct", "gpukit_gpu_sm_active_ratio", "DCGM_FI_PROF_SM_ACTIVE", 0.01},
    {"sm_occupancy_pct", "gpukit_gpu_sm_occupancy_ratio", "DCGM_FI_PROF_SM_OCCUPANCY", 0.01},
    {"tensor_active_pct", "gpukit_gpu_tensor_active_ratio", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", 0.01},
    {"tensor_dfma_active_pct", "gpukit_gpu_tensor_dfma_active_ratio", "DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE", 0.01},
    {"fp64_active_pct", "gpukit_gpu_fp64_active_ratio", "DCGM_FI_PROF_PIPE_FP64_ACTIVE", 0.01},
    {"fp32_active_pct", "gpukit_gpu_fp32_active_ratio", "DCGM_FI_PROF_PIPE_FP32_ACTIVE", 0.01},
    {"fp16_active_pct", "gpukit_gpu_fp16_active_ratio", "DCGM_FI_PROF_PIPE_FP16_ACTIVE", 0.01},
    {"dram_active_pct", "gpukit_gpu_dram_active_ratio", "DCGM_FI_PROF_DRAM_ACTIVE", 0.01},
    {"pcie_tx_bytes_per_s", "gpukit_gpu_pcie_tx_bytes_per_second", "DCGM_FI_PROF_PCIE_TX_BYTES", 1},
    {"pcie_rx_bytes_per_s", "gpukit_gpu_pcie_rx_bytes_per_second", "DCGM_FI_PROF_PCIE_RX_BYTES", 1},
};

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

const json* mean_of(const json& gpu, const char* key) {
  if (!gpu.is_object() || !gpu.contains("activity") || !gpu["activity"].is_object()) return nullptr;
  const json& mean = gpu["activity"]["mean"];
  if (!mean.is_object() || !mean.contains(key) || !mean[key].is_number()) return nullptr;
  return &mean[key];
}

}  // namespace

std::string render_prometheus_activity(const json& account, const std::function<std::string(const json&)>& labels) {
  std::string out;
  const json& gpus = account.contains("gpus") && account["gpus"].is_array() ? account["gpus"] : json::array();
  for (const auto& f : activity_families) {
    std::string samples;
    for (const auto& g : gpus)
      if (const json* v = mean_of(g, f.key)) samples += std::string(f.name) + "{" + labels(g) + "} " + number(v->get<double>() * f.scale) + "\n";
    if (samples.empty()) continue;  // no GPM: no sample rather than a 0
    out += std::string("# HELP ") + f.name + " Mean over the job of NVML GPM's counterpart of " + f.dcgm +
           " (the whole device).\n# TYPE " + f.name + " gauge\n" + samples;
  }
  std::string classes;
  for (const auto& g : gpus)
    if (g.is_object() && g.contains("usage_class") && g["usage_class"].is_string())
      classes += "gpukit_gpu_usage_class{" + labels(g) + ",class=\"" + g["usage_class"].get<std::string>() + "\"} 1\n";
  if (!classes.empty())
    out += "# HELP gpukit_gpu_usage_class The device's usage class over the job (1 for the class).\n"
           "# TYPE gpukit_gpu_usage_class gauge\n" + classes;
  return out;
}

}  // namespace gpukit
