#include "cost/inputs.hpp"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "core/io.hpp"
#include "core/node.hpp"
#include "core/paths.hpp"

namespace gpukit {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// The valid domain of each site parameter. The keys are the model's; the values
// and their sources live in cost-defaults.json.
struct KeySpec {
  const char* key;
  double min;
  double max;
  bool min_open;  // min itself is not allowed
};

constexpr KeySpec key_specs[] = {
    {"electricity_price_per_kwh", 0, inf, false},
    {"pue", 1, inf, false},
    {"lifetime_years", 0, inf, true},
    {"utilisation", 0, 1, true},
    {"maintenance_fraction_per_year", 0, 1, false},
    {"hosting_fraction", 0, inf, false},
    {"gpu_failure_rate_per_year", 0, 1, false},
    {"discount_rate", 0, 1, false},
    {"usd_exchange_rate", 0, inf, true},
    {"offload_fraction", 0, 1, false},
    {"workflow_read_gb_per_unit", 0, inf, false},
    {"gpu_idle_power_fraction", 0, 1, false},
    {"cpu_idle_power_fraction", 0, 1, false},
    {"cpu_power_per_core_w", 0, inf, false},
    {"memory_power_w_per_gb", 0, inf, false},
    {"cpu_price_per_core_usd", 0, inf, false},
    {"memory_price_per_gb_usd", 0, inf, false},
    {"host_platform_price_usd", 0, inf, false},
    {"gpu_slot_price_usd", 0, inf, false},
    {"carbon_intensity_g_per_kwh", 0, inf, false},
    {"server_embodied_kg", 0, inf, false},
    {"socket_embodied_kg", 0, inf, false},
    {"memory_embodied_kg_per_gb", 0, inf, false},
    {"storage_embodied_kg", 0, inf, false},
    {"gpu_embodied_kg", 0, inf, false},
};

constexpr KeySpec non_negative{"", 0, inf, false};
constexpr KeySpec positive{"", 0, inf, true};

const KeySpec* spec_of(const std::string& key) {
  for (const auto& s : key_specs)
    if (key == s.key) return &s;
  return nullptr;
}

std::string number_text(double v) {
  if (std::isinf(v)) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string domain_text(const KeySpec& s) {
  if (std::isinf(s.max)) return std::string(s.min_open ? "> " : ">= ") + number_text(s.min);
  return std::string("in ") + (s.min_open ? "(" : "[") + number_text(s.min) + ", " + number_text(s.max) + "]";
}

bool in_domain(const KeySpec& s, double v) {
  if (!std::isfinite(v)) return false;
  if (s.min_open ? v <= s.min : v < s.min) return false;
  return v <= s.max;
}

std::string shown(const json& v) {
  std::string s = dump_json(v);
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

// A number for site key `spec`, or a usage error naming `context`.
Result<double> site_number(const json& v, const KeySpec& spec, const std::string& context) {
  if (!v.is_number())
    return usage_error("must be a number " + domain_text(spec) + ", found " + json_type_name(v) + " " + shown(v), context);
  double d = v.get<double>();
  if (!in_domain(spec, d)) return usage_error("must be " + domain_text(spec) + ", found " + shown(v), context);
  return d;
}

Result<double> positive_number(const json& v, const std::string& context) { return site_number(v, positive, context); }

Result<json> read_json_file(const std::string& path) {
  auto text = read_input_file(path);
  if (!text) return text.error();
  auto parsed = parse_json(*text, path);
  if (!parsed) return parsed.error();
  json v = std::move(*parsed);
  if (!v.is_object()) return usage_error(std::string("expected a JSON object, found ") + json_type_name(v), path);
  return v;
}

// [low, high], or nothing when `v` is not a pair of numbers.
std::optional<std::pair<double, double>> number_pair(const json& v) {
  if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number()) return std::nullopt;
  return std::make_pair(v[0].get<double>(), v[1].get<double>());
}

std::optional<std::pair<double, double>> read_range(const json& entry) {
  auto it = entry.find("range");
  return it == entry.end() ? std::nullopt : number_pair(*it);
}

struct Country {
  double value = 0;
  std::optional<std::pair<double, double>> range;
  std::string source;
};

Result<Country> country_row(const std::string& table_path, const std::string& code, const std::string& context) {
  auto table = read_json_file(table_path);
  if (!table) return table.error();
  const json& countries = (*table)["countries"];
  if (!countries.is_object()) return usage_error("no 'countries' object", table_path);
  std::string upper = code;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto it = countries.find(upper);
  if (it == countries.end())
    return usage_error("unknown country code \"" + code + "\" (the codes are the keys of " + table_path + ")", context);
  const json& row = *it;
  if (!row.contains("value") || !row["value"].is_number()) return usage_error("no numeric value", table_path + ": " + upper);
  Country c;
  c.value = row["value"].get<double>();
  c.range = read_range(row);
  std::string sources;
  if (row.contains("values") && row["values"].is_array())
    for (const auto& v : row["values"]) {
      if (!sources.empty()) sources += "; ";
      sources += v.value("source", std::string("?")) + " (" + std::to_string(v.value("year", 0)) + "): " +
                 number_text(v.value("g_per_kwh", 0.0));
    }
  c.source = row.value("name", upper) + ": " + sources;
  return c;
}

Status set_country(Inputs& in, const CostDataFiles& files, const std::string& code, const std::string& context) {
  auto row = country_row(files.carbon_intensity, code, context);
  if (!row) return row.error();
  Quantity& q = in.site["carbon_intensity_g_per_kwh"];
  q.value = row->value;
  q.range = row->range;
  q.source = row->source;
  q.origin = "country table";
  in.country = code;
  return {};
}

// The catalogue entries by id (hardware.json).
Result<std::map<std::string, json>> load_catalogue(const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) return doc.error();
  auto it = doc->find("entries");
  if (it == doc->end() || !it->is_array()) return usage_error("no 'entries' array", path);
  std::map<std::string, json> byid;
  for (const auto& e : *it)
    if (e.is_object() && e.contains("id") && e["id"].is_string()) byid[e["id"].get<std::string>()] = e;
  return byid;
}

std::optional<double> number_field(const json& obj, const char* key) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string string_field(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string label_of(const InputDocument& d, const NodeModel& model) {
  if (model.host && model.host->hostname && !model.host->hostname->empty()) return *model.host->hostname;
  if (d.origin.empty() || d.origin == "<stdin>") return "node";
  return std::filesystem::path(d.origin).stem().string();
}

// A score in the bench section: absent or null is "not measured"; anything
// else must be a positive number.
Result<std::optional<double>> bench_score(const std::optional<double>& score, const char* key, const std::string& context) {
  if (!score) return std::optional<double>();
  if (!in_domain(positive, *score))
    return usage_error("must be " + domain_text(positive) + ", found " + number_text(*score), context + ": /bench/scores/" + key);
  return score;
}

Quantity score_quantity(double value, const std::string& origin, const std::string& source) {
  Quantity q;
  q.value = value;
  q.min = 0;
  q.unit = "score";
  q.origin = origin;
  q.source = source;
  return q;
}

Status read_cpu_and_memory(NodeInput& node, const NodeModel& model, const std::string& where) {
  if (!model.cpu) return usage_error("missing: the cost model needs the gpuprobe sections (run gpuprobe first)", where + ": /cpu");
  const NodeCpu& cpu = *model.cpu;
  if (!cpu.sockets || *cpu.sockets < 1) return usage_error("must be a number >= 1", where + ": /cpu/sockets");
  if (!cpu.cores || *cpu.cores < 1) return usage_error("must be a number >= 1", where + ": /cpu/cores");
  node.sockets = static_cast<int>(*cpu.sockets);
  node.cores = static_cast<int>(*cpu.cores);
  node.cpu_model = cpu.model.value_or("");
  if (!model.memory || !model.memory->total_bytes)
    return usage_error("missing or not a number >= 0", where + ": /memory/total_bytes");
  // GiB: DIMMs are sold in binary gigabytes, and the per-GB prices and powers count them so.
  node.memory_gb = static_cast<double>(*model.memory->total_bytes) / double(1ULL << 30);
  return {};
}

// Full-load power measured by gpubench: GPUs by id, and the CPU.
std::map<std::string, double> measured_power(NodeInput& node, const std::optional<BenchView>& bench) {
  std::map<std::string, double> measured;  // device id -> full-load power
  if (!bench) return measured;
  for (const auto& dev : bench->devices) {
    if (!dev.power_w_mean || *dev.power_w_mean <= 0) continue;
    if (dev.kind == "cpu") node.measured_cpu_w = *dev.power_w_mean;
    else if (dev.kind == "gpu") measured[dev.id.value_or("")] = *dev.power_w_mean;
  }
  return measured;
}

Result<GpuGroup> new_group(const std::string& id, const NodeGpu& g, const std::map<std::string, json>& catalogue) {
  GpuGroup group;
  group.id = id;
  group.name = g.name.value_or("");
  auto entry = catalogue.find(id);
  const json& e = entry != catalogue.end() ? entry->second : g.catalogue;
  group.architecture = string_field(e, "architecture");
  group.tdp_w = number_field(e, "tdp_w");
  if (!group.tdp_w) group.tdp_w = number_field(g.catalogue, "tdp_w");
  if (std::string eos = string_field(e, "end_of_support"); !eos.empty()) {
    auto ym = parse_year_month(eos);
    if (!ym) return usage_error(ym.error().message, "hardware.json: " + id + ": end_of_support");
    group.end_of_support = *ym;
  }
  return group;
}

// The node's GPUs grouped by model, with their measured power when every GPU
// of the model was measured (a partial sum would undercount).
Status read_gpus(NodeInput& node, const NodeModel& model, const std::map<std::string, double>& measured,
                 const std::map<std::string, json>& catalogue, const std::string& where) {
  if (!model.gpus) return usage_error("missing: the cost model needs the gpuprobe sections (run gpuprobe first)", where + ": /gpus");
  std::map<std::string, size_t> group_of;
  std::map<std::string, bool> all_measured;
  for (size_t i = 0; i < model.gpus->size(); ++i) {
    const NodeGpu& g = (*model.gpus)[i];
    std::string id = string_field(g.catalogue, "id");
    if (id.empty()) id = g.name.value_or("");
    if (id.empty()) return usage_error("a GPU without a name or catalogue id", where + ": /gpus/" + std::to_string(i));
    auto [it, fresh] = group_of.try_emplace(id, node.gpus.size());
    if (fresh) {
      auto group = new_group(id, g, catalogue);
      if (!group) return group.error();
      node.gpus.push_back(std::move(*group));
      all_measured[id] = true;
    }
    GpuGroup& group = node.gpus[it->second];
    ++group.count;
    auto m = measured.find(g.uuid.value_or(""));
    if (m != measured.end()) group.measured_w = group.measured_w.value_or(0) + m->second;
    else all_measured[id] = false;
  }
  for (auto& g : node.gpus)
    if (!all_measured[g.id]) g.measured_w.reset();
  return {};
}

Status read_scores(NodeInput& node, const BenchView& bench, const std::string& where) {
  if (!bench.has_scores) return {};
  std::string ref = bench.reference.value_or("");
  std::string suffix = ref.empty() ? "" : " (reference " + ref + ")";
  auto gpu = bench_score(bench.gpu_node, "gpu_node", where);
  if (!gpu) return gpu.error();
  auto cpu_s = bench_score(bench.cpu_node, "cpu_node", where);
  if (!cpu_s) return cpu_s.error();
  auto node_s = bench_score(bench.node, "node", where);
  if (!node_s) return node_s.error();
  if (*gpu && !node.gpus.empty()) node.gpu_score = score_quantity(**gpu, "bench", "bench.scores.gpu_node" + suffix);
  if (*cpu_s) node.cpu_score = score_quantity(**cpu_s, "bench", "bench.scores.cpu_node" + suffix);
  if (*node_s) node.node_score = score_quantity(**node_s, "bench", "bench.scores.node" + suffix);
  if (node.gpu_score && node.cpu_score) {
    Quantity s = score_quantity(node.gpu_score->value / node.cpu_score->value, "bench",
                                "bench.scores.gpu_node / bench.scores.cpu_node: the node's GPUs against its CPUs");
    s.unit = "x";
    node.speedup = s;
  }
  return {};
}

Result<NodeInput> node_from_document(const InputDocument& d, const std::map<std::string, json>& catalogue) {
  const std::string& where = d.origin;
  auto model = read_node_model(d.document, where);
  if (!model) return model.error();
  auto bench = read_bench_view(d.document, where);
  if (!bench) return bench.error();
  NodeInput node;
  node.label = label_of(d, *model);
  if (auto st = read_cpu_and_memory(node, *model, where); !st) return st.error();
  const auto measured = measured_power(node, *bench);
  if (auto st = read_gpus(node, *model, measured, catalogue, where); !st) return st.error();
  if (*bench) {
    if (auto st = read_scores(node, **bench, where); !st) return st.error();
    for (const auto& r : (*bench)->node_results)
      if (r.workload == "storage_read" && r.status == "ok" && r.value && *r.value > 0) node.storage_read_gbs = *r.value;
  }
  return node;
}

Quantity price_from_catalogue(const json& e) {
  Quantity q;
  q.in_usd = true;
  q.unit = "USD per card";
  q.origin = "catalogue";
  std::string source = string_field(e, "source");
  if (auto r = number_pair(e.value("price_usd_range", json()))) {
    q.value = (r->first + r->second) / 2;
    q.range = r;
    q.source = "hardware.json price_usd_range (street prices; value = midpoint): " + source;
  } else if (auto launch = number_field(e, "launch_price_usd")) {
    q.value = *launch;
    q.source = "hardware.json launch_price_usd: " + source;
  } else {
    q.value = -1;  // no price: load_inputs reports it
  }
  return q;
}

Status apply_node_overrides(Inputs& in, NodeInput& node, const json& v, const std::string& ctx) {
  if (!v.is_object()) return usage_error(std::string("must be an object, found ") + json_type_name(v), ctx);
  for (const auto& [key, value] : v.items()) {
    const std::string here = ctx + "/" + key;
    if (key == "price" || key == "host_price") {
      auto price = site_number(value, non_negative, here);
      if (!price) return price.error();
      double host = *price;
      if (key == "price") {
        // Checked once here so that a node price below its own GPUs is caught as bad input.
        const double fx = in.site_value("usd_exchange_rate");
        for (const auto& g : node.gpus) {
          auto p = in.gpu_prices.find(g.id);
          if (p == in.gpu_prices.end() || p->second.value < 0)
            return usage_error("no price for GPU model " + g.id + " to subtract (give prices." + g.id + ")", here);
          host -= g.count * (in.money(p->second) + in.site_value("gpu_slot_price_usd") * fx);
        }
        if (host < 0)
          return usage_error("is lower than the node's GPUs at their prices (" + number_text(*price - host) + ")", here);
      }
      Quantity q;
      q.value = *price;
      q.unit = in.currency;
      q.origin = "site";
      q.source = "site file nodes." + node.label + "." + key;
      (key == "price" ? node.node_price : node.host_price) = q;
    } else if (key == "scores") {
      if (!value.is_object()) return usage_error(std::string("must be an object, found ") + json_type_name(value), here);
      for (const auto& [kind, score] : value.items()) {
        auto s = positive_number(score, here + "/" + kind);
        if (!s) return s.error();
        Quantity q = score_quantity(*s, "site", "site file nodes." + node.label + ".scores." + kind);
        if (kind == "gpu") node.gpu_score = q;
        else if (kind == "cpu") node.cpu_score = q;
        else if (kind == "node") node.node_score = q;
        else return usage_error("unknown score kind (gpu, cpu or node)", here + "/" + kind);
      }
    } else if (key == "speedup") {
      auto s = positive_number(value, here);
      if (!s) return s.error();
      Quantity q = score_quantity(*s, "site", "site file nodes." + node.label + ".speedup");
      q.unit = "x";
      node.speedup = q;
    } else {
      return usage_error("unknown key (price, host_price, scores, speedup)", here);
    }
  }
  return {};
}

}  // namespace

const std::vector<std::string>& site_parameter_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& s : key_specs) k.push_back(s.key);
    return k;
  }();
  return keys;
}

