#include "bench/scoring.hpp"

#include <algorithm>
#include <map>

#include "bench/hep/cpu_runner.hpp"
#include "core/paths.hpp"

namespace gpukit {

namespace {

constexpr const char* default_reference = "reference/provisional-cpu-vm.json";

bool is_hep(const json& r) { return r.is_object() && r.value("family", "") == "hep"; }

std::string base_workload(const json& r) {
  if (r.contains("details") && r["details"].is_object() && r["details"].contains("workload"))
    return r["details"]["workload"].get<std::string>();
  const std::string name = r.value("workload", "");
  return name.substr(0, name.rfind('_'));
}

const json* find_result(const json& results, const std::string& name) {
  for (const auto& r : results)
    if (r.value("workload", "") == name) return &r;
  return nullptr;
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

Result<hep::Reference> load_reference(const std::string& path) {
  if (!path.empty()) return hep::read_reference_file(path);
  auto file = data_file(default_reference);
  if (!file) return file.error();
  return hep::read_reference_file(*file);
}

std::vector<hep::DeviceMeasurement> hep_measurements(const json& bench) {
  std::vector<hep::DeviceMeasurement> out;
  for (const auto& d : bench["devices"]) {
    hep::DeviceMeasurement m;
    m.id = d["id"].get<std::string>();
    m.name = d["name"].get<std::string>();
    m.kind = d["kind"] == "cpu" ? "cpu" : "gpu";
    m.platform = d["backend"].is_string() ? d["backend"].get<std::string>() : "";
    if (m.kind == "cpu" && d["environment"].contains("cores") && d["environment"]["cores"].is_number_integer())
      m.cores = d["environment"]["cores"].get<int>();
    for (const auto& w : hep::hep_workload_names()) {
      hep::WorkloadMeasurement wm;
      wm.workload = w;
      bool complete = true;
      for (hep::Precision p : hep::hep_workload_precisions(w)) {
        const json* r = find_result(d["results"], w + "_" + hep::precision_name(p));
        if (!r || (*r)["status"] != "ok" || !(*r)["stats"].is_object()) {
          complete = false;
          break;
        }
        wm.throughput[hep::precision_name(p)] = (*r)["stats"]["values"].get<std::vector<double>>();
      }
      if (complete) m.workloads.push_back(std::move(wm));
    }
    if (!m.workloads.empty()) out.push_back(std::move(m));
  }
  return out;
}

void annotate_hep_results(json& bench) {
  const json* cpu = nullptr;
  for (const auto& d : bench["devices"])
    if (d["kind"] == "cpu") cpu = &d;
  for (auto& d : bench["devices"]) {
    for (auto& r : d["results"]) {
      if (!is_hep(r)) continue;
      if (r["precision"] == "fp64") {
        const json* fp32 = find_result(d["results"], base_workload(r) + "_fp32");
        r["fp64_fp32_ratio"] = r["value"].is_number() && fp32 && (*fp32)["value"].is_number()
                                   ? json(r["value"].get<double>() / (*fp32)["value"].get<double>())
                                   : json(nullptr);
      }
      // The vendor-GEMM MLP is compared with our kernel on the same device and
      // with the CPU's mlp_infer of its precision.
      const bool blas = base_workload(r) == "mlp_infer_blas";
      const std::string own = r["precision"].is_string() ? "mlp_infer_" + r["precision"].get<std::string>() : "";
      if (blas && r["details"].is_object()) {
        const json* o = find_result(d["results"], own);
        r["details"]["vs_own_kernel"] = r["value"].is_number() && o && (*o)["value"].is_number()
                                            ? json(r["value"].get<double>() / (*o)["value"].get<double>())
                                            : json(nullptr);
      }
      if (d["kind"] != "cpu" && cpu && r["details"].is_object()) {
        const json* c = find_result((*cpu)["results"], blas ? own : r["workload"].get<std::string>());
        r["details"]["speedup_vs_cpu_node"] = r["value"].is_number() && c && (*c)["value"].is_number()
                                                  ? json(r["value"].get<double>() / (*c)["value"].get<double>())
                                                  : json(nullptr);
      }
    }
  }
}

Status score_bench_section(json& bench, const hep::Reference& ref) {
  const std::vector<hep::DeviceMeasurement> measured = hep_measurements(bench);
  std::vector<hep::DeviceScore> scored;
  std::string problem;
  for (const auto& m : measured) {
    auto s = hep::device_score(m, ref);
    if (!s) {
      problem = s.error().what();
      continue;
    }
    scored.push_back(*s);
  }
  // Per device and per result: the score, and each raw value beside its reference.
  for (auto& d : bench["devices"]) {
    const std::string id = d["id"].get<std::string>();
    auto s = std::find_if(scored.begin(), scored.end(), [&](const hep::DeviceScore& x) { return x.id == id; });
    d["score"] = s == scored.end() ? json(nullptr) : json(s->score);
    d["workload_scores"] = json::object();
    if (s != scored.end())
      for (const auto& [w, v] : s->workloads) d["workload_scores"][w] = v;
    for (auto& r : d["results"]) {
      if (!is_hep(r)) continue;
      const std::string w = base_workload(r);
      const std::string key = r["precision"].is_string() ? r["precision"].get<std::string>() : "";
      auto wv = ref.values.find(w);
      std::optional<double> reference;
      if (wv != ref.values.end())
        if (auto kv = wv->second.find(key); kv != wv->second.end()) reference = kv->second;
      r["reference_value"] = optional_number(reference);
      r["reference_ratio"] = reference && r["value"].is_number() ? json(r["value"].get<double>() / *reference)
                                                                 : json(nullptr);
    }
  }
  const hep::NodeScores n = hep::node_scores(scored);
  json per_device = json::object();
  std::map<std::string, std::pair<double, int>> models;
  for (const auto& s : scored) {
    if (s.kind != "gpu") continue;
    per_device[s.id] = s.score;
    for (const auto& d : bench["devices"])
      if (d["id"] == s.id) {
        auto& [sum, count] = models[d["name"].get<std::string>()];
        sum += s.score;
        ++count;
      }
  }
  json model_scores = json::object();
  for (const auto& [name, sc] : models) model_scores[name] = sc.first / sc.second;

  // What was run, not how it is scored: rescoring keeps the hash.
  json what = {{"config", bench["config"]}, {"quick", bench["quick"]}, {"problem_sizes", json::object()}};
  for (const auto& d : bench["devices"])
    for (const auto& r : d["results"])
      if (is_hep(r)) what["problem_sizes"][d["id"].get<std::string>() + "/" + r["workload"].get<std::string>()] = r["problem_size"];
  what["config"].erase("seed");

  json s;
  s["benchmark_type"] = std::string("gpukit-hep/") + hep_score_method_version;
  s["reference"] = ref.name;
  s["reference_file"] = ref.file;
  s["reference_provisional"] = ref.provisional;
  s["config_hash"] = hep::config_hash(what);
  s["tool_version"] = bench["generator"]["version"];
  s["scaling"] = ref.scaling;
  s["gpu_node"] = optional_number(n.gpu_node);
  s["gpu_per_device"] = per_device;
  s["cpu_node"] = optional_number(n.cpu_node);
  s["cpu_per_core"] = optional_number(n.cpu_per_core);
  s["node"] = optional_number(n.node);
  s["models"] = model_scores;
  s["method"] =
      "per workload: median over repetitions of the geometric mean over its precisions of throughput / reference; "
      "per device: weighted geometric mean over the workloads that completed on it x scaling; gpu_node: sum over "
      "GPUs; cpu_per_core: cpu_node / cores used; node: gpu_node + cpu_node";
  s["reason"] = !scored.empty() ? json(nullptr)
                : !problem.empty() ? json(problem)
                                   : json("no device completed every precision of a HEP workload");
  bench["scores"] = s;
  return {};
}

}  // namespace gpukit
