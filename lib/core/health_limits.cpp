#include "core/health_limits.hpp"

#include <cstdlib>

#include "core/document.hpp"
#include "core/io.hpp"
#include "core/paths.hpp"

namespace gpukit {

namespace {

// Typed reads of checks.<check>.<key>, each error naming the file and path.
class LimitReader {
 public:
  LimitReader(const json& checks, const std::map<std::string, std::string>& origins)
      : checks_(checks), origins_(origins) {}

  Result<double> number(const char* check, const char* key) const {
    auto v = find(check, key);
    if (!v) return v.error();
    if (!(*v)->is_number() || (*v)->get<double>() < 0) return wrong(check, key, "a number >= 0", **v);
    return (*v)->get<double>();
  }
  Result<std::string> verdict(const char* check, const char* key) const {
    auto v = find(check, key);
    if (!v) return v.error();
    if (!(*v)->is_string() || ((**v) != "fail" && (**v) != "warn")) return wrong(check, key, "\"fail\" or \"warn\"", **v);
    return (*v)->get<std::string>();
  }
  Result<std::vector<std::string>> strings(const char* check, const char* key) const {
    auto v = find(check, key);
    if (!v) return v.error();
    std::vector<std::string> out;
    if (!(*v)->is_array()) return wrong(check, key, "an array of strings", **v);
    for (const auto& s : **v) {
      if (!s.is_string()) return wrong(check, key, "an array of strings", **v);
      out.push_back(s.get<std::string>());
    }
    return out;
  }

 private:
  std::string origin(const char* check) const {
    auto it = origins_.find(check);
    return it == origins_.end() ? "health thresholds" : it->second;
  }
  Result<const json*> find(const char* check, const char* key) const {
    auto c = checks_.find(check);
    if (c == checks_.end() || !c->is_object() || !c->contains(key))
      return environment_error("missing", origin(check) + ": /checks/" + check + "/" + key);
    return &(*c)[key];
  }
  Error wrong(const char* check, const char* key, const std::string& want, const json& found) const {
    return usage_error("expected " + want + ", found " + json_type_name(found),
                       origin(check) + ": /checks/" + check + "/" + key);
  }

