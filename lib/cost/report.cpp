#include "cost/report.hpp"
#include "core/text_escape.hpp"

#include <cmath>
#include <cstdio>

#include "core/table.hpp"
#include "cost/inputs.hpp"

namespace gpukit {

std::string format_number(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "-" : (v > 0 ? "inf" : "-inf");
  char buf[48];
  double a = std::fabs(v);
  if (a >= 1000) std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 100) std::snprintf(buf, sizeof buf, "%.1f", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

namespace {

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f %%", fraction * 100);
  return buf;
}

json or_null(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json range_json(const Quantity& q) {
  return q.range ? json::array({q.range->first, q.range->second}) : json(nullptr);
}

json cost_json(const CostParts& c) {
  return json::object({{"capital", c.capital},
                       {"energy", c.energy},
                       {"maintenance", c.maintenance},
                       {"hosting", c.hosting},
                       {"failures", c.failures},
                       {"total", c.total()}});
}

json carbon_json(const CarbonParts& c) {
  return json::object({{"operational", c.operational}, {"embodied", c.embodied}, {"total", c.total()}});
}

json per_hour_json(const PerScoreHour& p) {
  return json::object({{"score", p.score},
                       {"score_hours_per_year", p.score_hours_per_year},
                       {"cost", cost_json(p.cost)},
                       {"energy_kwh", p.energy_kwh},
                       {"carbon_g", carbon_json(p.carbon_g)}});
}

json option_json(const OptionResult& o, const NodeInput* node) {
  const NodeCost& c = o.cost;
  json hw = json::object();
  if (node) {
    json gpus = json::array();
    for (const auto& g : node->gpus)
      gpus.push_back({{"id", g.id},
                      {"name", g.name},
                      {"architecture", g.architecture.empty() ? json(nullptr) : json(g.architecture)},
                      {"count", g.count},
                      {"tdp_w", or_null(g.tdp_w)},
                      {"measured_power_w", or_null(g.measured_w)},
                      {"end_of_support", g.end_of_support ? json(format_year_month(*g.end_of_support)) : json(nullptr)}});
    hw = {{"cpu_model", node->cpu_model.empty() ? json(nullptr) : json(node->cpu_model)},
          {"sockets", node->sockets},
          {"cores", node->cores},
          {"memory_gb", node->memory_gb},
          {"gpus", gpus}};
  }
  const Lifetime& l = c.lifetime;
  json per_score = json::object();
  for (const auto& f : o.per_score) {
    if (f.figures) {
      json j = per_hour_json(*f.figures);
      j["score_source"] = f.source;
      per_score[f.kind] = j;
    } else {
      per_score[f.kind] = {{"score", nullptr}, {"reason", f.reason}};
    }
  }
  json per_unit;
  if (o.per_unit) {
    per_unit = per_hour_json(*o.per_unit);
    per_unit["score_source"] = o.score_source;
    per_unit["node_speedup"] = or_null(o.node_speedup);
    per_unit["offload_speedup"] = or_null(o.offload_speedup);
  } else {
    per_unit = {{"score", nullptr}, {"reason", o.reason}};
  }
  return json::object(
      {{"label", o.label},
       {"has_gpus", o.has_gpus},
       {"hardware", hw},
       {"purchase", {{"host", c.host_price}, {"gpus", c.gpu_price}, {"gpu_cards", c.card_price}, {"total", c.purchase_price}}},
       {"power",
        {{"gpu_load_w", c.power.gpu_load_w},
         {"gpu_idle_w", c.power.gpu_idle_w},
         {"cpu_load_w", c.power.cpu_load_w},
         {"cpu_idle_w", c.power.cpu_idle_w},
         {"memory_w", c.power.memory_w},
         {"average_w", c.power.average_w},
         {"gpu_source", c.power.gpu_source},
         {"cpu_source", c.power.cpu_source}}},
       {"utilisation", c.utilisation},
       {"useful_lifetime",
        {{"years", l.years},
         {"bound_by", l.bound_by},
         {"physical_years", l.physical_years},
         {"support_years", or_null(l.support_years)},
         {"support_end", l.support_end ? json(format_year_month(*l.support_end)) : json(nullptr)},
         {"support_model", l.support_model.empty() ? json(nullptr) : json(l.support_model)}}},
       {"embodied_kg", c.embodied_kg},
       {"annual", {{"cost", cost_json(c.annual)}, {"energy_kwh", c.annual_energy_kwh}, {"carbon_kg", carbon_json(c.annual_carbon_kg)}}},
       {"lifetime",
        {{"cost", cost_json(c.annual.scaled(l.years))},
         {"energy_kwh", c.annual_energy_kwh * l.years},
         {"carbon_kg", carbon_json(c.annual_carbon_kg.scaled(l.years))}}},
       {"per_score_hour", per_score},
       {"per_unit", per_unit},
       {"nodes_for_throughput", o.per_unit ? json(o.nodes_for_throughput) : json(nullptr)}});
}

const NodeInput* node_for(const Inputs& in, const OptionResult& o) {
  for (const auto& n : in.nodes)
    if (n.label == o.label) return &n;
  for (const auto& n : in.nodes)
    if (o.label == n.label + " without GPUs") return &n;
  return nullptr;
}

std::string money(const CostResults& r, double v) { return format_number(v) + " " + r.inputs.currency; }

}  // namespace

std::vector<std::string> input_notes(const Inputs& in, const Decision& d) {
  std::vector<std::string> notes;
  for (const auto& n : in.nodes)
    if (!n.host_price && !n.node_price)
      notes.push_back(n.label + ": the host price comes from the component model (platform " +
                      format_number(in.site_value("host_platform_price_usd")) +
                      " USD, an estimate without a public source): give nodes." + n.label +
                      ".price in the site file for a procurement decision");
  for (const auto& [id, q] : in.gpu_prices)
    if (q.origin == "catalogue" && q.range)
      notes.push_back(id + ": the card price is the midpoint of the catalogue's street-price range");
  for (const auto& o : d.options)
    if (!o.per_unit) notes.push_back(o.label + ": no cost per unit: " + o.reason);
  return notes;
}

std::string decision_summary(const CostResults& r) {
  const Decision& d = r.decision;
  const std::string unit = std::string(metric_name(d.metric)) + " score-hour";
  if (!d.cheapest) return "No option has a score, so there is no cost per unit of work; see the annual costs.";
  const OptionResult& best = d.options[*d.cheapest];
  std::string s;
  std::optional<size_t> second;
  for (size_t i = 0; i < d.options.size(); ++i)
    if (i != *d.cheapest && d.options[i].per_unit &&
        (!second || d.options[i].per_unit->cost.total() < d.options[*second].per_unit->cost.total()))
      second = i;
  if (!second) {
    s = best.label + " costs " + money(r, best.per_unit->cost.total()) + " per " + unit + ".";
  } else {
    const OptionResult& other = d.options[*second];
    double ratio = other.per_unit->cost.total() / best.per_unit->cost.total();
    s = best.label + " is cheaper per " + unit + ": " + money(r, best.per_unit->cost.total()) + " against " +
        money(r, other.per_unit->cost.total()) + " for " + other.label + " (" + format_number(ratio) + "x).";
  }
  for (const auto& b : r.break_even) {
    if (b.node_speedup_needed && b.max_node_speedup) {
      s += " " + b.option + " breaks even at a node speedup of " + format_number(*b.node_speedup_needed);
      if (b.offload_speedup_needed) s += " (offload speedup " + format_number(*b.offload_speedup_needed) + ")";
      else s += ", beyond the " + format_number(*b.max_node_speedup) + " that an offload fraction of " +
                format_number(d.offload_fraction) + " allows";
      s += ".";
    }
  }
  if (second) {
    s += r.sensitivity.flips ? " A -/+" + percent(r.sensitivity.variation) + " change of one input can flip the answer."
                             : " No single input moved by -/+" + percent(r.sensitivity.variation) + " flips it.";
    if (r.monte_carlo && r.monte_carlo->samples > r.monte_carlo->failed) {
      size_t i = *d.cheapest;
      s += " Over the documented ranges " + best.label + " is cheapest in " +
           percent(r.monte_carlo->p_cheapest[i]) + " of " + std::to_string(r.monte_carlo->samples) + " draws.";
    }
  }
  return s;
}

json cost_section(const CostResults& r) {
  const Inputs& in = r.inputs;
  json params = json::object();
  for (const auto& key : site_parameter_keys()) {
    const Quantity& q = in.site.at(key);
    params[key] = {{"value", q.value}, {"unit", q.unit}, {"range", range_json(q)}, {"origin", q.origin}, {"source", q.source}};
  }
  json prices = json::object();
  for (const auto& [id, q] : in.gpu_prices)
    prices[id] = {{"value", q.value},
                  {"currency", q.in_usd ? std::string("USD") : in.currency},
                  {"range", range_json(q)},
                  {"origin", q.origin},
                  {"source", q.source}};
  json options = json::array();
  for (const auto& o : r.decision.options) options.push_back(option_json(o, node_for(in, o)));

  json breaks = json::array();
  for (const auto& b : r.break_even)
    breaks.push_back({{"option", b.option},
                      {"reference", b.reference},
                      {"cost_per_unit", b.cost_per_unit},
                      {"reference_cost_per_unit", b.reference_cost_per_unit},
                      {"node_speedup_needed", or_null(b.node_speedup_needed)},
                      {"max_node_speedup", or_null(b.max_node_speedup)},
                      {"offload_speedup_needed", or_null(b.offload_speedup_needed)},
                      {"offload_speedup_note", b.offload_speedup_note.empty() ? json(nullptr) : json(b.offload_speedup_note)},
                      {"utilisation_needed", or_null(b.utilisation_needed)},
                      {"utilisation_note", b.utilisation_note.empty() ? json(nullptr) : json(b.utilisation_note)},
                      {"price_factor", or_null(b.price_factor)},
                      {"price_basis", b.price_basis.empty() ? json(nullptr) : json(b.price_basis)},
                      {"price_note", b.price_note.empty() ? json(nullptr) : json(b.price_note)}});

  const Sensitivity& s = r.sensitivity;
  json rows = json::array();
  for (const auto& row : s.rows)
    rows.push_back({{"input", row.input},
                    {"unit", row.unit},
                    {"base", row.base},
                    {"low", row.low},
                    {"high", row.high},
                    {"value_low", row.value_low},
                    {"value_high", row.value_high},
                    {"cheapest_low", row.cheapest_low.empty() ? json(nullptr) : json(row.cheapest_low)},
                    {"cheapest_high", row.cheapest_high.empty() ? json(nullptr) : json(row.cheapest_high)},
                    {"flips", row.flips}});
  json sensitivity = {{"variation", s.variation},
                      {"value_name", s.value_name},
                      {"value_is_ratio", s.is_ratio},
                      {"base_value", s.base_value},
                      {"base_cheapest", s.base_cheapest.empty() ? json(nullptr) : json(s.base_cheapest)},
                      {"flips", s.flips},
                      {"rows", rows}};

  json mc = nullptr;
  if (r.monte_carlo) {
    const MonteCarlo& m = *r.monte_carlo;
    auto pct = [](const Percentiles& p) { return json{{"p5", p.p5}, {"p50", p.p50}, {"p95", p.p95}}; };
    json p_cheapest = json::object(), per_unit = json::object();
    for (size_t i = 0; i < m.labels.size(); ++i) {
      p_cheapest[m.labels[i]] = m.p_cheapest[i];
      per_unit[m.labels[i]] = m.cost_per_unit[i] ? pct(*m.cost_per_unit[i]) : json(nullptr);
    }
    mc = {{"samples", m.samples},
          {"seed", m.seed},
          {"failed", m.failed},
          {"distribution", "triangular(low, value, high) over each documented range"},
          {"varied", m.varied},
          {"p_cheapest", p_cheapest},
          {"cost_per_unit", per_unit},
          {"value_name", m.value_name},
          {"value", m.value ? pct(*m.value) : json(nullptr)}};
  }

  const Decision& d = r.decision;
  return json::object(
      {{"generator", generator_stamp("gpucost")},
       {"currency", in.currency},
       {"purchase_date", format_year_month(in.purchase)},
       {"country", in.country.empty() ? json(nullptr) : json(in.country)},
       {"site", r.site_origin},
       {"metric", metric_name(d.metric)},
       {"metric_reason", d.metric_reason},
       {"offload_fraction", d.offload_fraction},
       {"parameters", params},
       {"gpu_prices", prices},
       {"options", options},
       {"decision",
        {{"cheapest", d.cheapest ? json(d.options[*d.cheapest].label) : json(nullptr)},
         {"throughput_score_hours_per_year", d.throughput},
         {"summary", decision_summary(r)}}},
       {"break_even", breaks},
       {"sensitivity", sensitivity},
       {"monte_carlo", mc},
       {"notes", r.notes}});
}

std::string cost_table(const CostResults& r) {
  const Inputs& in = r.inputs;
  const Decision& d = r.decision;
  std::string out;
  out += "gpucost: cost of ownership per unit of work (" + in.currency + ", purchase " + format_year_month(in.purchase) +
         ", site " + r.site_origin + (in.country.empty() ? "" : ", grid " + in.country) + ")\n";
  out += "unit of work: " + std::string(metric_name(d.metric)) + " score-hour";
  if (d.metric == Metric::workflow) out += " (CPU score x Amdahl node speedup, offload fraction " + format_number(d.offload_fraction) + ")";
  out += "\n\n";

  Table options({"option", "purchase", "lifetime", "power W", "annual", "score", "per score-h", "capital", "energy",
                 "maint.", "hosting", "failures", "kWh/score-h", "gCO2e/score-h"});
  for (const auto& o : d.options) {
    const NodeCost& c = o.cost;
    std::string life = format_number(c.lifetime.years) + " y " +
                       (c.lifetime.bound_by == "physical" ? "physical" : "support");
    std::vector<std::string> row = {o.label, format_number(c.purchase_price), life, format_number(c.power.average_w),
                                    format_number(c.annual.total())};
    if (o.per_unit) {
      const PerScoreHour& p = *o.per_unit;
      for (double v : {p.score, p.cost.total(), p.cost.capital, p.cost.energy, p.cost.maintenance, p.cost.hosting,
                       p.cost.failures, p.energy_kwh, p.carbon_g.total()})
        row.push_back(format_number(v));
    } else {
      for (int i = 0; i < 9; ++i) row.push_back("-");
    }
    options.add_row(row);
  }
  out += options.render() + "\n";
  out += decision_summary(r) + "\n";

  if (!r.break_even.empty()) {
    out += "\nbreak-even against the cheapest option without GPUs:\n";
    for (const auto& b : r.break_even) {
      out += "  " + b.option + " vs " + b.reference + ":";
      if (b.node_speedup_needed) {
        out += " node speedup " + format_number(*b.node_speedup_needed) + " (max " + format_number(*b.max_node_speedup) + ")";
        out += b.offload_speedup_needed ? ", offload speedup " + format_number(*b.offload_speedup_needed) : ", unreachable";
        out += ";";
      }
      out += b.utilisation_needed ? " utilisation " + percent(*b.utilisation_needed) + ";" : " utilisation: " + b.utilisation_note + ";";
      const std::string what = b.price_basis == "node" ? "node price" : "GPU price";
      out += b.price_factor ? " " + what + " x" + format_number(*b.price_factor) : " " + what + ": " + b.price_note;
      out += "\n";
    }
  }

  const Sensitivity& s = r.sensitivity;
  out += "\nsensitivity: each input -/+" + percent(s.variation) + "; value = " + s.value_name + " (base " +
         format_number(s.base_value) + ")\n";
  Table tornado({"input", "unit", "low", "high", "value at low", "value at high", "cheapest at low", "cheapest at high",
                 "flips"});
  int shown = 0;
  for (const auto& row : s.rows) {
    if (row.swing() == 0 || shown >= 15) continue;
    ++shown;
    tornado.add_row({row.input, row.unit.empty() ? "-" : row.unit, format_number(row.low), format_number(row.high), format_number(row.value_low),
                     format_number(row.value_high), row.cheapest_low.empty() ? "-" : row.cheapest_low,
                     row.cheapest_high.empty() ? "-" : row.cheapest_high, row.flips ? "yes" : "no"});
  }
  out += tornado.render();

  if (r.monte_carlo) {
    const MonteCarlo& m = *r.monte_carlo;
    out += "\nMonte Carlo: " + std::to_string(m.samples) + " draws, seed " + std::to_string(m.seed) + ", " +
           std::to_string(m.varied.size()) + " inputs drawn from their ranges";
    if (m.failed) out += ", " + std::to_string(m.failed) + " rejected";
    out += "\n";
    Table t({"option", "P(cheapest)", "per score-h p5", "p50", "p95"});
    for (size_t i = 0; i < m.labels.size(); ++i) {
      std::vector<std::string> row = {m.labels[i], format_number(m.p_cheapest[i])};
      if (m.cost_per_unit[i]) {
        for (double v : {m.cost_per_unit[i]->p5, m.cost_per_unit[i]->p50, m.cost_per_unit[i]->p95})
          row.push_back(format_number(v));
      } else {
        row.insert(row.end(), {"-", "-", "-"});
      }
      t.add_row(row);
    }
    out += t.render();
  }
  if (!r.notes.empty()) {
    out += "\nnotes:\n";
    for (const auto& n : r.notes) out += "  - " + n + "\n";
  }
  return out;
}

namespace {

std::string csv_number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string cost_csv(const CostResults& r) {
  const Decision& d = r.decision;
  std::string out =
      "option,metric,score,score_source,cost_per_score_hour,capital,energy,maintenance,hosting,failures,"
      "energy_kwh_per_score_hour,carbon_g_per_score_hour,operational_g,embodied_g,annual_cost,purchase_price,"
      "useful_lifetime_years,lifetime_bound_by,nodes_for_throughput,cheapest,currency\n";
  for (size_t i = 0; i < d.options.size(); ++i) {
    const auto& o = d.options[i];
    std::vector<std::string> cells = {csv_field(o.label), metric_name(d.metric)};
    if (o.per_unit) {
      const PerScoreHour& p = *o.per_unit;
      cells.push_back(csv_number(p.score));
      cells.push_back(csv_field(o.score_source));
      for (double v : {p.cost.total(), p.cost.capital, p.cost.energy, p.cost.maintenance, p.cost.hosting,
                       p.cost.failures, p.energy_kwh, p.carbon_g.total(), p.carbon_g.operational, p.carbon_g.embodied})
        cells.push_back(csv_number(v));
    } else {
      cells.insert(cells.end(), 12, "");
    }
    cells.push_back(csv_number(o.cost.annual.total()));
    cells.push_back(csv_number(o.cost.purchase_price));
    cells.push_back(csv_number(o.cost.lifetime.years));
    cells.push_back(o.cost.lifetime.bound_by);
    cells.push_back(o.per_unit ? csv_number(o.nodes_for_throughput) : "");
    cells.push_back(d.cheapest && *d.cheapest == i ? "yes" : "no");
    cells.push_back(r.inputs.currency);
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) line += (c ? "," : "") + cells[c];
    out += line + "\n";
  }
  return out;
}

}  // namespace gpukit
