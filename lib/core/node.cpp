#include "core/node.hpp"

#include <limits>

namespace gpukit {

namespace {

constexpr std::int64_t small_max = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t small_min = std::numeric_limits<std::int32_t>::min();

// Unwraps a Result into `target`, or returns its error.
#define GPUKIT_SET(target, expr)           \
  do {                                     \
    auto result_ = (expr);                 \
    if (!result_) return result_.error();  \
    (target) = std::move(*result_);        \
  } while (0)

// Typed reads of one object's fields. Absent and null are nullopt; anything
// else of the wrong type or range is an error naming the field's path.
class Fields {
 public:
  Fields(const json& object, std::string path, const std::string& origin)
      : object_(object), path_(std::move(path)), origin_(origin) {}

  std::string path(std::string_view key) const { return path_ + "/" + std::string(key); }
  const std::string& origin() const { return origin_; }

  Error wrong(std::string_view key, const std::string& want, const json& found) const {
    return usage_error("expected " + want + ", found " + json_type_name(found), origin_ + ": " + path(key));
  }

  Result<OptText> text(const char* key) const {
    const json* v = find(key);
    if (!v) return OptText();
    if (!v->is_string()) return wrong(key, "a string or null", *v);
    return OptText(v->get<std::string>());
  }

  Result<OptInt> integer(const char* key, std::int64_t min = 0, std::int64_t max = small_max) const {
    const json* v = find(key);
    if (!v) return OptInt();
    if (v->is_number_unsigned() && v->get<std::uint64_t>() <= static_cast<std::uint64_t>(max))
      return OptInt(static_cast<std::int64_t>(v->get<std::uint64_t>()));
    if (v->is_number_integer() && !v->is_number_unsigned() && v->get<std::int64_t>() >= min &&
        v->get<std::int64_t>() <= max)
      return OptInt(v->get<std::int64_t>());
    if (v->is_number_integer())
      return usage_error("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", found " +
                             dump_json(*v),
                         origin_ + ": " + path(key));
    return wrong(key, integer_domain(min), *v);
  }

  Result<OptBytes> bytes(const char* key) const {
    const json* v = find(key);
    if (!v) return OptBytes();
    if (v->is_number_unsigned()) return OptBytes(v->get<std::uint64_t>());
    if (v->is_number_integer() && v->get<std::int64_t>() >= 0) return OptBytes(v->get<std::uint64_t>());
    return wrong(key, "an integer >= 0 or null", *v);
  }

  Result<OptNumber> number(const char* key) const {
    const json* v = find(key);
    if (!v) return OptNumber();
    if (!v->is_number()) return wrong(key, "a number or null", *v);
    return OptNumber(v->get<double>());
  }

  Result<OptBool> boolean(const char* key) const {
    const json* v = find(key);
    if (!v) return OptBool();
    if (!v->is_boolean()) return wrong(key, "a boolean or null", *v);
    return OptBool(v->get<bool>());
  }

  // The value at `key` whatever its type; null when absent.
  json raw(const char* key) const {
    const json* v = find(key);
    return v ? *v : json();
  }

  // The object or array at `key`, or nullptr when absent or null.
  Result<const json*> object(const char* key) const { return container(key, true); }
  Result<const json*> array(const char* key) const { return container(key, false); }

  Result<std::vector<std::string>> strings(const char* key) const {
    std::vector<std::string> out;
    const json* list = nullptr;
    GPUKIT_SET(list, array(key));
    if (!list) return out;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const json& s = (*list)[i];
      if (!s.is_string()) return wrong(std::string(key) + "/" + std::to_string(i), "a string", s);
      out.push_back(s.get<std::string>());
    }
    return out;
  }

