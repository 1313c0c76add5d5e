#include "bench/hep/scores.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/io.hpp"
#include "core/stats.hpp"

namespace gpukit::hep {

namespace {

Error bad(const std::string& origin, const std::string& path, const std::string& message) {
  return usage_error(message, origin + ": " + path);
}

}  // namespace

Result<Reference> parse_reference(const json& j, const std::string& origin) {
  if (!j.is_object()) return bad(origin, "$", "a reference file must be a JSON object");
  Reference r;
  r.file = origin;
  auto str = [&](const char* key, std::string& out) -> Status {
    if (!j.contains(key) || !j[key].is_string()) return bad(origin, std::string("$.") + key, "missing or not a string");
    out = j[key].get<std::string>();
    return {};
  };
  for (auto [key, out] : {std::pair{"name", &r.name}, std::pair{"derived_from", &r.derived_from},
                          std::pair{"gpukit_version", &r.gpukit_version}, std::pair{"date", &r.date}})
    if (Status s = str(key, *out); !s) return s.error();
  if (r.derived_from != "cpu" && r.derived_from != "gpu")
    return bad(origin, "$.derived_from", "must be \"cpu\" or \"gpu\"");
  if (!j.contains("provisional") || !j["provisional"].is_boolean())
    return bad(origin, "$.provisional", "missing or not a boolean");
  r.provisional = j["provisional"].get<bool>();
  if (!j.contains("machine") || !j["machine"].is_object()) return bad(origin, "$.machine", "missing or not an object");
  r.machine = j["machine"];
  if (j.contains("scaling")) {
    if (!j["scaling"].is_number() || !(j["scaling"].get<double>() > 0))
      return bad(origin, "$.scaling", "must be a positive number");
    r.scaling = j["scaling"].get<double>();
  }
  if (!j.contains("workloads") || !j["workloads"].is_object() || j["workloads"].empty())
    return bad(origin, "$.workloads", "missing, empty or not an object");
  for (const auto& [name, w] : j["workloads"].items()) {
    const std::string path = "$.workloads." + name;
    if (!w.is_object()) return bad(origin, path, "not an object");
    double weight = 1;
    if (w.contains("weight")) {
      if (!w["weight"].is_number() || !(w["weight"].get<double>() > 0))
        return bad(origin, path + ".weight", "must be a positive number");
      weight = w["weight"].get<double>();
    }
    r.weights[name] = weight;
    if (w.contains("unit") && w["unit"].is_string()) r.units[name] = w["unit"].get<std::string>();
    if (!w.contains("values") || !w["values"].is_object() || w["values"].empty())
      return bad(origin, path + ".values", "missing, empty or not an object");
    for (const auto& [key, v] : w["values"].items()) {
      if (!v.is_number() || !(v.get<double>() > 0))
        return bad(origin, path + ".values." + key, "must be a positive throughput");
      r.values[name][key] = v.get<double>();
    }
  }
  return r;
}

Result<Reference> read_reference_file(const std::string& path) {
  Result<std::string> text = read_input_file(path);
  if (!text) return text.error();
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return usage_error("not valid JSON", path);
  return parse_reference(j, path);
}

Result<double> repetition_median(const std::vector<double>& values) {
  if (values.empty()) return usage_error("no repetitions to take a median of");
  if (values.size() % 2 == 0)
    return usage_error("an even number of repetitions (" + std::to_string(values.size()) +
                       "): the median needs an odd count");
  return median(values);
}

Result<double> workload_score(const WorkloadMeasurement& m, const Reference& reference) {
  auto ref = reference.values.find(m.workload);
  if (ref == reference.values.end())
    return usage_error("the reference has no values for workload " + m.workload, reference.file);
  if (m.throughput.empty()) return usage_error("no sub-results for workload " + m.workload);
  std::size_t reps = m.throughput.begin()->second.size();
  std::vector<std::vector<double>> ratios;  // [key][repetition]
  for (const auto& [key, values] : m.throughput) {
    auto r = ref->second.find(key);
    if (r == ref->second.end())
      return usage_error("the reference has no value for " + m.workload + " " + key, reference.file);
    if (values.size() != reps)
      return usage_error("sub-results of " + m.workload + " have different numbers of repetitions");
    std::vector<double> row;
    for (double v : values) {
      if (!(v > 0)) return usage_error("a throughput of " + m.workload + " " + key + " is not positive");
      row.push_back(v / r->second);
    }
    ratios.push_back(std::move(row));
  }
  std::vector<double> per_rep;
  for (std::size_t i = 0; i < reps; ++i) {
    std::vector<double> x;
    for (const auto& row : ratios) x.push_back(row[i]);
    per_rep.push_back(geometric_mean(x));
  }
  return repetition_median(per_rep);
}

Result<DeviceScore> device_score(const DeviceMeasurement& device, const Reference& reference) {
  DeviceScore d;
  d.id = device.id;
  d.kind = device.kind;
  d.cores = device.cores;
  if (device.workloads.empty()) return usage_error("device " + device.id + " has no workload results");
  std::vector<double> scores, weights;
  for (const auto& w : device.workloads) {
    Result<double> s = workload_score(w, reference);
    if (!s) return s.error();
    d.workloads[w.workload] = *s;
    scores.push_back(*s);
    auto wt = reference.weights.find(w.workload);
    weights.push_back(wt == reference.weights.end() ? 1.0 : wt->second);
  }
  d.score = weighted_geometric_mean(scores, weights) * reference.scaling;
  return d;
}

NodeScores node_scores(const std::vector<DeviceScore>& devices) {
  NodeScores n;
  n.devices = devices;
  int cores = 0;
  for (const auto& d : devices) {
    if (d.kind == "gpu") {
      n.gpu_node = n.gpu_node.value_or(0) + d.score;
    } else {
      n.cpu_node = n.cpu_node.value_or(0) + d.score;
      cores += d.cores;
    }
  }
  if (n.cpu_node && cores > 0) n.cpu_per_core = *n.cpu_node / cores;
  if (n.gpu_node || n.cpu_node) n.node = n.gpu_node.value_or(0) + n.cpu_node.value_or(0);
  return n;
}

std::string config_hash(const json& config) {
  // nlohmann::json (not ordered_json) sorts keys: the same configuration hashes
  // the same whatever order its keys were written in.
  const std::string canonical = nlohmann::json::parse(config.dump()).dump();
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : canonical) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json reference_block(const Reference& r) {
  return json{{"name", r.name},         {"file", r.file},   {"provisional", r.provisional},
              {"derived_from", r.derived_from}, {"date", r.date}, {"gpukit_version", r.gpukit_version},
              {"scaling", r.scaling}};
}

}  // namespace

