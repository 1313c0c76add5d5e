// What this process may use: CUDA_VISIBLE_DEVICES (indices, GPU- UUIDs and unique
// prefixes, MIG- UUIDs, legacy MIG-GPU-<uuid>/<gi>/<ci>), NVIDIA_VISIBLE_DEVICES,
// HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, GPU_DEVICE_ORDINAL.
#pragma once

#include <map>
#include <string>

#include "core/document.hpp"

namespace gpukit {

// The variables above that are set in this process's environment.
std::map<std::string, std::string> visible_environment();

// The visible section for the node's `gpus` section under `environment`.
json visible_section(const json& gpus, const std::map<std::string, std::string>& environment);

}  // namespace gpukit