 private:
  const json* find(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  Result<const json*> container(const char* key, bool want_object) const {
    const json* v = find(key);
    if (!v) return v;
    if (want_object ? !v->is_object() : !v->is_array())
      return wrong(key, want_object ? "an object or null" : "an array or null", *v);
    return v;
  }

  static std::string integer_domain(std::int64_t min) {
    if (min == small_min) return "an integer or null";
    return "an integer >= " + std::to_string(min) + " or null";
  }

  const json& object_;
  std::string path_;
  const std::string& origin_;
};

// Each element of the array at `path` must be an object; `read` builds one.
template <class T, class Read>
Result<std::vector<T>> read_objects(const json& list, const std::string& path, const std::string& origin, Read read) {
  std::vector<T> out;
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string here = path + "/" + std::to_string(i);
    if (!list[i].is_object())
      return usage_error(std::string("expected an object, found ") + json_type_name(list[i]), origin + ": " + here);
    T item;
    GPUKIT_SET(item, read(Fields(list[i], here, origin)));
    out.push_back(std::move(item));
  }
  return out;
}

// ---------------------------------------------------------------- host, cpu, memory

Result<NodeHost> read_host(const Fields& f) {
  NodeHost h;
  GPUKIT_SET(h.hostname, f.text("hostname"));
  GPUKIT_SET(h.kernel, f.text("kernel"));
  GPUKIT_SET(h.arch, f.text("arch"));
  GPUKIT_SET(h.batch_system, f.text("batch_system"));
  const json* os = nullptr;
  GPUKIT_SET(os, f.object("os"));
  if (os) GPUKIT_SET(h.os_pretty_name, Fields(*os, f.path("os"), f.origin()).text("pretty_name"));
  const json* container = nullptr;
  GPUKIT_SET(container, f.object("container"));
  if (container) GPUKIT_SET(h.container_runtime, Fields(*container, f.path("container"), f.origin()).text("runtime"));
  return h;
}

Result<NodeNumaNode> read_numa_node(const Fields& f) {
  NodeNumaNode n;
  GPUKIT_SET(n.index, f.integer("index"));
  GPUKIT_SET(n.cpus, f.text("cpus"));
  GPUKIT_SET(n.memory_bytes, f.bytes("memory_bytes"));
  return n;
}

Result<NodeAllowedCpus> read_allowed(const Fields& f) {
  NodeAllowedCpus a;
  GPUKIT_SET(a.cpus, f.text("cpus"));
  GPUKIT_SET(a.count, f.integer("count"));
  GPUKIT_SET(a.usable_cpus, f.number("usable_cpus"));
  GPUKIT_SET(a.cgroup_quota_cpus, f.number("cgroup_quota_cpus"));
  return a;
}

Result<NodeCpu> read_cpu(const Fields& f) {
  NodeCpu c;
  GPUKIT_SET(c.model, f.text("model"));
  GPUKIT_SET(c.vendor, f.text("vendor"));
  GPUKIT_SET(c.architecture, f.text("architecture"));
  GPUKIT_SET(c.isa, f.strings("isa"));
  GPUKIT_SET(c.sockets, f.integer("sockets"));
  GPUKIT_SET(c.cores, f.integer("cores"));
  GPUKIT_SET(c.threads, f.integer("threads"));
  GPUKIT_SET(c.max_clock_mhz, f.number("max_clock_mhz"));
  const json* numa = nullptr;
  GPUKIT_SET(numa, f.array("numa_nodes"));
  if (numa) {
    c.has_numa_nodes = true;
    GPUKIT_SET(c.numa_nodes, read_objects<NodeNumaNode>(*numa, f.path("numa_nodes"), f.origin(), read_numa_node));
  }
  const json* allowed = nullptr;
  GPUKIT_SET(allowed, f.object("allowed"));
  if (allowed) GPUKIT_SET(c.allowed, read_allowed(Fields(*allowed, f.path("allowed"), f.origin())));
  return c;
}

Result<NodeMemory> read_memory(const Fields& f) {
  NodeMemory m;
  GPUKIT_SET(m.total_bytes, f.bytes("total_bytes"));
  GPUKIT_SET(m.available_bytes, f.bytes("available_bytes"));
  GPUKIT_SET(m.cgroup_limit_bytes, f.bytes("cgroup_limit_bytes"));
  GPUKIT_SET(m.memlock_limit_bytes, f.bytes("memlock_limit_bytes"));
  return m;
}

// ---------------------------------------------------------------- drivers

Result<std::optional<NodeVersion>> read_version(const Fields& f, const char* key) {
  const json* v = nullptr;
  GPUKIT_SET(v, f.object(key));
  if (!v) return std::optional<NodeVersion>();
  Fields in(*v, f.path(key), f.origin());
  NodeVersion version;
  GPUKIT_SET(version.raw, in.text("raw"));
  GPUKIT_SET(version.value, in.integer("value", 0, std::numeric_limits<std::int64_t>::max()));
  const json* parts = nullptr;
  GPUKIT_SET(parts, in.array("parts"));
  if (parts)
    for (std::size_t i = 0; i < parts->size(); ++i) {
      const json& p = (*parts)[i];
      if (!p.is_number_integer() || (!p.is_number_unsigned() && p.get<std::int64_t>() < 0) ||
          (p.is_number_unsigned() && p.get<std::uint64_t>() > static_cast<std::uint64_t>(small_max)))
        return in.wrong("parts/" + std::to_string(i), "an integer >= 0", p);
      version.parts.push_back(p.get<std::int64_t>());
    }
  return std::optional<NodeVersion>(std::move(version));
}

Result<NodeDriver> read_driver(const std::string& vendor, const Fields& f) {
  NodeDriver d;
  d.vendor = vendor;
  GPUKIT_SET(d.status, f.text("status"));
  GPUKIT_SET(d.reason, f.text("reason"));
  GPUKIT_SET(d.source, f.text("source"));
  GPUKIT_SET(d.gpu_count, f.integer("gpu_count"));
  GPUKIT_SET(d.driver_version, read_version(f, "driver_version"));
  GPUKIT_SET(d.cuda_version, read_version(f, "cuda_version"));
  GPUKIT_SET(d.hip_version, read_version(f, "hip_version"));
  return d;
}

bool known_vendor(const std::string& key) { return key == "nvidia" || key == "amd" || key == "intel"; }

// Every object under drivers but the generator stamp is a vendor; the known
// vendors must be objects, other keys of other types are kept, not modelled.
Result<std::vector<NodeDriver>> read_drivers(const json& drivers, const std::string& origin) {
  std::vector<NodeDriver> out;
  for (const auto& [key, value] : drivers.items()) {
    if (key == "generator" || value.is_null()) continue;
    const std::string path = "/drivers/" + key;
    if (!value.is_object()) {
      if (known_vendor(key))
        return usage_error(std::string("expected an object or null, found ") + json_type_name(value), origin + ": " + path);
      continue;
    }
    NodeDriver d;
    GPUKIT_SET(d, read_driver(key, Fields(value, path, origin)));
    out.push_back(std::move(d));
  }
  return out;
}

// ---------------------------------------------------------------- gpus

Result<NodeMigInstance> read_instance(const Fields& f) {
  NodeMigInstance m;
  GPUKIT_SET(m.uuid, f.text("uuid"));
  GPUKIT_SET(m.profile, f.text("profile"));
  GPUKIT_SET(m.index, f.integer("index"));
  GPUKIT_SET(m.gpu_instance_id, f.integer("gpu_instance_id"));
  GPUKIT_SET(m.compute_instance_id, f.integer("compute_instance_id"));
  GPUKIT_SET(m.gi_cap_minor, f.integer("gi_cap_minor"));
  GPUKIT_SET(m.ci_cap_minor, f.integer("ci_cap_minor"));
  GPUKIT_SET(m.memory_bytes, f.bytes("memory_bytes"));
  GPUKIT_SET(m.multiprocessors, f.integer("multiprocessors"));
  return m;
}

Status read_gpu_identity(NodeGpu& g, const Fields& f) {
  GPUKIT_SET(g.vendor, f.text("vendor"));
  GPUKIT_SET(g.name, f.text("name"));
  GPUKIT_SET(g.uuid, f.text("uuid"));
  GPUKIT_SET(g.pci_bus_id, f.text("pci_bus_id"));
  GPUKIT_SET(g.pci_device_id, f.text("pci_device_id"));
  GPUKIT_SET(g.compute_mode, f.text("compute_mode"));
  GPUKIT_SET(g.local_cpus, f.text("local_cpus"));
  GPUKIT_SET(g.index, f.integer("index"));
  GPUKIT_SET(g.numa_node, f.integer("numa_node", small_min));
  GPUKIT_SET(g.device_minor, f.integer("device_minor"));
  GPUKIT_SET(g.drm_render_minor, f.integer("drm_render_minor"));
  GPUKIT_SET(g.allocatable, f.boolean("allocatable"));
  GPUKIT_SET(g.driver_loaded, f.boolean("driver_loaded"));
  GPUKIT_SET(g.ecc_enabled, f.boolean("ecc_enabled"));
  return {};
}

Status read_gpu_resources(NodeGpu& g, const Fields& f) {
  GPUKIT_SET(g.memory_bytes, f.bytes("memory_bytes"));
  GPUKIT_SET(g.multiprocessors, f.integer("multiprocessors"));
  GPUKIT_SET(g.memory_bus_width_bits, f.integer("memory_bus_width_bits"));
  const json* clocks = nullptr;
  GPUKIT_SET(clocks, f.object("clocks"));
  if (clocks) {
    Fields c(*clocks, f.path("clocks"), f.origin());
    GPUKIT_SET(g.max_sm_mhz, c.integer("max_sm_mhz"));
    GPUKIT_SET(g.max_memory_mhz, c.integer("max_memory_mhz"));
  }
  const json* pcie = nullptr;
  GPUKIT_SET(pcie, f.object("pcie"));
  if (pcie) {
    Fields p(*pcie, f.path("pcie"), f.origin());
    g.has_pcie = true;
    GPUKIT_SET(g.pcie_current_generation, p.integer("current_generation"));
    GPUKIT_SET(g.pcie_current_width, p.integer("current_width"));
    GPUKIT_SET(g.pcie_max_generation, p.integer("max_generation"));
    GPUKIT_SET(g.pcie_max_width, p.integer("max_width"));
  }
  return {};
}

Status read_gpu_architecture(NodeGpu& g, const Fields& f) {
  const json* cc = nullptr;
  GPUKIT_SET(cc, f.object("compute_capability"));
  if (cc) {
    Fields c(*cc, f.path("compute_capability"), f.origin());
    g.has_compute_capability = true;
    GPUKIT_SET(g.cc_major, c.integer("major"));
    GPUKIT_SET(g.cc_minor, c.integer("minor"));
  }
  const json* amd = nullptr;
  GPUKIT_SET(amd, f.object("amdgpu"));
  if (amd) {
    Fields a(*amd, f.path("amdgpu"), f.origin());
    g.has_amdgpu = true;
    GPUKIT_SET(g.gfx, a.text("gfx"));
    GPUKIT_SET(g.target_id, a.text("target_id"));
    GPUKIT_SET(g.generic_targets, a.strings("generic"));
  }
  return {};
}

Status read_gpu_mig(NodeGpu& g, const Fields& f) {
  const json* mig = nullptr;
  GPUKIT_SET(mig, f.object("mig"));
  if (!mig) return {};
  Fields m(*mig, f.path("mig"), f.origin());
  GPUKIT_SET(g.mig_mode, m.text("mode"));
  const json* instances = nullptr;
  GPUKIT_SET(instances, m.array("instances"));
  if (instances)
    GPUKIT_SET(g.mig_instances,
               read_objects<NodeMigInstance>(*instances, m.path("instances"), f.origin(), read_instance));
  return {};
}

// ---------------------------------------------------------------- health

Result<NodeHealthCheck> read_health_check(const Fields& f) {
  NodeHealthCheck c;
  OptText name, status;
  GPUKIT_SET(name, f.text("name"));
  if (!name || name->empty()) return usage_error("expected a non-empty string", f.origin() + ": " + f.path("name"));
  c.name = std::move(*name);
  GPUKIT_SET(status, f.text("status"));
  if (!status || !is_health_status(*status))
    return usage_error("expected one of pass, warn, fail, unsupported, timeout", f.origin() + ": " + f.path("status"));
  c.status = std::move(*status);
  GPUKIT_SET(c.level, f.integer("level", 1, 2));
  GPUKIT_SET(c.source, f.text("source"));
  GPUKIT_SET(c.reason, f.text("reason"));
  GPUKIT_SET(c.dcgm_code, f.text("dcgm_code"));
  c.value = f.raw("value");
  c.threshold = f.raw("threshold");
  return c;
}

}  // namespace

