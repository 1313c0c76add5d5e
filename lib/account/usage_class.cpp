#include "account/usage_class.hpp"

#include <algorithm>
#include <cmath>

#include "core/io.hpp"
#include "core/paths.hpp"

namespace gpukit {

const std::vector<ActivityField>& activity_fields() {
  static const std::vector<ActivityField> fields = {
      {"sm_active_pct", &ActivityMeans::sm_active_pct},
      {"sm_occupancy_pct", &ActivityMeans::sm_occupancy_pct},
      {"tensor_active_pct", &ActivityMeans::tensor_active_pct},
      {"tensor_dfma_active_pct", &ActivityMeans::tensor_dfma_active_pct},
      {"fp64_active_pct", &ActivityMeans::fp64_active_pct},
      {"fp32_active_pct", &ActivityMeans::fp32_active_pct},
      {"fp16_active_pct", &ActivityMeans::fp16_active_pct},
      {"dram_active_pct", &ActivityMeans::dram_active_pct},
      {"pcie_tx_bytes_per_s", &ActivityMeans::pcie_tx_bytes_per_s},
      {"pcie_rx_bytes_per_s", &ActivityMeans::pcie_rx_bytes_per_s},
  };
  return fields;
}

json activity_to_json(const ActivityMeans& means) {
  json j = json::object();
  for (const auto& f : activity_fields()) {
    const auto& v = means.*(f.member);
    j[f.key] = v ? json(std::round(*v * 100) / 100) : json(nullptr);
  }
  return j;
}

Result<ActivityMeans> activity_from_json(const json& value, const std::string& path) {
  if (!value.is_object()) return usage_error(std::string("expected an object, found ") + json_type_name(value), path);
  ActivityMeans m;
  for (const auto& f : activity_fields()) {
    auto it = value.find(f.key);
    if (it == value.end() || it->is_null()) continue;
    if (!it->is_number()) return usage_error(std::string("expected a number or null, found ") + json_type_name(*it), path + "/" + f.key);
    m.*(f.member) = it->get<double>();
  }
  return m;
}

std::optional<PrecisionActivity> precision_activity(const ActivityMeans& m) {
  if (!m.fp64_active_pct && !m.fp32_active_pct && !m.fp16_active_pct && !m.tensor_active_pct) return std::nullopt;
  PrecisionActivity p;
  double dfma = m.tensor_dfma_active_pct.value_or(0);
  p.fp64_pct = m.fp64_active_pct.value_or(0) + dfma;
  p.fp32_pct = m.fp32_active_pct.value_or(0);
  p.fp16_pct = m.fp16_active_pct.value_or(0);
  // Any-tensor includes DFMA tensor work, counted as FP64 above.
  p.tensor_pct = std::max(0.0, m.tensor_active_pct.value_or(0) - dfma);
  return p;
}

namespace {

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& f : activity_fields()) n.push_back(f.key);
    for (const char* extra : {"utilization_pct", "pipes_active_pct", "fp64_share", "fp32_share", "fp16_share", "tensor_share"})
      n.push_back(extra);
    return n;
  }();
  return names;
}

std::map<std::string, double> metric_values(const std::optional<ActivityMeans>& means, std::optional<double> utilization_pct) {
  std::map<std::string, double> v;
  if (utilization_pct) v["utilization_pct"] = *utilization_pct;
  if (!means) return v;
  for (const auto& f : activity_fields())
    if (const auto& x = (*means).*(f.member)) v[f.key] = *x;
  if (auto p = precision_activity(*means)) {
    double sum = p->sum();
    v["pipes_active_pct"] = sum;
    // All four pipes idle: no share is dominant.
    if (sum > 0) {
      v["fp64_share"] = p->fp64_pct / sum;
      v["fp32_share"] = p->fp32_pct / sum;
      v["fp16_share"] = p->fp16_pct / sum;
      v["tensor_share"] = p->tensor_pct / sum;
    }
  }
  return v;
}

bool has_gpm(const std::optional<ActivityMeans>& means) {
  if (!means) return false;
  for (const auto& f : activity_fields())
    if ((*means).*(f.member)) return true;
  return false;
}

Result<std::map<std::string, double>> parse_thresholds(const json& value, const std::string& origin) {
  std::map<std::string, double> out;
  if (!value.is_object()) return usage_error("must be an object of name: number", origin + ": thresholds");
  for (const auto& [name, v] : value.items()) {
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      return usage_error(std::string("expected a number, found ") + json_type_name(v), origin + ": thresholds." + name);
    out[name] = v.get<double>();
  }
  return out;
}

}  // namespace

