#include "match/node.hpp"

#include <algorithm>
#include <cmath>

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

// Typed reads of optional document fields; a present value of the wrong type
// is an error naming its path.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  Error bad(const std::string& path, const std::string& want) const {
    return usage_error("expected " + want, origin_ + ": " + path);
  }

  Result<std::optional<std::int64_t>> integer(const json& obj, const char* key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<std::int64_t>();
    if (!it->is_number_integer()) return bad(path + "/" + key, "an integer or null");
    return std::optional<std::int64_t>(it->get<std::int64_t>());
  }
  Result<std::optional<std::uint64_t>> bytes(const json& obj, const char* key, const std::string& path) const {
    auto v = integer(obj, key, path);
    if (!v) return v.error();
    if (!*v) return std::optional<std::uint64_t>();
    if (**v < 0) return bad(path + "/" + key, "a byte count >= 0");
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(**v));
  }
  Result<std::optional<double>> number(const json& obj, const char* key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<double>();
    if (!it->is_number()) return bad(path + "/" + key, "a number or null");
    return std::optional<double>(it->get<double>());
  }
  Result<std::optional<std::string>> text(const json& obj, const char* key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<std::string>();
    if (!it->is_string()) return bad(path + "/" + key, "a string or null");
    return std::optional<std::string>(it->get<std::string>());
  }
  Result<std::vector<int>> cpus(const json& obj, const char* key, const std::string& path) const {
    auto t = text(obj, key, path);
    if (!t) return t.error();
    if (!*t) return std::vector<int>();
    auto list = parse_cpu_list(**t);
    if (!list) return usage_error(list.error().message, origin_ + ": " + path + "/" + key);
    return *list;
  }

 private:
  std::string origin_;
};

