// The memory section: /proc/meminfo, huge pages, the cgroup memory limit and
// RLIMIT_MEMLOCK (GPU jobs need pinned host memory).
#pragma once

#include "core/document.hpp"

namespace gpukit {

// `cpu` is the cpu section (for the per-core share); may be null.
json probe_memory_section(const json& cpu);

}  // namespace gpukit