Result<NodeHealth> read_health(const json& health, const std::string& path, const std::string& origin) {
  if (!health.is_object())
    return usage_error(std::string("expected an object, found ") + json_type_name(health), origin + ": " + path);
  Fields f(health, path, origin);
  NodeHealth h;
  GPUKIT_SET(h.level, f.integer("level", 1, 2));
  GPUKIT_SET(h.status, f.text("status"));
  if (h.status && !is_health_status(*h.status))
    return usage_error("expected one of pass, warn, fail, unsupported, timeout", origin + ": " + f.path("status"));
  const json* checks = nullptr;
  GPUKIT_SET(checks, f.array("checks"));
  if (checks) GPUKIT_SET(h.checks, read_objects<NodeHealthCheck>(*checks, f.path("checks"), origin, read_health_check));
  return h;
}

namespace {

Result<NodeGpu> read_gpu(const Fields& f) {
  NodeGpu g;
  if (auto st = read_gpu_identity(g, f); !st) return st.error();
  if (auto st = read_gpu_resources(g, f); !st) return st.error();
  if (auto st = read_gpu_architecture(g, f); !st) return st.error();
  if (auto st = read_gpu_mig(g, f); !st) return st.error();
  const json* catalogue = nullptr;
  GPUKIT_SET(catalogue, f.object("catalogue"));
  if (catalogue) g.catalogue = *catalogue;
  const json* health = nullptr;
  GPUKIT_SET(health, f.object("health"));
  if (health) GPUKIT_SET(g.health, read_health(*health, f.path("health"), f.origin()));
  return g;
}

// ---------------------------------------------------------------- visible

Result<NodeVisibleDevice> read_visible_device(const Fields& f) {
  NodeVisibleDevice d;
  GPUKIT_SET(d.kind, f.text("kind"));
  GPUKIT_SET(d.vendor, f.text("vendor"));
  GPUKIT_SET(d.uuid, f.text("uuid"));
  GPUKIT_SET(d.parent_uuid, f.text("parent_uuid"));
  GPUKIT_SET(d.selected_by, f.text("selected_by"));
  GPUKIT_SET(d.gpu_index, f.integer("gpu_index"));
  GPUKIT_SET(d.runtime_index, f.integer("runtime_index"));
  return d;
}

Result<NodeVisible> read_visible(const Fields& f) {
  NodeVisible v;
  OptBool restricted;
  GPUKIT_SET(restricted, f.boolean("restricted"));
  v.restricted = restricted.value_or(false);
  const json* devices = nullptr;
  GPUKIT_SET(devices, f.array("devices"));
  if (devices) {
    v.has_devices = true;
    GPUKIT_SET(v.devices, read_objects<NodeVisibleDevice>(*devices, f.path("devices"), f.origin(), read_visible_device));
  }
  GPUKIT_SET(v.problems, f.strings("problems"));
  const json* env = nullptr;
  GPUKIT_SET(env, f.object("environment"));
  if (env) {
    Fields e(*env, f.path("environment"), f.origin());
    for (const auto& [name, value] : env->items()) {
      OptText text;
      GPUKIT_SET(text, e.text(name.c_str()));
      v.environment.emplace_back(name, std::move(text));
    }
  }
  return v;
}

// ---------------------------------------------------------------- bench

Result<BenchResultView> read_bench_result(const Fields& f) {
  BenchResultView r;
  GPUKIT_SET(r.workload, f.text("workload"));
  GPUKIT_SET(r.status, f.text("status"));
  GPUKIT_SET(r.unit, f.text("unit"));
  GPUKIT_SET(r.value, f.number("value"));
  return r;
}

Result<BenchDeviceView> read_bench_device(const Fields& f) {
  BenchDeviceView d;
  GPUKIT_SET(d.id, f.text("id"));
  GPUKIT_SET(d.kind, f.text("kind"));
  GPUKIT_SET(d.score, f.number("score"));
  GPUKIT_SET(d.power_w_mean, f.number("power_w_mean"));
  const json* results = nullptr;
  GPUKIT_SET(results, f.array("results"));
  if (results)
    GPUKIT_SET(d.results, read_objects<BenchResultView>(*results, f.path("results"), f.origin(), read_bench_result));
  return d;
}

Status read_bench_scores(BenchView& b, const Fields& f) {
  const json* scores = nullptr;
  GPUKIT_SET(scores, f.object("scores"));
  if (!scores) return {};
  Fields s(*scores, f.path("scores"), f.origin());
  b.has_scores = true;
  GPUKIT_SET(b.gpu_node, s.number("gpu_node"));
  GPUKIT_SET(b.cpu_node, s.number("cpu_node"));
  GPUKIT_SET(b.node, s.number("node"));
  GPUKIT_SET(b.reference, s.text("reference"));
  return {};
}

}  // namespace

