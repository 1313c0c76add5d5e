#include "probe/memory.hpp"

#include <sys/resource.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "core/fsroot.hpp"
#include "probe/cgroup.hpp"

namespace gpukit {

namespace {

// /proc/meminfo "Key:   123 kB" lines, in bytes ("kB" is KiB there); counts such
// as HugePages_Total have no unit and stay counts.
std::map<std::string, long long> read_meminfo() {
  std::map<std::string, long long> values;
  auto text = read_text_file(fs_path("/proc/meminfo"));
  if (!text) return values;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream rest(line.substr(colon + 1));
    long long v = 0;
    std::string unit;
    if (!(rest >> v)) continue;
    rest >> unit;
    values[line.substr(0, colon)] = unit == "kB" ? v * 1024 : v;
  }
  return values;
}

json value_or_null(const std::map<std::string, long long>& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? json(nullptr) : json(it->second);
}

struct MemlockLimits {
  std::optional<long long> soft, hard;  // nullopt: unlimited
};

// "Max locked memory  8388608  8388608  bytes" in /proc/<pid>/limits.
std::optional<MemlockLimits> read_limits_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  const std::string key = "Max locked memory";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream rest(line.substr(key.size()));
    std::string soft, hard;
    rest >> soft >> hard;
    auto parse = [](const std::string& s) -> std::optional<long long> {
      if (s == "unlimited" || s.empty()) return std::nullopt;
      return std::strtoll(s.c_str(), nullptr, 10);
    };
    return MemlockLimits{parse(soft), parse(hard)};
  }
  return std::nullopt;
}

// RLIMIT_MEMLOCK of this process. A fixture cannot stand in for getrlimit(), so
// under GPUKIT_SYSFS_ROOT the fixture's /proc/self/limits is read instead.
std::optional<MemlockLimits> memlock_limits() {
  if (!fs_root().empty()) return read_limits_file(fs_path("/proc/self/limits"));
  rlimit r{};
  if (getrlimit(RLIMIT_MEMLOCK, &r) != 0) return std::nullopt;
  auto conv = [](rlim_t v) -> std::optional<long long> {
    if (v == RLIM_INFINITY) return std::nullopt;
    return static_cast<long long>(v);
  };
  return MemlockLimits{conv(r.rlim_cur), conv(r.rlim_max)};
}

}  // namespace

json probe_memory_section(const json& cpu) {
  auto meminfo = read_meminfo();
  json mem;
  mem["generator"] = generator_stamp("gpuprobe");
  mem["source"] = "procfs";
  auto total = meminfo.find("MemTotal");
  mem["total_bytes"] = total == meminfo.end() ? 0LL : total->second;
  mem["available_bytes"] = value_or_null(meminfo, "MemAvailable");
  mem["swap_total_bytes"] = value_or_null(meminfo, "SwapTotal");
  mem["hugepages"] = {{"page_bytes", value_or_null(meminfo, "Hugepagesize")},
                      {"total", value_or_null(meminfo, "HugePages_Total")},
                      {"free", value_or_null(meminfo, "HugePages_Free")}};
  auto limit = detail::cgroup_memory_limit();
  mem["cgroup_limit_bytes"] = limit ? json(*limit) : json(nullptr);
  auto memlock = memlock_limits();
  mem["memlock_limit_bytes"] = memlock && memlock->soft ? json(*memlock->soft) : json(nullptr);
  mem["memlock_max_bytes"] = memlock && memlock->hard ? json(*memlock->hard) : json(nullptr);

  // What one of this process's CPUs may count on: the usable memory shared by the
  // usable CPUs (the cgroup quota counts, as a batch slot's share does).
  json per_core = nullptr;
  long long usable = total == meminfo.end() ? 0 : total->second;
  if (limit && *limit < usable) usable = *limit;
  const json* cpus = nullptr;
  if (cpu.is_object() && cpu.contains("allowed") && cpu["allowed"].is_object()) {
    const json& allowed = cpu["allowed"];
    if (allowed.contains("usable_cpus") && allowed["usable_cpus"].is_number()) cpus = &allowed["usable_cpus"];
    else if (allowed.contains("count") && allowed["count"].is_number()) cpus = &allowed["count"];
  }
  if (cpus && cpus->get<double>() > 0 && usable > 0) per_core = static_cast<double>(usable) / cpus->get<double>();
  mem["per_core_bytes"] = per_core;
  return mem;
}

}  // namespace gpukit