Result<json> score_document(const std::vector<DeviceMeasurement>& devices, const Reference& reference,
                            const json& config) {
  json out;
  out["generator"] = generator_stamp("gpubench");
  out["config"] = config;
  out["config_hash"] = config_hash(config);
  out["reference"] = reference_block(reference);
  out["method"] =
      "per repetition the geometric mean over sub-results of throughput/reference; per workload the median over "
      "repetitions; per device the weighted geometric mean over workloads times scaling";
  std::vector<DeviceScore> scores;
  json jd = json::array();
  for (const auto& d : devices) {
    Result<DeviceScore> s = device_score(d, reference);
    if (!s) return s.error();
    json dev{{"id", d.id}, {"name", d.name}, {"kind", d.kind}, {"platform", d.platform},
             {"cores", d.kind == "cpu" ? json(d.cores) : json(nullptr)}};
    json jw = json::array();
    for (const auto& w : d.workloads) {
      json results = json::array();
      for (const auto& [key, values] : w.throughput) {
        const double ref = reference.values.at(w.workload).at(key);
        const double med = median(values);
        results.push_back(json{{"key", key}, {"throughput", values}, {"median", med}, {"reference", ref},
                               {"ratio", med / ref}});
      }
      auto unit = reference.units.find(w.workload);
      auto weight = reference.weights.find(w.workload);
      jw.push_back(json{{"name", w.workload},
                        {"unit", unit == reference.units.end() ? json(nullptr) : json(unit->second)},
                        {"weight", weight == reference.weights.end() ? 1.0 : weight->second},
                        {"results", results},
                        {"score", s->workloads.at(w.workload)}});
    }
    dev["workloads"] = jw;
    dev["score"] = s->score;
    jd.push_back(dev);
    scores.push_back(*s);
  }
  out["devices"] = jd;
  const NodeScores n = node_scores(scores);
  json per_device = json::array();
  for (const auto& s : n.devices)
    if (s.kind == "gpu") per_device.push_back(json{{"id", s.id}, {"score", s.score}});
  out["scores"] = json{{"gpu_per_device", per_device},
                       {"gpu_node", optional_number(n.gpu_node)},
                       {"cpu_node", optional_number(n.cpu_node)},
                       {"cpu_per_core", optional_number(n.cpu_per_core)},
                       {"node", optional_number(n.node)}};
  return out;
}

