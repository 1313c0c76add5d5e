#include "probe/cpu.hpp"

#include <hwloc.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "core/fsroot.hpp"
#include "probe/cgroup.hpp"

namespace gpukit {

namespace {

// Sets an environment variable for the lifetime of the object and puts the old
// value back. Only used to hand a fixture root to hwloc, which takes it from
// HWLOC_FSROOT alone (hwloc 2.x dropped hwloc_topology_set_fsroot()).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

struct TopologyDeleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using Topology = std::unique_ptr<hwloc_topology, TopologyDeleter>;

// The whole machine, disallowed PUs included: the allowed subset is reported
// separately from the affinity mask. Under GPUKIT_SYSFS_ROOT hwloc's Linux backend
// reads that root instead; hwloc then marks the topology as not this system, and
// the x86 CPUID backend, which would describe the real processor, is kept out.
Topology load_topology() {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return nullptr;
  Topology topology(raw);
  hwloc_topology_set_flags(raw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  const std::string root = fs_root();
  std::optional<ScopedEnv> fsroot;
  if (!root.empty()) {
    fsroot.emplace("HWLOC_FSROOT", root);
#if HWLOC_API_VERSION >= 0x00020100
    hwloc_topology_set_components(raw, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "x86");
#endif
  }
  if (hwloc_topology_load(raw) != 0) return nullptr;
  return topology;
}

std::vector<int> bitmap_indexes(hwloc_const_bitmap_t set) {
  std::vector<int> out;
  if (!set || hwloc_bitmap_weight(set) < 0) return out;  // infinite sets have no list
  for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i)) out.push_back(i);
  return out;
}

json info_or_null(hwloc_obj_t obj, const char* name) {
  if (!obj) return nullptr;
  const char* v = hwloc_obj_get_info_by_name(obj, name);
  if (!v || !*v) return nullptr;
  return trim(v);
}

json cache_sizes(hwloc_topology_t t) {
  auto first_size = [&](hwloc_obj_type_t type) -> json {
    int n = hwloc_get_nbobjs_by_type(t, type);
    for (int i = 0; i < n; ++i) {
      hwloc_obj_t c = hwloc_get_obj_by_type(t, type, static_cast<unsigned>(i));
      if (c->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION) continue;
      return static_cast<long long>(c->attr->cache.size);
    }
    return nullptr;
  };
  json caches;
  caches["l1d_bytes"] = first_size(HWLOC_OBJ_L1CACHE);
  caches["l2_bytes"] = first_size(HWLOC_OBJ_L2CACHE);
  caches["l3_bytes"] = first_size(HWLOC_OBJ_L3CACHE);
  long long l3_total = 0;
  int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_L3CACHE);
  for (int i = 0; i < n; ++i)
    l3_total += static_cast<long long>(hwloc_get_obj_by_type(t, HWLOC_OBJ_L3CACHE, static_cast<unsigned>(i))->attr->cache.size);
  caches["l3_total_bytes"] = n > 0 ? json(l3_total) : json(nullptr);
  return caches;
}

json numa_nodes(hwloc_topology_t t) {
  json nodes = json::array();
  int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < n; ++i) {
    hwloc_obj_t node = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    json j;
    j["index"] = node->os_index;
    j["cpus"] = detail::format_cpu_list(bitmap_indexes(node->cpuset));
    auto mem = node->attr->numanode.local_memory;
    j["memory_bytes"] = mem > 0 ? json(static_cast<long long>(mem)) : json(nullptr);
    nodes.push_back(std::move(j));
  }
  return nodes;
}

// "key : value" pairs of the first processor in /proc/cpuinfo.
std::map<std::string, std::string> first_cpuinfo_entry() {
  std::map<std::string, std::string> entry;
  auto text = read_text_file(fs_path("/proc/cpuinfo"));
  if (!text) return entry;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (trim(line).empty()) {
      if (!entry.empty()) break;
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    entry.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  }
  return entry;
}

// The extensions that decide which code paths and binaries a node can run, in
// this order; /proc/cpuinfo lists many more (x86 "flags", aarch64 "Features").
json isa_extensions(const std::map<std::string, std::string>& cpuinfo) {
  static const char* const wanted[] = {
      "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512cd", "avx512dq", "avx512bw", "avx512vl",
      "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
      "asimd", "asimdhp", "asimddp", "sve", "sve2", "sme", "bf16", "i8mm",
  };
  std::string flags;
  for (const char* key : {"flags", "Features"})
    if (auto it = cpuinfo.find(key); it != cpuinfo.end()) flags = " " + it->second + " ";
  json out = json::array();
  for (const char* f : wanted)
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) out.push_back(f);
  return out;
}

