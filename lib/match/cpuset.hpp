// Linux CPU lists ("0-3,8,10-11"), as in /sys and cgroup cpuset files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

// Sorted, without duplicates. An empty string is an empty list.
Result<std::vector<int>> parse_cpu_list(std::string_view text);
// The shortest range form of a list (need not be sorted).
std::string format_cpu_list(std::vector<int> cpus);

}  // namespace gpukit