bool is_health_status(std::string_view status) {
  return status == "pass" || status == "warn" || status == "fail" || status == "unsupported" || status == "timeout";
}

namespace {
int health_rank(std::string_view status) {
  if (status == "fail") return 4;
  if (status == "timeout") return 3;
  if (status == "warn") return 2;
  if (status == "pass") return 1;
  return 0;
}
}  // namespace

std::string_view worse_health_status(std::string_view a, std::string_view b) {
  return health_rank(b) > health_rank(a) ? b : a;
}

std::vector<const NodeHealthCheck*> NodeHealth::failures() const {
  std::vector<const NodeHealthCheck*> out;
  for (const auto& c : checks)
    if (c.failed()) out.push_back(&c);
  return out;
}

const NodeDriver* NodeModel::driver(std::string_view vendor) const {
  if (!drivers) return nullptr;
  for (const auto& d : *drivers)
    if (d.vendor == vendor) return &d;
  return nullptr;
}

const std::vector<NodeGpu>& NodeModel::gpu_list() const {
  static const std::vector<NodeGpu> none;
  return gpus ? *gpus : none;
}

namespace {

// The section `name` of `root` when it has the JSON type a known section must
// have; nullptr when absent.
Result<const json*> section_of(const json& root, const char* name, const std::string& origin) {
  auto it = root.find(name);
  if (it == root.end()) return static_cast<const json*>(nullptr);
  const bool want_array = std::string_view(expected_section_type(name)) == "array";
  if (want_array ? !it->is_array() : !it->is_object())
    return usage_error(std::string("expected ") + (want_array ? "an array" : "an object") + ", found " +
                           json_type_name(*it),
                       origin + ": /" + name);
  return &*it;
}

}  // namespace

