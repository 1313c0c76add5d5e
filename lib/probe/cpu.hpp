// The cpu section: hwloc topology (packages, cores, PUs, NUMA nodes, caches), ISA
// extensions, and what this process may use (affinity mask, cgroup CPU quota).
#pragma once

#include "core/document.hpp"

namespace gpukit {

json probe_cpu_section();

}  // namespace gpukit
