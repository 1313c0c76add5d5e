// Which devices a job holds: the visible devices (CUDA_VISIBLE_DEVICES,
// ROCR_VISIBLE_DEVICES, … as resolved by visible_section() against the gpus
// section), with the model and MIG slice taken from the inventory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "account/gpu_usage.hpp"
#include "core/document.hpp"
#include "core/node.hpp"

namespace gpukit {

struct HeldDevices {
  // True when a variable narrowed the node's devices: then exactly `devices`
  // are the job's. False: the job may use any device, and a device becomes the
  // job's when one of its processes is seen on it.
  bool restricted = false;
  std::vector<HeldDevice> devices;
  std::vector<std::string> problems;
};

// `gpus` is gpuprobe's inventory, `visible` the visible devices.
HeldDevices resolve_held_devices(const std::vector<NodeGpu>& gpus, const NodeVisible& visible);

// The description of `uuid` (a GPU or a MIG instance) from the inventory,
// for a device found through the job's processes; model "unknown" when the
// inventory does not list it.
HeldDevice describe_device(const std::vector<NodeGpu>& gpus, const std::string& uuid);

// The same from the sections as JSON (`gpus` an array, possibly empty;
// `visible` {"restricted": bool, "devices": [...], "problems": [...]}), read
// through the node model; a section that does not read adds a problem.
HeldDevices resolve_held_devices(const json& gpus, const json& visible);
HeldDevice describe_device(const json& gpus, const std::string& uuid);

}  // namespace gpukit
