#include "compute/cpu/cpu_backend.hpp"

#include <hwloc.h>
#include <sys/mman.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "compute/cpu/cpu_kernels.hpp"
#include "compute/cpu/worker_pool.hpp"
#include "compute/kernels/names.hpp"
#include "core/fsroot.hpp"

namespace gpukit {

namespace {

using cpu::KernelFn;
using cpu::Partial;
using cpu::WorkerPool;

// Copies bigger than this are split across the workers.
constexpr std::size_t parallel_copy_bytes = 1 << 20;

struct Topology {
  hwloc_topology_t handle = nullptr;
  ~Topology() {
    if (handle) hwloc_topology_destroy(handle);
  }
};

// The clock limit in MHz and where it came from: cpufreq's maximum, else the
// highest "cpu MHz" in /proc/cpuinfo (virtual machines often lack cpufreq).
std::pair<int, std::string> clock_limit_mhz() {
  if (auto khz = read_integer_file("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"); khz && *khz > 0)
    return {static_cast<int>(*khz / 1000), "cpufreq cpuinfo_max_freq"};
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  double best = 0;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon != std::string::npos) best = std::max(best, std::atof(line.c_str() + colon + 1));
  }
  if (best > 0) return {static_cast<int>(best + 0.5), "/proc/cpuinfo cpu MHz (no cpufreq: the current clock)"};
  return {0, "no cpufreq and no cpu MHz in /proc/cpuinfo"};
}

// FP64 FLOPs per cycle per core for the vector width the kernels use: lanes x
// 2 (FMA) x FMA pipes. Pipes: AMD Zen 2-4 run two 256-bit FMA pipes (a 512-bit
// FMA takes both: Zen 4 software optimisation guide), Zen 5 two 512-bit pipes;
// Intel cores with AVX2 or AVX-512 have two FMA ports (Xeon Scalable Gold and
// Platinum; a few Silver/Bronze have one and then read above 100 %).
int fp64_flops_per_cycle(int vector_bits) {
  int lanes = vector_bits / 64;
  int pipes = 2;
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  char vendor[13] = {};
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
    std::memcpy(vendor, &ebx, 4);
    std::memcpy(vendor + 4, &edx, 4);
    std::memcpy(vendor + 8, &ecx, 4);
  }
  unsigned family = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
    family = (eax >> 8) & 0xf;
    if (family == 0xf) family += (eax >> 20) & 0xff;
  }
  if (std::strcmp(vendor, "AuthenticAMD") == 0 && vector_bits == 512 && family < 0x1a) pipes = 1;
#endif
  return std::max(1, lanes) * 2 * pipes;
}

std::uint64_t mem_available_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t value = 0;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return value * 1024;
  }
  return 0;
}

class CpuDevice final : public Device {
 public:
  CpuDevice(std::shared_ptr<Topology> topology, const cpu::KernelSet& kernels)
      : topology_(std::move(topology)), kernels_(kernels) {
    hwloc_topology_t t = topology_->handle;
    int cores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    hwloc_obj_type_t unit = HWLOC_OBJ_CORE;
    if (cores <= 0) {
      unit = HWLOC_OBJ_PU;
      cores = std::max(1, hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU));
    }
    for (int i = 0; i < cores; ++i) units_.push_back(hwloc_get_obj_by_type(t, unit, static_cast<unsigned>(i)));