Result<std::vector<DeviceMeasurement>> measurements_from_document(const json& scored, const std::string& origin) {
  if (!scored.is_object() || !scored.contains("devices") || !scored["devices"].is_array())
    return bad(origin, "$.devices", "missing or not an array");
  std::vector<DeviceMeasurement> devices;
  std::size_t i = 0;
  for (const auto& d : scored["devices"]) {
    const std::string path = "$.devices[" + std::to_string(i++) + "]";
    if (!d.is_object() || !d.contains("id") || !d["id"].is_string() || !d.contains("kind") ||
        !d["kind"].is_string() || !d.contains("workloads") || !d["workloads"].is_array())
      return bad(origin, path, "needs string id and kind and a workloads array");
    DeviceMeasurement m;
    m.id = d["id"].get<std::string>();
    m.kind = d["kind"].get<std::string>();
    m.name = d.value("name", "");
    m.platform = d.value("platform", "");
    if (d.contains("cores") && d["cores"].is_number_integer()) m.cores = d["cores"].get<int>();
    std::size_t k = 0;
    for (const auto& w : d["workloads"]) {
      const std::string wpath = path + ".workloads[" + std::to_string(k++) + "]";
      if (!w.is_object() || !w.contains("name") || !w["name"].is_string() || !w.contains("results") ||
          !w["results"].is_array())
        return bad(origin, wpath, "needs a string name and a results array");
      WorkloadMeasurement wm;
      wm.workload = w["name"].get<std::string>();
      for (const auto& r : w["results"]) {
        if (!r.is_object() || !r.contains("key") || !r["key"].is_string() || !r.contains("throughput") ||
            !r["throughput"].is_array())
          return bad(origin, wpath + ".results", "each result needs a string key and a throughput array");
        std::vector<double> values;
        for (const auto& v : r["throughput"]) {
          if (!v.is_number()) return bad(origin, wpath + ".results", "throughputs must be numbers");
          values.push_back(v.get<double>());
        }
        wm.throughput[r["key"].get<std::string>()] = std::move(values);
      }
      m.workloads.push_back(std::move(wm));
    }
    devices.push_back(std::move(m));
  }
  return devices;
}

Result<json> rescore(const json& scored, const Reference& reference) {
  Result<std::vector<DeviceMeasurement>> devices = measurements_from_document(scored, "<scored document>");
  if (!devices) return devices.error();
  const json config = scored.contains("config") ? scored["config"] : json::object();
  Result<json> out = score_document(*devices, reference, config);
  if (!out) return out.error();
  // The measurement's own hash stays: it identifies what was run, not how it is scored.
  if (scored.contains("config_hash")) (*out)["config_hash"] = scored["config_hash"];
  if (scored.contains("generator")) (*out)["measured_by"] = scored["generator"];
  return out;
}

}  // namespace gpukit::hep