Result<NodeModel> read_node_model(const json& root, const std::string& origin) {
  if (!root.is_object())
    return usage_error(std::string("expected a JSON object, found ") + json_type_name(root), origin + ": /");
  NodeModel n;
  const json* s = nullptr;
  GPUKIT_SET(s, section_of(root, "host", origin));
  if (s) GPUKIT_SET(n.host, read_host(Fields(*s, "/host", origin)));
  GPUKIT_SET(s, section_of(root, "cpu", origin));
  if (s) GPUKIT_SET(n.cpu, read_cpu(Fields(*s, "/cpu", origin)));
  GPUKIT_SET(s, section_of(root, "memory", origin));
  if (s) GPUKIT_SET(n.memory, read_memory(Fields(*s, "/memory", origin)));
  GPUKIT_SET(s, section_of(root, "drivers", origin));
  if (s) GPUKIT_SET(n.drivers, read_drivers(*s, origin));
  GPUKIT_SET(s, section_of(root, "gpus", origin));
  if (s) GPUKIT_SET(n.gpus, read_gpus_section(*s, origin));
  GPUKIT_SET(s, section_of(root, "visible", origin));
  if (s) GPUKIT_SET(n.visible, read_visible_section(*s, origin));
  GPUKIT_SET(s, section_of(root, "health", origin));
  if (s) GPUKIT_SET(n.health, read_health(*s, "/health", origin));
  return n;
}

