// The same requirement in the words of a batch system: HTCondor submit
// commands, or a Kubernetes pod fragment with node affinity on the labels of
// NVIDIA GPU Feature Discovery (GFD) and node-feature-discovery.
#pragma once

#include <string>

#include "match/requirements.hpp"

namespace gpukit {

std::string emit_condor(const Requirements& job);
std::string emit_k8s(const Requirements& job);
// A PanDA task's architecture (gpu_spec) for the requirement (emit_panda.cpp).
std::string emit_panda(const Requirements& job);

}  // namespace gpukit