    info_.backend = "cpu";
    info_.uuid = "cpu";
    info_.arch = kernels_.isa;
    info_.compute_units = cores;
    info_.vector_bits = kernels_.vector_bits;
    info_.fp64_flops_per_cycle = fp64_flops_per_cycle(kernels_.vector_bits);
    auto [mhz, source] = clock_limit_mhz();
    info_.max_clock_mhz = mhz;
    info_.notes.push_back("clock limit from " + source);
    hwloc_obj_t root = hwloc_get_root_obj(t);
    info_.memory_bytes = root->total_memory;
    const char* model = hwloc_obj_get_info_by_name(root, "CPUModel");
    if (!model) {
      if (hwloc_obj_t package = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0))
        model = hwloc_obj_get_info_by_name(package, "CPUModel");
    }
    info_.name = model ? model : "CPU";
    for (hwloc_obj_type_t level : {HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L2CACHE}) {
      std::uint64_t total = 0;
      int n = hwloc_get_nbobjs_by_type(t, level);
      for (int i = 0; i < n; ++i) total += hwloc_get_obj_by_type(t, level, static_cast<unsigned>(i))->attr->cache.size;
      if (total > 0) {
        info_.llc_bytes = total;
        break;
      }
    }
    int numa_nodes = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    info_.numa_node = numa_nodes == 1 ? static_cast<int>(hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, 0)->os_index) : -1;
    // Four FMA-chain blocks per core keep every worker busy with even shares.
    info_.parallel_items = static_cast<std::uint64_t>(cores) * 256;
    info_.runtime_version = kernels_.isa;

    pool_ = std::make_unique<WorkerPool>(cores, [this](int i) {
      return hwloc_set_cpubind(topology_->handle, units_[static_cast<size_t>(i)]->cpuset, HWLOC_CPUBIND_THREAD) == 0;
    });
    if (!pool_->all_bound()) info_.notes.push_back("workers could not be bound to their cores");
  }

  const DeviceInfo& info() const override { return info_; }

  std::string unavailable_kernel(const std::string& name) const override {
    if (find(name)) return {};
    if (name == kernel::fma_fp16 || name == kernel::fma_bf16)
      return "the CPU backend has no " + name.substr(4) + " kernel (few CPUs have " + name.substr(4) +
             " FMA instructions)";
    return "the CPU backend has no kernel '" + name + "'";
  }

  Result<void*> allocate(std::size_t bytes) override {
    if (bytes == 0) bytes = 1;
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return environment_error(std::string("mmap of ") + std::to_string(bytes) + " bytes failed: " + std::strerror(errno),
                               "cpu");
#ifdef MADV_HUGEPAGE
    // Fewer TLB misses in the bandwidth loops (advice only). Measured on a KVM
    // guest: triad 26 GB/s with it, 20 GB/s without (likwid-bench stream_avx: 21).
    ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
    // First touch by the worker that will use each share: its pages land on its NUMA node.
    const std::uint64_t words = bytes / 8;
    auto* base = static_cast<unsigned char*>(p);
    pool_->run([&](int w) {
      auto [b, e] = WorkerPool::share(words, pool_->size(), w, cpu::share_alignment);
      if (e > b) std::memset(base + b * 8, 0, (e - b) * 8);
    });
    if (bytes % 8) std::memset(base + words * 8, 0, bytes % 8);
    std::lock_guard lock(mutex_);
    sizes_[p] = bytes;
    return p;
  }

  void release(void* p) override {
    if (!p) return;
    std::size_t bytes = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = sizes_.find(p);
      if (it == sizes_.end()) return;
      bytes = it->second;
      sizes_.erase(it);
    }
    ::munmap(p, bytes);
  }

  Result<std::uint64_t> free_memory() override {
    std::uint64_t available = mem_available_bytes();
    if (available == 0) return environment_error("MemAvailable not found in /proc/meminfo", "cpu");
    return available;
  }

  Status pin_host(void*, std::size_t) override { return {}; }
  void unpin_host(void*) override {}
  int streams() const override { return 1; }

  Status copy(void* dst, const void* src, std::size_t bytes, CopyKind, int) override {
    if (bytes < parallel_copy_bytes) {
      std::memcpy(dst, src, bytes);
      return {};
    }
    auto* d = static_cast<unsigned char*>(dst);
    const auto* s = static_cast<const unsigned char*>(src);
    pool_->run([&](int w) {
      auto [b, e] = WorkerPool::share(bytes, pool_->size(), w, 4096);
      if (e > b) std::memcpy(d + b, s + b, e - b);
    });
    return {};
  }

  Status launch(const std::string& name, const KernelArgs& args, int) override {
    KernelFn fn = find(name);
    if (!fn) return environment_error(unavailable_kernel(name), "launch " + name + " (cpu)");
    const int workers = pool_->size();
    std::vector<Partial> partials(static_cast<size_t>(workers));
    pool_->run([&](int w) {
      auto [b, e] = WorkerPool::share(args.n, workers, w, cpu::share_alignment);
      if (e > b) partials[static_cast<size_t>(w)] = fn(args, b, e);
    });
    if (name == kernel::stream_dot) {
      double sum = 0;
      for (const auto& p : partials) sum += p.sum;
      *static_cast<double*>(args.out) = sum;
    } else if (name == kernel::memtest_verify) {
      auto* counters = static_cast<std::uint64_t*>(args.scratch);
      for (const auto& p : partials) {
        counters[0] += p.count;
        counters[1] = std::min(counters[1], p.first);
      }
    }
    return {};
  }

  Status synchronize() override { return {}; }

  Result<double> time_region(const std::function<Status()>& enqueue, bool) override {
    auto start = std::chrono::steady_clock::now();
    if (auto st = enqueue(); !st) return st.error();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  KernelFn find(const std::string& name) const {
    for (int i = 0; i < kernels_.count; ++i)
      if (name == kernels_.entries[i].name) return kernels_.entries[i].fn;
    return nullptr;
  }

  std::shared_ptr<Topology> topology_;
  const cpu::KernelSet& kernels_;
  std::vector<hwloc_obj_t> units_;
  DeviceInfo info_;
  std::unique_ptr<WorkerPool> pool_;
  std::mutex mutex_;
  std::map<void*, std::size_t> sizes_;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(std::shared_ptr<Device> device) : device_(std::move(device)) {}
  std::string name() const override { return "cpu"; }
  std::vector<std::shared_ptr<Device>> devices() override { return {device_}; }

 private:
  std::shared_ptr<Device> device_;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_cpu_backend() {
  auto kernels = cpu::select_kernel_set();
  if (!kernels) return kernels.error();
  auto topology = std::make_shared<Topology>();
  if (hwloc_topology_init(&topology->handle) != 0 || hwloc_topology_load(topology->handle) != 0)
    return environment_error(std::string("hwloc could not load the topology: ") + std::strerror(errno), "cpu");
  auto device = std::make_shared<CpuDevice>(std::move(topology), **kernels);
  return std::unique_ptr<Backend>(new CpuBackend(std::move(device)));
}

}  // namespace gpukit