  const json& checks_;
  const std::map<std::string, std::string>& origins_;
};

#define GPUKIT_LIMIT(target, expr)       \
  do {                                   \
    auto r_ = (expr);                    \
    if (!r_) return r_.error();          \
    (target) = std::move(*r_);           \
  } while (0)

Result<HealthLimits> read_limits(const json& checks, const std::map<std::string, std::string>& origins) {
  LimitReader r(checks, origins);
  HealthLimits l;
  GPUKIT_LIMIT(l.retired_pages_fail_at, r.number("retired_pages", "fail_at_or_above"));
  GPUKIT_LIMIT(l.ecc_volatile_fail_above, r.number("ecc_uncorrected_volatile", "fail_above"));
  GPUKIT_LIMIT(l.ecc_aggregate_warn_above, r.number("ecc_uncorrected_aggregate", "warn_above"));
  GPUKIT_LIMIT(l.pcie_replay_warn_above, r.number("pcie_replay", "warn_above"));
  GPUKIT_LIMIT(l.pcie_width_below_max, r.verdict("pcie_link", "width_below_max"));
  GPUKIT_LIMIT(l.pcie_generation_below_max, r.verdict("pcie_link", "generation_below_max"));
  double mask = 0;
  GPUKIT_LIMIT(mask, r.number("clocks_event_reasons", "fail_mask"));
  l.clocks_fail_mask = static_cast<unsigned long long>(mask);
  GPUKIT_LIMIT(mask, r.number("clocks_event_reasons", "warn_mask"));
  l.clocks_warn_mask = static_cast<unsigned long long>(mask);
  GPUKIT_LIMIT(l.persistence_disabled, r.verdict("persistence_mode", "disabled"));
  GPUKIT_LIMIT(l.xid_wait_s, r.number("xid_critical", "wait_s"));
  GPUKIT_LIMIT(l.xid_fail_above, r.number("xid_critical", "fail_above"));
  GPUKIT_LIMIT(l.cuda_environment, r.strings("cuda_environment", "variables"));
  GPUKIT_LIMIT(l.cuda_environment_set, r.verdict("cuda_environment", "set"));
  GPUKIT_LIMIT(l.amd_bad_pages_fail_at, r.number("amd_bad_pages", "fail_at_or_above"));
  GPUKIT_LIMIT(l.amd_ecc_fail_above, r.number("amd_ecc_uncorrected", "fail_above"));
  GPUKIT_LIMIT(l.transfer_warn_below_fraction, r.number("transfer_bandwidth", "warn_below_fraction"));
  GPUKIT_LIMIT(l.sm_clock_warn_below_fraction, r.number("sm_clock_under_load", "warn_below_fraction"));
  GPUKIT_LIMIT(l.memory_fail_above_errors, r.number("memory_test", "fail_above_errors"));
  GPUKIT_LIMIT(l.memory_usable_fraction, r.number("memory_test", "usable_fraction"));
  // The wait adds to every --health run: a long one is a mistake, not a policy.
  if (l.xid_wait_s > 1) return usage_error("expected at most 1 (second)", "/checks/xid_critical/wait_s");
  for (const auto& [name, entry] : checks.items()) {
    const auto s = entry.is_object() ? entry.find("source") : entry.end();
    std::string text = s != entry.end() && s->is_string() ? s->get<std::string>() : "";
    auto o = origins.find(name);
    l.sources[name] = o != origins.end() && o->second.rfind("site", 0) == 0 ? o->second + (text.empty() ? "" : "; " + text)
                                                                            : text;
  }
  return l;
}

#undef GPUKIT_LIMIT

Result<json> checks_of(const std::string& text, const std::string& origin) {
  auto root = parse_json(text, origin);
  if (!root) return root.error();
  if (!root->is_object()) return usage_error("expected an object", origin + ": /");
  auto it = root->find("checks");
  if (it == root->end() || !it->is_object()) return usage_error("expected an object", origin + ": /checks");
  for (const auto& [name, entry] : it->items())
    if (!entry.is_object())
      return usage_error(std::string("expected an object, found ") + json_type_name(entry), origin + ": /checks/" + name);
  return *it;
}

}  // namespace

std::string HealthLimits::source(const std::string& check) const {
  auto it = sources.find(check);
  return it == sources.end() ? "" : it->second;
}

Result<HealthLimits> parse_health_limits(const std::string& shipped, const std::string& shipped_origin,
                                         const std::string& site, const std::string& site_origin) {
  auto checks = checks_of(shipped, shipped_origin);
  if (!checks) return Error{ExitCode::environment, checks.error().message, checks.error().context};
  std::map<std::string, std::string> origins;
  for (const auto& [name, entry] : checks->items()) origins[name] = shipped_origin;
  if (!site.empty()) {
    auto extra = checks_of(site, site_origin);
    if (!extra) return extra.error();
    for (const auto& [name, entry] : extra->items()) {
      json merged = checks->contains(name) ? (*checks)[name] : json::object();
      for (const auto& [key, value] : entry.items()) merged[key] = value;
      (*checks)[name] = std::move(merged);
      origins[name] = "site: " + site_origin;
    }
  }
  return read_limits(*checks, origins);
}

Result<HealthLimits> load_health_limits() {
  auto path = data_file("health-thresholds.json");
  if (!path) return path.error();
  auto shipped = read_input_file(*path);
  if (!shipped) return Error{ExitCode::environment, shipped.error().message, shipped.error().context};
  std::string site, site_origin;
  if (const char* file = std::getenv("GPUKIT_SITE_HEALTH"); file && *file) {
    auto text = read_input_file(file);
    if (!text) return Error{text.error().code, text.error().message, "GPUKIT_SITE_HEALTH=" + text.error().context};
    site = std::move(*text);
    site_origin = file;
  }
  return parse_health_limits(*shipped, *path, site, site_origin);
}

}  // namespace gpukit