Result<CostDataFiles> installed_cost_data() {
  CostDataFiles f;
  auto d = data_file("cost-defaults.json");
  if (!d) return d.error();
  auto c = data_file("carbon-intensity.json");
  if (!c) return c.error();
  auto h = data_file("hardware.json");
  if (!h) return h.error();
  return CostDataFiles{*d, *c, *h};
}

Result<Inputs> load_defaults(const CostDataFiles& files) {
  auto doc = read_json_file(files.defaults);
  if (!doc) return doc.error();
  const std::string& path = files.defaults;
  Inputs in;
  in.purchase = current_year_month();
  const json& currency = (*doc)["currency"];
  if (!currency.is_object() || !currency.contains("value") || !currency["value"].is_string())
    return usage_error("missing or not {\"value\": \"XXX\"}", path + ": /currency");
  in.currency = currency["value"].get<std::string>();
  const json& params = (*doc)["parameters"];
  if (!params.is_object()) return usage_error("missing or not an object", path + ": /parameters");
  for (const auto& spec : key_specs) {
    const std::string ctx = path + ": /parameters/" + spec.key;
    auto it = params.find(spec.key);
    if (it == params.end() || !it->is_object()) return usage_error("missing", ctx);
    auto v = site_number(it->value("value", json()), spec, ctx + "/value");
    if (!v) return v.error();
    std::string source = string_field(*it, "source");
    if (source.empty() || !number_field(*it, "year")) return usage_error("needs a source and a year", ctx);
    Quantity q;
    q.value = *v;
    q.range = read_range(*it);
    q.min = spec.min;
    q.max = spec.max;
    q.unit = string_field(*it, "unit");
    if (auto pos = q.unit.find("currency"); pos != std::string::npos) q.unit.replace(pos, 8, in.currency);
    q.source = source + " (" + std::to_string(static_cast<int>(*number_field(*it, "year"))) + ")";
    q.origin = "default";
    in.site[spec.key] = q;
  }
  const json& country = (*doc)["country"];
  if (country.is_object() && country.contains("value") && country["value"].is_string())
    in.country = country["value"].get<std::string>();
  return in;
}