Result<NodeModel> read_node_model(const Document& document, const std::string& origin) {
  return read_node_model(document.root(), origin);
}

Result<std::vector<NodeGpu>> read_gpus_section(const json& gpus, const std::string& origin) {
  if (!gpus.is_array()) return usage_error(std::string("expected an array, found ") + json_type_name(gpus), origin + ": /gpus");
  return read_objects<NodeGpu>(gpus, "/gpus", origin, read_gpu);
}

Result<NodeVisible> read_visible_section(const json& visible, const std::string& origin) {
  if (!visible.is_object())
    return usage_error(std::string("expected an object, found ") + json_type_name(visible), origin + ": /visible");
  return read_visible(Fields(visible, "/visible", origin));
}

Result<std::optional<BenchView>> read_bench_view(const Document& document, const std::string& origin) {
  const json* bench = document.section("bench");
  if (!bench) return std::optional<BenchView>();
  Fields f(*bench, "/bench", origin);
  BenchView b;
  if (auto st = read_bench_scores(b, f); !st) return st.error();
  const json* devices = nullptr;
  GPUKIT_SET(devices, f.array("devices"));
  if (devices) GPUKIT_SET(b.devices, read_objects<BenchDeviceView>(*devices, "/bench/devices", origin, read_bench_device));
  const json* node = nullptr;
  GPUKIT_SET(node, f.object("node"));
  if (node) {
    Fields n(*node, "/bench/node", origin);
    const json* results = nullptr;
    GPUKIT_SET(results, n.array("results"));
    if (results)
      GPUKIT_SET(b.node_results, read_objects<BenchResultView>(*results, n.path("results"), origin, read_bench_result));
  }
  return std::optional<BenchView>(std::move(b));
}

#undef GPUKIT_SET

}  // namespace gpukit
