// This process's cgroup, read through fs_path() so that fixtures can stand in:
// shared by the host (version, path), cpu (cpu quota) and memory (limit) sections.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace gpukit::detail {

// 2 when /sys/fs/cgroup is the unified hierarchy, 1 for the legacy (or hybrid)
// layout, nullopt when no cgroup file system is mounted.
std::optional<int> cgroup_version();

// This process's cgroup path from /proc/self/cgroup ("/user.slice/job_42"): the
// unified ("0::") entry under v2, else the entry of the memory or cpu controller.
std::optional<std::string> cgroup_path();

// The directories of this process's cgroup for `controller` ("cpu", "memory"),
// from the leaf up to the hierarchy's root: a limit set on an ancestor applies too,
// so callers take the tightest value along the way. Empty when there is no cgroup.
std::vector<std::string> cgroup_directories(const std::string& controller);

// The CPU bandwidth quota in CPUs (cpu.max "200000 100000" -> 2.0; v1
// cpu.cfs_quota_us / cpu.cfs_period_us), the tightest along the hierarchy;
// nullopt when unlimited or unknown.
std::optional<double> cgroup_cpu_quota();

// The memory limit in bytes (v2 memory.max, v1 memory.limit_in_bytes), the
// tightest along the hierarchy; nullopt when unlimited or unknown.
std::optional<long long> cgroup_memory_limit();

// "0-3,8,10-11" from sorted, distinct CPU numbers.
std::string format_cpu_list(const std::vector<int>& cpus);

// The inverse: "0-3,8" -> {0,1,2,3,8}; nullopt when malformed.
std::optional<std::vector<int>> parse_cpu_list(const std::string& text);

}  // namespace gpukit::detail