Result<UsageClassRules> UsageClassRules::parse(const json& rules, const std::string& origin, const json* overrides,
                                               const std::string& override_origin) {
  UsageClassRules r;
  if (!rules.is_object()) return usage_error("expected an object", origin);
  r.source_ = rules.contains("source") && rules["source"].is_string() ? rules["source"].get<std::string>() : origin;
  if (auto it = rules.find("thresholds"); it != rules.end()) {
    auto t = parse_thresholds(*it, origin);
    if (!t) return t.error();
    r.thresholds_ = *t;
  }
  if (overrides) {
    if (!overrides->is_object() || !overrides->contains("thresholds"))
      return usage_error("expected an object with \"thresholds\"", override_origin);
    auto t = parse_thresholds((*overrides)["thresholds"], override_origin);
    if (!t) return t.error();
    for (const auto& [name, v] : *t) {
      if (!r.thresholds_.count(name))
        return usage_error("no rule uses this threshold", override_origin + ": thresholds." + name);
      r.thresholds_[name] = v;
    }
  }
  auto rules_it = rules.find("rules");
  if (rules_it == rules.end() || !rules_it->is_array()) return usage_error("expected an array", origin + ": rules");
  for (std::size_t i = 0; i < rules_it->size(); ++i) {
    const json& row = (*rules_it)[i];
    std::string at = origin + ": rules[" + std::to_string(i) + "]";
    if (!row.is_object() || !row.contains("class") || !row["class"].is_string() || !row.contains("basis") ||
        !row["basis"].is_string() || !row.contains("when") || !row["when"].is_array())
      return usage_error("expected {\"class\": string, \"basis\": string, \"when\": [...]}", at);
    Rule rule{row["class"].get<std::string>(), row["basis"].get<std::string>(), {}};
    const auto& names = usage_class_names();
    if (std::find(names.begin(), names.end(), rule.name) == names.end())
      return usage_error("unknown class \"" + rule.name + "\"", at + ".class");
    if (rule.basis != "gpm" && rule.basis != "utilization")
      return usage_error("must be \"gpm\" or \"utilization\"", at + ".basis");
    for (std::size_t k = 0; k < row["when"].size(); ++k) {
      const json& c = row["when"][k];
      std::string cat = at + ".when[" + std::to_string(k) + "]";
      if (!c.is_object() || !c.contains("metric") || !c["metric"].is_string())
        return usage_error("expected {\"metric\": name, \"below\" or \"at_least\": threshold}", cat);
      Condition cond;
      cond.metric = c["metric"].get<std::string>();
      const auto& metrics = known_metrics();
      if (std::find(metrics.begin(), metrics.end(), cond.metric) == metrics.end())
        return usage_error("unknown metric \"" + cond.metric + "\"", cat + ".metric");
      cond.below = c.contains("below");
      const json* t = cond.below ? &c["below"] : c.contains("at_least") ? &c["at_least"] : nullptr;
      if (!t) return usage_error("needs \"below\" or \"at_least\"", cat);
      if (t->is_number()) {
        cond.threshold = t->get<double>();
      } else if (t->is_string() && r.thresholds_.count(t->get<std::string>())) {
        cond.threshold = r.thresholds_.at(t->get<std::string>());
      } else {
        return usage_error("must be a number or the name of a threshold", cat);
      }
      rule.when.push_back(cond);
    }
    r.rules_.push_back(std::move(rule));
  }
  return r;
}

Result<UsageClassRules> UsageClassRules::load(const std::optional<std::string>& override_path) {
  auto path = data_file("usage-classes.json");
  if (!path) return path.error();
  auto text = read_input_file(*path);
  if (!text) return text.error();
  auto rules = parse_json(*text, *path);
  if (!rules) return rules.error();
  if (!override_path) return parse(*rules, *path);
  auto otext = read_input_file(*override_path);
  if (!otext) return otext.error();
  auto overrides = parse_json(*otext, *override_path);
  if (!overrides) return overrides.error();
  return parse(*rules, *path, &*overrides, *override_path);
}

UsageClass UsageClassRules::classify(const std::optional<ActivityMeans>& means, std::optional<double> utilization_pct) const {
  std::string basis = has_gpm(means) ? "gpm" : utilization_pct ? "utilization" : "none";
  if (basis == "none") return {"unknown", basis};
  auto values = metric_values(means, utilization_pct);
  for (const auto& rule : rules_) {
    if (rule.basis != basis) continue;
    bool all = std::all_of(rule.when.begin(), rule.when.end(), [&](const Condition& c) {
      auto it = values.find(c.metric);
      if (it == values.end()) return false;
      return c.below ? it->second < c.threshold : it->second >= c.threshold;
    });
    if (all) return {rule.name, basis};
  }
  return {basis == "gpm" ? "mixed" : "unknown", basis};
}

}  // namespace gpukit