#define GPUKIT_GET(var, expr)                   \
  auto var##_r = (expr);                        \
  if (!var##_r) return var##_r.error();         \
  auto var = std::move(*var##_r)

std::optional<int> profile_slices(const std::string& profile) {
  // "3g.40gb", "1c.3g.40gb": the number before "g.".
  auto g = profile.find("g.");
  if (g == std::string::npos || g == 0) return std::nullopt;
  std::size_t start = g;
  while (start > 0 && std::isdigit(static_cast<unsigned char>(profile[start - 1]))) --start;
  if (start == g) return std::nullopt;
  return parse_integer<int>(std::string_view(profile).substr(start, g - start));
}

std::optional<double> peak(const json& gpu, const char* precision) {
  auto c = gpu.find("catalogue");
  if (c == gpu.end() || !c->is_object()) return std::nullopt;
  auto p = c->find("peak_tflops");
  if (p == c->end() || !p->is_object()) return std::nullopt;
  auto v = p->find(precision);
  if (v == p->end() || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

}  // namespace

Result<NodeFacts> read_node(const Document& document, const CompatTables& tables, const std::string& origin) {
  NodeFacts n;
  Reader in(origin);
  if (const json* host = document.section("host")) {
    GPUKIT_GET(hostname, in.text(*host, "hostname", "/host"));
    n.hostname = hostname.value_or("");
  }

  if (const json* drivers = document.section("drivers")) {
    if (auto it = drivers->find("nvidia"); it != drivers->end() && it->is_object()) {
      GPUKIT_GET(status, in.text(*it, "status", "/drivers/nvidia"));
      GPUKIT_GET(reason, in.text(*it, "reason", "/drivers/nvidia"));
      n.nvidia_status = status.value_or("");
      n.nvidia_reason = reason.value_or("");
      if (auto dv = it->find("driver_version"); dv != it->end() && dv->is_object()) {
        GPUKIT_GET(raw, in.text(*dv, "raw", "/drivers/nvidia/driver_version"));
        if (raw) n.nvidia_driver = Version::parse(*raw);
      }
      if (auto cv = it->find("cuda_version"); cv != it->end() && cv->is_object()) {
        GPUKIT_GET(value, in.integer(*cv, "value", "/drivers/nvidia/cuda_version"));
        GPUKIT_GET(raw, in.text(*cv, "raw", "/drivers/nvidia/cuda_version"));
        if (value && *value > 0) n.nvidia_cuda = Version::of(static_cast<int>(*value / 1000), static_cast<int>(*value % 1000 / 10));
        else if (raw) n.nvidia_cuda = Version::parse(*raw);
        if (n.nvidia_cuda) n.nvidia_cuda_source = "document";
      }
      if (!n.nvidia_cuda && n.nvidia_driver) {
        n.nvidia_cuda = tables.cuda_for_driver(*n.nvidia_driver);
        if (n.nvidia_cuda) n.nvidia_cuda_source = "driver table";
      }
    }
    if (auto it = drivers->find("amd"); it != drivers->end() && it->is_object()) {
      GPUKIT_GET(status, in.text(*it, "status", "/drivers/amd"));
      GPUKIT_GET(reason, in.text(*it, "reason", "/drivers/amd"));
      n.amd_status = status.value_or("");
      n.amd_reason = reason.value_or("");
      if (auto dv = it->find("driver_version"); dv != it->end() && dv->is_object()) {
        GPUKIT_GET(raw, in.text(*dv, "raw", "/drivers/amd/driver_version"));
        if (raw) n.amd_driver = Version::parse(*raw);
      }
    }
  }

  // Benchmarks, by device id.
  struct Measured { std::optional<double> fp64, fp32, score; };
  std::vector<std::pair<std::string, Measured>> measured;
  if (const json* bench = document.section("bench")) {
    n.has_bench = true;
    if (auto scores = bench->find("scores"); scores != bench->end() && scores->is_object()) {
      GPUKIT_GET(node_score, in.number(*scores, "gpu_node", "/bench/scores"));
      n.node_score = node_score;
    }
    if (auto devs = bench->find("devices"); devs != bench->end()) {
      if (!devs->is_array()) return in.bad("/bench/devices", "an array");
      for (std::size_t i = 0; i < devs->size(); ++i) {
        const json& d = (*devs)[i];
        std::string path = "/bench/devices/" + std::to_string(i);
        if (!d.is_object()) return in.bad(path, "an object");
        GPUKIT_GET(id, in.text(d, "id", path));
        if (!id) continue;
        Measured m;
        GPUKIT_GET(score, in.number(d, "score", path));
        m.score = score;
        if (auto results = d.find("results"); results != d.end() && results->is_array()) {
          for (std::size_t k = 0; k < results->size(); ++k) {
            const json& r = (*results)[k];
            if (!r.is_object() || r.value("status", std::string()) != "ok") continue;
            auto value = r.find("value");
            if (value == r.end() || !value->is_number() || r.value("unit", std::string()) != "TFLOP/s") continue;
            std::string workload = r.value("workload", std::string());
            if (workload == "fma_fp64") m.fp64 = value->get<double>();
            if (workload == "fma_fp32") m.fp32 = value->get<double>();
          }
        }
        measured.emplace_back(*id, m);
      }
    }
  }
  auto find_measured = [&](const std::string& id) -> const Measured* {
    for (const auto& [k, m] : measured)
      if (k == id) return &m;
    return nullptr;
  };

  // Visible devices: when restricted, only these may be handed out.
  std::vector<std::string> visible_ids;
  bool restricted = false;
  if (const json* visible = document.section("visible")) {
    restricted = visible->value("restricted", false);
    if (auto devs = visible->find("devices"); devs != visible->end() && devs->is_array())
      for (const auto& d : *devs)
        if (d.is_object() && d.contains("uuid") && d["uuid"].is_string()) visible_ids.push_back(d["uuid"].get<std::string>());
  }
  auto is_visible = [&](const std::optional<std::string>& uuid) {
    if (!restricted) return true;
    return uuid && std::find(visible_ids.begin(), visible_ids.end(), *uuid) != visible_ids.end();
  };

  if (const json* gpus = document.section("gpus")) {
    for (std::size_t i = 0; i < gpus->size(); ++i) {
      const json& g = (*gpus)[i];
      std::string path = "/gpus/" + std::to_string(i);
      if (!g.is_object()) return in.bad(path, "an object");
      NodeDevice d;
      d.kind = "gpu";
      d.gpu_index = static_cast<int>(i);
      GPUKIT_GET(vendor, in.text(g, "vendor", path));
      GPUKIT_GET(name, in.text(g, "name", path));
      GPUKIT_GET(uuid, in.text(g, "uuid", path));
      GPUKIT_GET(index, in.integer(g, "index", path));
      GPUKIT_GET(memory, in.bytes(g, "memory_bytes", path));
      GPUKIT_GET(sms, in.integer(g, "multiprocessors", path));
      GPUKIT_GET(numa, in.integer(g, "numa_node", path));
      GPUKIT_GET(local, in.cpus(g, "local_cpus", path));
      GPUKIT_GET(mode, in.text(g, "compute_mode", path));
      d.vendor = vendor.value_or("");
      d.name = name.value_or("");
      d.uuid = uuid;
      d.vendor_index = static_cast<int>(index.value_or(static_cast<std::int64_t>(i)));
      d.id = uuid ? *uuid : "gpu" + std::to_string(i);
      d.memory_bytes = memory;
      if (sms) d.multiprocessors = static_cast<int>(*sms);
      if (numa && *numa >= 0) d.numa_node = static_cast<int>(*numa);
      d.local_cpus = local;
      d.compute_mode = mode.value_or("");
      d.allocatable = g.value("allocatable", true);
      if (auto cc = g.find("compute_capability"); cc != g.end() && cc->is_object()) {
        GPUKIT_GET(major, in.integer(*cc, "major", path + "/compute_capability"));
        GPUKIT_GET(minor, in.integer(*cc, "minor", path + "/compute_capability"));
        if (major && minor) {
          d.cc_major = static_cast<int>(*major);
          d.cc_minor = static_cast<int>(*minor);
        }
      }
      if (auto amd = g.find("amdgpu"); amd != g.end() && amd->is_object()) {
        GPUKIT_GET(gfx, in.text(*amd, "gfx", path + "/amdgpu"));
        GPUKIT_GET(target, in.text(*amd, "target_id", path + "/amdgpu"));
        d.gfx = gfx;
        d.target_id = target;
        if (auto gen = amd->find("generic"); gen != amd->end() && gen->is_array())
          for (const auto& s : *gen)
            if (s.is_string()) d.generic_targets.push_back(s.get<std::string>());
      }
      d.catalogue_fp64_tflops = peak(g, "fp64");
      d.catalogue_fp32_tflops = peak(g, "fp32");
      if (const Measured* m = find_measured(d.id)) {
        d.bench_fp64_tflops = m->fp64;
        d.bench_fp32_tflops = m->fp32;
        d.score = m->score;
      }
      d.visible = is_visible(d.uuid);
      std::vector<NodeDevice> instances;
      if (auto mig = g.find("mig"); mig != g.end() && mig->is_object()) {
        d.mig_mode = mig->value("mode", std::string());
        if (auto insts = mig->find("instances"); insts != mig->end() && insts->is_array()) {
          for (std::size_t k = 0; k < insts->size(); ++k) {
            const json& m = (*insts)[k];
            std::string mpath = path + "/mig/instances/" + std::to_string(k);
            if (!m.is_object()) return in.bad(mpath, "an object");
            GPUKIT_GET(muuid, in.text(m, "uuid", mpath));
            if (!muuid) return in.bad(mpath + "/uuid", "a MIG-… UUID");
            GPUKIT_GET(profile, in.text(m, "profile", mpath));
            GPUKIT_GET(mmem, in.bytes(m, "memory_bytes", mpath));
            GPUKIT_GET(msms, in.integer(m, "multiprocessors", mpath));
            NodeDevice inst = d;
            inst.kind = "mig";
            inst.id = *muuid;
            inst.uuid = muuid;
            inst.parent_id = d.id;
            inst.mig_profile = profile;
            if (profile) inst.mig_slices = profile_slices(*profile);
            inst.memory_bytes = mmem;
            inst.multiprocessors = msms ? std::optional<int>(static_cast<int>(*msms)) : std::nullopt;
            inst.allocatable = true;
            // An instance has its share of the GPU's SMs, so its share of the peaks.
            double share = (msms && d.multiprocessors && *d.multiprocessors > 0)
                               ? static_cast<double>(*msms) / *d.multiprocessors
                               : std::nan("");
            inst.catalogue_fp64_tflops = d.catalogue_fp64_tflops && !std::isnan(share)
                                             ? std::optional<double>(*d.catalogue_fp64_tflops * share)
                                             : std::nullopt;
            inst.catalogue_fp32_tflops = d.catalogue_fp32_tflops && !std::isnan(share)
                                             ? std::optional<double>(*d.catalogue_fp32_tflops * share)
                                             : std::nullopt;
            inst.bench_fp64_tflops = inst.bench_fp32_tflops = inst.score = std::nullopt;
            if (const Measured* mm = find_measured(inst.id)) {
              inst.bench_fp64_tflops = mm->fp64;
              inst.bench_fp32_tflops = mm->fp32;
              inst.score = mm->score;
            }
            // A visible-devices list may name the instance or its parent.
            inst.visible = is_visible(inst.uuid) || is_visible(d.uuid);
            instances.push_back(std::move(inst));
          }
        }
      }
      d.has_mig_instances = !instances.empty();
      if (d.has_mig_instances) {
        // Visible when any of its instances is.
        d.visible = d.visible || std::any_of(instances.begin(), instances.end(), [](const auto& x) { return x.visible; });
      }
      n.devices.push_back(std::move(d));
      for (auto& inst : instances) n.devices.push_back(std::move(inst));
    }
  }

  if (const json* cpu = document.section("cpu")) {
    n.has_cpu = true;
    GPUKIT_GET(cores, in.integer(*cpu, "cores", "/cpu"));
    GPUKIT_GET(threads, in.integer(*cpu, "threads", "/cpu"));
    n.cores = static_cast<int>(cores.value_or(0));
    n.threads = static_cast<int>(threads.value_or(0));
    if (auto allowed = cpu->find("allowed"); allowed != cpu->end() && allowed->is_object()) {
      GPUKIT_GET(list, in.cpus(*allowed, "cpus", "/cpu/allowed"));
      GPUKIT_GET(usable, in.number(*allowed, "usable_cpus", "/cpu/allowed"));
      GPUKIT_GET(quota, in.number(*allowed, "cgroup_quota_cpus", "/cpu/allowed"));
      n.allowed_cpus = list;
      n.usable_cpus = usable ? usable : quota;
    } else {
      return in.bad("/cpu/allowed", "an object (gpuprobe's allowed CPUs)");
    }
    if (auto numa = cpu->find("numa_nodes"); numa != cpu->end() && numa->is_array()) {
      for (std::size_t i = 0; i < numa->size(); ++i) {
        const json& nn = (*numa)[i];
        std::string path = "/cpu/numa_nodes/" + std::to_string(i);
        if (!nn.is_object()) return in.bad(path, "an object");
        GPUKIT_GET(index, in.integer(nn, "index", path));
        GPUKIT_GET(list, in.cpus(nn, "cpus", path));
        GPUKIT_GET(mem, in.bytes(nn, "memory_bytes", path));
        n.numa_nodes.push_back({static_cast<int>(index.value_or(static_cast<std::int64_t>(i))), list, mem});
      }
    }
  }
  if (const json* memory = document.section("memory")) {
    n.has_memory = true;
    GPUKIT_GET(total, in.bytes(*memory, "total_bytes", "/memory"));
    GPUKIT_GET(cgroup, in.bytes(*memory, "cgroup_limit_bytes", "/memory"));
    GPUKIT_GET(memlock, in.bytes(*memory, "memlock_limit_bytes", "/memory"));
    if (!total) return in.bad("/memory/total_bytes", "an integer");
    n.memory_total_bytes = *total;
    n.cgroup_limit_bytes = cgroup;
    n.memlock_limit_bytes = memlock;
  }
  return n;
}

}  // namespace gpukit
