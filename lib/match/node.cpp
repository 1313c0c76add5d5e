#include "match/node.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "core/node.hpp"
#include "core/units.hpp"
#include "match/cpuset.hpp"

namespace gpukit {

std::optional<std::uint64_t> NodeFacts::usable_memory_bytes() const {
  if (!has_memory) return std::nullopt;
  if (cgroup_limit_bytes) return std::min(*cgroup_limit_bytes, memory_total_bytes);
  return memory_total_bytes;
}

int NodeFacts::cpu_budget() const {
  int n = static_cast<int>(allowed_cpus.size());
  if (usable_cpus) n = std::min(n, static_cast<int>(std::floor(*usable_cpus + 1e-9)));
  return std::max(n, 0);
}

const NodeDevice* NodeFacts::device(const std::string& id) const {
  for (const auto& d : devices)
    if (d.id == id) return &d;
  return nullptr;
}

std::optional<int> NodeFacts::numa_of_cpu(int cpu) const {
  for (const auto& n : numa_nodes)
    if (std::binary_search(n.cpus.begin(), n.cpus.end(), cpu)) return n.index;
  return std::nullopt;
}

namespace {

std::optional<int> profile_slices(const std::string& profile) {
  // "3g.40gb", "1c.3g.40gb": the number before "g." (at most two digits: a GPU has up to 8 slices).
  auto g = profile.find("g.");
  if (g == std::string::npos || g == 0) return std::nullopt;
  std::size_t start = g;
  while (start > 0 && g - start < 3 && std::isdigit(static_cast<unsigned char>(profile[start - 1]))) --start;
  if (start == g || (start > 0 && std::isdigit(static_cast<unsigned char>(profile[start - 1])))) return std::nullopt;
  return parse_integer<int>(std::string_view(profile).substr(start, g - start));
}

std::optional<double> peak(const json& catalogue, const char* precision) {
  if (!catalogue.is_object()) return std::nullopt;
  auto p = catalogue.find("peak_tflops");
  if (p == catalogue.end() || !p->is_object()) return std::nullopt;
  auto v = p->find(precision);
  if (v == p->end() || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

std::optional<int> small(const OptInt& v) {
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

Result<std::vector<int>> cpus_of(const OptText& list, const std::string& where) {
  if (!list) return std::vector<int>();
  auto cpus = parse_cpu_list(*list);
  if (!cpus) return usage_error(cpus.error().message, where);
  return *cpus;
}

void read_nvidia_driver(NodeFacts& n, const NodeDriver& d, const CompatTables& tables) {
  n.nvidia_status = d.status.value_or("");
  n.nvidia_reason = d.reason.value_or("");
  if (d.driver_version && d.driver_version->raw) n.nvidia_driver = Version::parse(*d.driver_version->raw);
  if (d.cuda_version) {
    const auto& cv = *d.cuda_version;
    if (cv.value && *cv.value > 0) n.nvidia_cuda = Version::of(static_cast<int>(*cv.value / 1000), static_cast<int>(*cv.value % 1000 / 10));
    else if (cv.raw) n.nvidia_cuda = Version::parse(*cv.raw);
    if (n.nvidia_cuda) n.nvidia_cuda_source = "document";
  }
  if (!n.nvidia_cuda && n.nvidia_driver) {
    n.nvidia_cuda = tables.cuda_for_driver(*n.nvidia_driver);
    if (n.nvidia_cuda) n.nvidia_cuda_source = "driver table";
  }
}

void read_drivers(NodeFacts& n, const NodeModel& model, const CompatTables& tables) {
  if (const NodeDriver* nvidia = model.driver("nvidia")) read_nvidia_driver(n, *nvidia, tables);
  if (const NodeDriver* amd = model.driver("amd")) {
    n.amd_status = amd->status.value_or("");
    n.amd_reason = amd->reason.value_or("");
    if (amd->driver_version && amd->driver_version->raw) n.amd_driver = Version::parse(*amd->driver_version->raw);
  }
}

// Benchmark figures by device id.
struct Measured {
  std::optional<double> fp64, fp32, score;
};
using MeasuredById = std::map<std::string, Measured>;

MeasuredById read_measured(NodeFacts& n, const std::optional<BenchView>& bench) {
  MeasuredById measured;
  if (!bench) return measured;
  n.has_bench = true;
  n.node_score = bench->gpu_node;
  for (const auto& d : bench->devices) {
    if (!d.id) continue;
    Measured m;
    m.score = d.score;
    for (const auto& r : d.results) {
      if (r.status != "ok" || !r.value || r.unit != "TFLOP/s") continue;
      if (r.workload == "fma_fp64") m.fp64 = r.value;
      if (r.workload == "fma_fp32") m.fp32 = r.value;
    }
    measured.emplace(*d.id, m);  // the first entry of an id counts
  }
  return measured;
}

void apply_measured(NodeDevice& d, const MeasuredById& measured) {
  d.bench_fp64_tflops = d.bench_fp32_tflops = d.score = std::nullopt;
  auto it = measured.find(d.id);
  if (it == measured.end()) return;
  d.bench_fp64_tflops = it->second.fp64;
  d.bench_fp32_tflops = it->second.fp32;
  d.score = it->second.score;
}

// Visible devices: when restricted, only these may be handed out.
struct Visibility {
  bool restricted = false;
  std::set<std::string> ids;
  bool operator()(const std::optional<std::string>& uuid) const { return !restricted || (uuid && ids.count(*uuid)); }
};

Visibility read_visibility(const NodeModel& model) {
  Visibility v;
  if (!model.visible) return v;
  v.restricted = model.visible->restricted;
  for (const auto& d : model.visible->devices)
    if (d.uuid) v.ids.insert(*d.uuid);
  return v;
}

Result<NodeDevice> gpu_device(const NodeGpu& g, std::size_t i, const std::string& origin) {
  const std::string path = "/gpus/" + std::to_string(i);
  NodeDevice d;
  d.kind = "gpu";
  d.gpu_index = static_cast<int>(i);
  d.vendor = g.vendor.value_or("");
  d.name = g.name.value_or("");
  d.uuid = g.uuid;
  d.vendor_index = static_cast<int>(g.index.value_or(static_cast<std::int64_t>(i)));
  d.id = g.uuid ? *g.uuid : "gpu" + std::to_string(i);
  d.memory_bytes = g.memory_bytes;
  d.multiprocessors = small(g.multiprocessors);
  if (g.numa_node && *g.numa_node >= 0) d.numa_node = static_cast<int>(*g.numa_node);
  auto local = cpus_of(g.local_cpus, origin + ": " + path + "/local_cpus");
  if (!local) return local.error();
  d.local_cpus = std::move(*local);
  d.compute_mode = g.compute_mode.value_or("");
  d.allocatable = g.allocatable.value_or(true);
  if (g.cc_major && g.cc_minor) {
    d.cc_major = small(g.cc_major);
    d.cc_minor = small(g.cc_minor);
  }
  d.gfx = g.gfx;
  d.target_id = g.target_id;
  d.generic_targets = g.generic_targets;
  d.catalogue_fp64_tflops = peak(g.catalogue, "fp64");
  d.catalogue_fp32_tflops = peak(g.catalogue, "fp32");
  d.mig_mode = g.mig_mode.value_or("");
  if (g.health) {
    d.has_health = true;
    for (const auto* c : g.health->failures()) d.health_failures.push_back(c->reason.value_or(c->name));
  }
  return d;
}

// An instance has its share of the GPU's SMs, so its share of the peaks.
std::optional<double> scaled(const std::optional<double>& peak, const std::optional<std::int64_t>& sms,
                             const std::optional<int>& gpu_sms) {
  if (!peak || !sms || !gpu_sms || *gpu_sms <= 0) return std::nullopt;
  return *peak * (static_cast<double>(*sms) / *gpu_sms);
}

Result<NodeDevice> mig_device(const NodeDevice& gpu, const NodeMigInstance& m, const std::string& path) {
  if (!m.uuid) return usage_error("expected a MIG-… UUID", path + "/uuid");
  NodeDevice inst = gpu;
  inst.kind = "mig";
  inst.id = *m.uuid;
  inst.uuid = m.uuid;
  inst.parent_id = gpu.id;
  inst.mig_profile = m.profile;
  if (m.profile) inst.mig_slices = profile_slices(*m.profile);
  inst.memory_bytes = m.memory_bytes;
  inst.multiprocessors = small(m.multiprocessors);
  inst.allocatable = true;
  inst.catalogue_fp64_tflops = scaled(gpu.catalogue_fp64_tflops, m.multiprocessors, gpu.multiprocessors);
  inst.catalogue_fp32_tflops = scaled(gpu.catalogue_fp32_tflops, m.multiprocessors, gpu.multiprocessors);
  return inst;
}

Status read_devices(NodeFacts& n, const NodeModel& model, const MeasuredById& measured, const std::string& origin) {
  const Visibility is_visible = read_visibility(model);
  const auto& gpus = model.gpu_list();
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    auto gpu = gpu_device(gpus[i], i, origin);
    if (!gpu) return gpu.error();
    NodeDevice& d = *gpu;
    if (model.health) {  // a node check that failed (nouveau loaded) fails every GPU
      d.has_health = true;
      for (const auto* c : model.health->failures()) d.health_failures.push_back(c->reason.value_or(c->name));
    }
    apply_measured(d, measured);
    d.visible = is_visible(d.uuid);
    std::vector<NodeDevice> instances;
    for (std::size_t k = 0; k < gpus[i].mig_instances.size(); ++k) {
      auto inst = mig_device(d, gpus[i].mig_instances[k],
                             origin + ": /gpus/" + std::to_string(i) + "/mig/instances/" + std::to_string(k));
      if (!inst) return inst.error();
      apply_measured(*inst, measured);
      // A visible-devices list may name the instance or its parent.
      inst->visible = is_visible(inst->uuid) || is_visible(d.uuid);
      d.visible = d.visible || inst->visible;  // a MIG parent is visible when any instance is
      instances.push_back(std::move(*inst));
    }
    d.has_mig_instances = !instances.empty();
    n.devices.push_back(std::move(d));
    for (auto& inst : instances) n.devices.push_back(std::move(inst));
  }
  return {};
}

Status read_cpus(NodeFacts& n, const NodeCpu& cpu, const std::string& origin) {
  n.has_cpu = true;
  n.cores = static_cast<int>(cpu.cores.value_or(0));
  n.threads = static_cast<int>(cpu.threads.value_or(0));
  if (!cpu.allowed) return usage_error("expected an object (gpuprobe's allowed CPUs)", origin + ": /cpu/allowed");
  auto allowed = cpus_of(cpu.allowed->cpus, origin + ": /cpu/allowed/cpus");
  if (!allowed) return allowed.error();
  n.allowed_cpus = std::move(*allowed);
  n.usable_cpus = cpu.allowed->usable_cpus ? cpu.allowed->usable_cpus : cpu.allowed->cgroup_quota_cpus;
  for (std::size_t i = 0; i < cpu.numa_nodes.size(); ++i) {
    const NodeNumaNode& nn = cpu.numa_nodes[i];
    auto list = cpus_of(nn.cpus, origin + ": /cpu/numa_nodes/" + std::to_string(i) + "/cpus");
    if (!list) return list.error();
    n.numa_nodes.push_back({static_cast<int>(nn.index.value_or(static_cast<std::int64_t>(i))), *list, nn.memory_bytes});
  }
  return {};
}

Status read_memory(NodeFacts& n, const NodeMemory& memory, const std::string& origin) {
  n.has_memory = true;
  if (!memory.total_bytes) return usage_error("expected an integer", origin + ": /memory/total_bytes");
  n.memory_total_bytes = *memory.total_bytes;
  n.cgroup_limit_bytes = memory.cgroup_limit_bytes;
  n.memlock_limit_bytes = memory.memlock_limit_bytes;
  return {};
}

}  // namespace

Result<NodeFacts> read_node(const Document& document, const CompatTables& tables, const std::string& origin) {
  auto model = read_node_model(document, origin);
  if (!model) return model.error();
  auto bench = read_bench_view(document, origin);
  if (!bench) return bench.error();
  NodeFacts n;
  if (model->host) n.hostname = model->host->hostname.value_or("");
  read_drivers(n, *model, tables);
  const MeasuredById measured = read_measured(n, *bench);
  if (auto st = read_devices(n, *model, measured, origin); !st) return st.error();
  if (model->cpu)
    if (auto st = read_cpus(n, *model->cpu, origin); !st) return st.error();
  if (model->memory)
    if (auto st = read_memory(n, *model->memory, origin); !st) return st.error();
  return n;
}

}  // namespace gpukit