json max_clock_mhz() {
  long long best_khz = 0;
  const std::string dir = fs_path("/sys/devices/system/cpu");
  for (const auto& name : list_directory(dir)) {
    if (name.rfind("cpu", 0) != 0 || name.size() < 4 || !std::isdigit(static_cast<unsigned char>(name[3]))) continue;
    if (auto khz = read_integer_file(dir + "/" + name + "/cpufreq/cpuinfo_max_freq")) best_khz = std::max(best_khz, *khz);
  }
  if (best_khz <= 0) return nullptr;
  return static_cast<double>(best_khz) / 1000.0;
}

// The CPUs this process may run on.
std::vector<int> affinity_cpus(hwloc_topology_t t) {
  if (!fs_root().empty()) {
    // A fixture describes another machine, while sched_getaffinity() describes
    // this one: under GPUKIT_SYSFS_ROOT every PU of the fixture counts as allowed.
    return t ? bitmap_indexes(hwloc_topology_get_complete_cpuset(t)) : std::vector<int>{};
  }
  for (int n = 1024; n <= (1 << 20); n *= 2) {
    cpu_set_t* set = CPU_ALLOC(n);
    if (!set) break;
    size_t size = CPU_ALLOC_SIZE(n);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) == 0) {
      std::vector<int> cpus;
      for (int i = 0; i < n; ++i)
        if (CPU_ISSET_S(i, size, set)) cpus.push_back(i);
      CPU_FREE(set);
      return cpus;
    }
    CPU_FREE(set);
    if (errno != EINVAL) break;  // EINVAL: the kernel's mask is larger than ours
  }
  return {};
}

json allowed_section(hwloc_topology_t t) {
  auto cpus = affinity_cpus(t);
  auto quota = detail::cgroup_cpu_quota();
  json a;
  a["cpus"] = detail::format_cpu_list(cpus);
  a["count"] = cpus.size();
  a["cgroup_quota_cpus"] = quota ? json(*quota) : json(nullptr);
  double usable = static_cast<double>(cpus.size());
  if (quota && *quota < usable) usable = *quota;
  a["usable_cpus"] = usable;
  return a;
}

}  // namespace

json probe_cpu_section() {
  utsname u{};
  uname(&u);
  json cpu;
  cpu["generator"] = generator_stamp("gpuprobe");
  const auto cpuinfo = first_cpuinfo_entry();
  Topology topology = load_topology();
  hwloc_topology_t t = topology.get();
  if (t) {
    hwloc_obj_t package = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0);
    int sockets = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
    int threads = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    int cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    json arch = info_or_null(hwloc_get_root_obj(t), "Architecture");
    cpu["source"] = "hwloc";
    cpu["vendor"] = info_or_null(package, "CPUVendor");
    // hwloc takes the vendor from CPUID, which it cannot use on a fixture tree.
    if (cpu["vendor"].is_null())
      if (auto it = cpuinfo.find("vendor_id"); it != cpuinfo.end() && !it->second.empty()) cpu["vendor"] = it->second;
    cpu["model"] = info_or_null(package, "CPUModel");
    cpu["architecture"] = arch.is_string() ? arch.get<std::string>() : std::string(u.machine);
    cpu["sockets"] = std::max(sockets, 1);
    cpu["cores"] = cores > 0 ? cores : std::max(threads, 1);
    cpu["threads"] = std::max(threads, 1);
    cpu["max_clock_mhz"] = max_clock_mhz();
    cpu["caches"] = cache_sizes(t);
    cpu["numa_nodes"] = numa_nodes(t);
  } else {
    // hwloc failed (a broken /sys): count online CPUs and say so.
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int n = online > 0 ? static_cast<int>(online) : 1;
    cpu["source"] = "sysconf";
    cpu["vendor"] = nullptr;
    cpu["model"] = nullptr;
    cpu["architecture"] = std::string(u.machine);
    cpu["sockets"] = 1;
    cpu["cores"] = n;
    cpu["threads"] = n;
    cpu["max_clock_mhz"] = max_clock_mhz();
    cpu["caches"] = json::object();
    cpu["numa_nodes"] = json::array();
  }
  cpu["isa"] = isa_extensions(cpuinfo);
  cpu["allowed"] = allowed_section(t);
  return cpu;
}

}  // namespace gpukit