Result<Inputs> load_inputs(const std::vector<InputDocument>& documents, const std::optional<std::string>& site_path,
                           const CommandLineValues& cli, const CostDataFiles& files) {
  auto loaded = load_defaults(files);
  if (!loaded) return loaded.error();
  Inputs in = std::move(*loaded);
  const std::string default_currency = in.currency;
  if (!in.country.empty()) {
    auto st = set_country(in, files, in.country, files.defaults + ": /country");
    if (!st) return st.error();
  }

  json site = json::object();
  std::string site_name = "site";
  if (site_path) {
    auto s = read_json_file(*site_path);
    if (!s) return s.error();
    site = std::move(*s);
    site_name = *site_path;
  }
  auto at = [&](const std::string& key) { return site_name + ": /" + key; };

  // Scalars first: prices and per-node values below depend on the currency.
  std::set<std::string> given;
  for (const auto& [key, value] : site.items()) {
    if (key == "currency") {
      if (!value.is_string() || value.get<std::string>().size() != 3)
        return usage_error("must be a three-letter currency code, found " + shown(value), at(key));
      in.currency = value.get<std::string>();
    } else if (key == "country") {
      if (!value.is_string()) return usage_error("must be a country code, found " + shown(value), at(key));
      auto st = set_country(in, files, value.get<std::string>(), at(key));
      if (!st) return st.error();
    } else if (key == "purchase_date") {
      if (!value.is_string()) return usage_error("must be \"YYYY-MM\", found " + shown(value), at(key));
      auto ym = parse_year_month(value.get<std::string>());
      if (!ym) return usage_error(ym.error().message, at(key));
      in.purchase = *ym;
    } else if (const KeySpec* spec = spec_of(key)) {
      auto v = site_number(value, *spec, at(key));
      if (!v) return v.error();
      Quantity& q = in.site[key];
      q.value = *v;
      q.range.reset();  // the site knows its own number; "ranges" may give it a spread
      q.origin = "site";
      q.source = "site file " + site_name;
      given.insert(key);
    } else if (key != "prices" && key != "gpu_tdp_w" && key != "nodes" && key != "ranges" && key != "description") {
      return usage_error("unknown key (see man gpucost for the site parameters)", at(key));
    }
  }
  if (in.currency != default_currency) {
    for (auto& [key, q] : in.site)
      if (auto pos = q.unit.find(default_currency); pos != std::string::npos) q.unit.replace(pos, 3, in.currency);
    if (in.currency == "USD" && !given.count("usd_exchange_rate")) {
      in.site["usd_exchange_rate"].value = 1;
      in.site["usd_exchange_rate"].range.reset();
      in.site["usd_exchange_rate"].origin = "site";
      in.site["usd_exchange_rate"].source = "currency USD";
      given.insert("usd_exchange_rate");
    }
    for (const char* key : {"usd_exchange_rate", "electricity_price_per_kwh"})
      if (!given.count(key))
        return usage_error("required when the currency is " + in.currency + " (the defaults are in " +
                               default_currency + ")",
                           at(key));
  }
  if (site.contains("ranges")) {
    const json& ranges = site["ranges"];
    if (!ranges.is_object()) return usage_error(std::string("must be an object, found ") + json_type_name(ranges), at("ranges"));
    for (const auto& [key, r] : ranges.items()) {
      const std::string ctx = at("ranges/" + key);
      const KeySpec* spec = spec_of(key);
      if (!spec) return usage_error("not a site parameter", ctx);
      if (!r.is_array() || r.size() != 2) return usage_error("must be [low, high]", ctx);
      auto lo = site_number(r[0], *spec, ctx + "/0");
      if (!lo) return lo.error();
      auto hi = site_number(r[1], *spec, ctx + "/1");
      if (!hi) return hi.error();
      double v = in.site[key].value;
      if (*lo > v || v > *hi)
        return usage_error("must hold the value " + number_text(v) + " (low <= value <= high)", ctx);
      in.site[key].range = std::make_pair(*lo, *hi);
    }
  }

  // Documents and the catalogue.
  auto catalogue = load_catalogue(files.hardware);
  if (!catalogue) return catalogue.error();
  std::map<std::string, int> label_count;
  for (const auto& d : documents) {
    auto node = node_from_document(d, *catalogue);
    if (!node) return node.error();
    int n = ++label_count[node->label];
    if (n > 1) node->label += " (" + std::to_string(n) + ")";
    in.nodes.push_back(std::move(*node));
  }
  std::set<std::string> models;
  for (const auto& n : in.nodes)
    for (const auto& g : n.gpus) models.insert(g.id);

  // GPU prices: the site's, else the catalogue's.
  if (site.contains("prices")) {
    const json& prices = site["prices"];
    if (!prices.is_object()) return usage_error(std::string("must be an object, found ") + json_type_name(prices), at("prices"));
    for (const auto& [id, value] : prices.items()) {
      const std::string ctx = at("prices/" + id);
      if (!models.count(id) && !catalogue->count(id))
        return usage_error("not a GPU model of the input nodes nor a catalogue id", ctx);
      auto v = site_number(value, non_negative, ctx);
      if (!v) return v.error();
      Quantity q;
      q.value = *v;
      q.unit = in.currency + " per card";
      q.origin = "site";
      q.source = "site file " + site_name;
      in.gpu_prices[id] = q;
    }
  }
  for (const auto& id : models) {
    auto entry = catalogue->find(id);
    if (entry != catalogue->end()) {
      if (!in.gpu_prices.count(id)) {
        Quantity q = price_from_catalogue(entry->second);
        if (q.value >= 0) in.gpu_prices[id] = q;
      }
      if (auto kg = number_field(entry->second, "embodied_carbon_kg")) {
        Quantity e;
        e.value = *kg;
        e.unit = "kgCO2e per card";
        e.origin = "catalogue";
        e.source = "hardware.json embodied_carbon_kg: " + string_field(entry->second, "source");
        in.gpu_embodied[id] = e;
      }
    }
    if (!in.gpu_prices.count(id))
      return usage_error("no price for GPU model " + id + " in the catalogue (give it in the site file)",
                         at("prices/" + id));
  }
  if (site.contains("gpu_tdp_w")) {
    const json& tdps = site["gpu_tdp_w"];
    if (!tdps.is_object()) return usage_error(std::string("must be an object, found ") + json_type_name(tdps), at("gpu_tdp_w"));
    for (const auto& [id, value] : tdps.items()) {
      const std::string ctx = at("gpu_tdp_w/" + id);
      if (!models.count(id)) return usage_error("not a GPU model of the input nodes", ctx);
      auto w = positive_number(value, ctx);
      if (!w) return w.error();
      for (auto& n : in.nodes)
        for (auto& g : n.gpus)
          if (g.id == id) g.tdp_w = *w;
    }
  }
  for (const auto& n : in.nodes)
    for (const auto& g : n.gpus)
      if (!g.tdp_w && !g.measured_w)
        return usage_error("GPU model " + g.id + " has no TDP in the catalogue and no measured power (give it here)",
                           at("gpu_tdp_w/" + g.id));

  if (site.contains("nodes")) {
    const json& nodes = site["nodes"];
    if (!nodes.is_object()) return usage_error(std::string("must be an object, found ") + json_type_name(nodes), at("nodes"));
    for (const auto& [label, v] : nodes.items()) {
      NodeInput* node = nullptr;
      for (auto& n : in.nodes)
        if (n.label == label) node = &n;
      if (!node) {
        std::string labels;
        for (const auto& n : in.nodes) labels += (labels.empty() ? "" : ", ") + n.label;
        return usage_error("no input node has this label (labels: " + labels + ")", at("nodes/" + label));
      }
      auto st = apply_node_overrides(in, *node, v, at("nodes/" + label));
      if (!st) return st.error();
    }
  }

  // The command line last.
  auto option = [](double v, const char* flag) {
    Quantity q = score_quantity(v, "option", std::string(flag));
    return q;
  };
  for (auto& n : in.nodes) {
    if (cli.gpu_score && !n.gpus.empty()) n.gpu_score = option(*cli.gpu_score, "--gpu-score");
    if (cli.cpu_score) n.cpu_score = option(*cli.cpu_score, "--cpu-score");
    if (cli.node_score) n.node_score = option(*cli.node_score, "--node-score");
    if (cli.speedup && !n.gpus.empty()) {
      n.speedup = option(*cli.speedup, "--speedup");
      n.speedup->unit = "x";
    }
  }
  if (cli.offload_fraction) {
    Quantity& q = in.site["offload_fraction"];
    q.value = *cli.offload_fraction;
    q.range.reset();
    q.origin = "option";
    q.source = "--offload-fraction";
  }
  return in;
}

}  // namespace gpukit
