#include "cost/model.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <ctime>

#include "core/units.hpp"

namespace gpukit {

double capital_recovery_factor(double rate, double years) {
  if (years <= 0) return std::numeric_limits<double>::infinity();
  if (rate == 0) return 1.0 / years;
  double growth = std::pow(1 + rate, years);
  return rate * growth / (growth - 1);
}

double amdahl_speedup(double fraction, double speedup) { return 1.0 / ((1 - fraction) + fraction / speedup); }

std::optional<double> offload_speedup_for(double fraction, double node_speedup) {
  double left = 1.0 / node_speedup - (1 - fraction);
  if (left <= 0 || fraction <= 0) return std::nullopt;
  return fraction / left;
}

double average_power_w(double idle_w, double load_w, double utilisation) {
  return idle_w + utilisation * (load_w - idle_w);
}

GreenAlgorithmsResult green_algorithms(const GreenAlgorithmsJob& job) {
  GreenAlgorithmsResult r;
  r.power_w = job.pue * (job.cores * job.core_power_w * job.cpu_usage + job.gpus * job.gpu_power_w * job.gpu_usage +
                         job.memory_gb * green_algorithms_memory_w_per_gb);
  r.energy_kwh = job.runtime_h * r.power_w / 1000;
  r.carbon_g = r.energy_kwh * job.carbon_intensity_g_per_kwh;
  return r;
}

Result<YearMonth> parse_year_month(std::string_view text) {
  auto bad = [&] { return usage_error("\"" + std::string(text) + "\" is not a month; expected YYYY-MM"); };
  if (text.size() != 7 || text[4] != '-') return bad();
  for (size_t i : {0, 1, 2, 3, 5, 6})
    if (text[i] < '0' || text[i] > '9') return bad();
  YearMonth ym;
  ym.year = parse_integer<int>(text.substr(0, 4)).value_or(0);
  ym.month = parse_integer<int>(text.substr(5, 2)).value_or(0);
  if (ym.month < 1 || ym.month > 12) return bad();
  return ym;
}

std::string format_year_month(YearMonth ym) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", ym.year, ym.month);
  return buf;
}

double years_between(YearMonth from, YearMonth to) {
  return ((to.year - from.year) * 12 + (to.month - from.month)) / 12.0;
}

YearMonth current_year_month() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  return {tm.tm_year + 1900, tm.tm_mon + 1};
}

int NodeInput::gpu_count() const {
  int n = 0;
  for (const auto& g : gpus) n += g.count;
  return n;
}

double Inputs::site_value(const std::string& key) const {
  auto it = site.find(key);
  assert(it != site.end());
  return it->second.value;
}

double Inputs::money(const Quantity& q) const {
  return q.in_usd ? q.value * site_value("usd_exchange_rate") : q.value;
}

double host_component_price(const Inputs& in, const NodeInput& node) {
  double usd = in.site_value("host_platform_price_usd") + in.site_value("cpu_price_per_core_usd") * node.cores +
               in.site_value("memory_price_per_gb_usd") * node.memory_gb;
  return usd * in.site_value("usd_exchange_rate");
}

namespace {

Lifetime useful_lifetime(const Inputs& in, const NodeInput& node) {
  Lifetime life;
  life.physical_years = in.site_value("lifetime_years");
  life.years = life.physical_years;
  life.bound_by = "physical";
  for (const auto& g : node.gpus) {
    if (!g.end_of_support) continue;
    double support = years_between(in.purchase, *g.end_of_support);
    if (!life.support_years || support < *life.support_years) {
      life.support_years = support;
      life.support_end = g.end_of_support;
      life.support_model = g.id;
    }
  }
  if (life.support_years && *life.support_years < life.years) {
    life.years = *life.support_years;
    life.bound_by = "software_support";
  }
  return life;
}

}  // namespace

Result<NodeCost> evaluate_node(const Inputs& in, const NodeInput& node, std::optional<double> utilisation) {
  NodeCost c;
  const double u = utilisation.value_or(in.site_value("utilisation"));
  c.utilisation = u;
  c.lifetime = useful_lifetime(in, node);
  if (c.lifetime.years <= 0)
    return usage_error("software support for " + c.lifetime.support_model + " ended " +
                           format_year_month(*c.lifetime.support_end) + ", before the purchase date " +
                           format_year_month(in.purchase) +
                           ": no useful lifetime left (set purchase_date to when the node was bought)",
                       node.label);

  // Prices.
  const double fx = in.site_value("usd_exchange_rate");
  for (const auto& g : node.gpus) {
    auto price = in.gpu_prices.find(g.id);
    if (price == in.gpu_prices.end())
      return usage_error("no price for GPU model " + g.id + " (give prices." + g.id + " in the site file)", node.label);
    double card = in.money(price->second);
    c.card_price += g.count * card;
    c.gpu_price += g.count * (card + in.site_value("gpu_slot_price_usd") * fx);
  }
  if (node.node_price) {
    // An offer's total stays what it is; the GPU prices only split it and price failures.
    c.fixed_price = true;
    c.purchase_price = in.money(*node.node_price);
    c.host_price = std::max(0.0, c.purchase_price - c.gpu_price);
  } else {
    c.host_price = node.host_price ? in.money(*node.host_price) : host_component_price(in, node);
    c.purchase_price = c.host_price + c.gpu_price;
  }

  // Power: measured at full load when bench has it, else TDP; idle is a fixed
  // fraction of full load (Cloud Carbon Footprint), memory draws all the time
  // (Green Algorithms).
  PowerModel& p = c.power;
  const double gpu_idle = in.site_value("gpu_idle_power_fraction");
  bool measured_all = !node.gpus.empty(), measured_any = false;
  for (const auto& g : node.gpus) {
    double load;
    if (g.measured_w) {
      load = *g.measured_w;
      measured_any = true;
    } else if (g.tdp_w) {
      load = g.count * *g.tdp_w;
      measured_all = false;
    } else {
      return usage_error("GPU model " + g.id + " has no TDP in the catalogue and no measured power (give gpu_tdp_w." +
                             g.id + " in the site file)",
                         node.label);
    }
    p.gpu_load_w += load;
    p.gpu_idle_w += gpu_idle * load;
  }
  p.gpu_source = node.gpus.empty() ? "none" : measured_all ? "measured" : measured_any ? "measured and tdp" : "tdp";
  p.cpu_load_w = node.measured_cpu_w ? *node.measured_cpu_w : node.cores * in.site_value("cpu_power_per_core_w");
  p.cpu_source = node.measured_cpu_w ? "measured" : "per-core model";
  p.cpu_idle_w = in.site_value("cpu_idle_power_fraction") * p.cpu_load_w;
  p.memory_w = node.memory_gb * in.site_value("memory_power_w_per_gb");
  p.average_w =
      average_power_w(p.gpu_idle_w, p.gpu_load_w, u) + average_power_w(p.cpu_idle_w, p.cpu_load_w, u) + p.memory_w;

  // Energy and money per year.
  const double pue = in.site_value("pue");
  const double price_kwh = in.site_value("electricity_price_per_kwh");
  const double kwh_per_w = hours_per_year / 1000 * pue;  // facility kWh per year per IT watt
  c.annual_energy_kwh = p.average_w * kwh_per_w;
  c.energy_cost_base = (p.gpu_idle_w + p.cpu_idle_w + p.memory_w) * kwh_per_w * price_kwh;
  c.energy_cost_per_utilisation = (p.gpu_load_w - p.gpu_idle_w + p.cpu_load_w - p.cpu_idle_w) * kwh_per_w * price_kwh;

  const double years = c.lifetime.years;
  const double failure_rate = in.site_value("gpu_failure_rate_per_year");
  c.annual.capital = c.purchase_price * capital_recovery_factor(in.site_value("discount_rate"), years);
  c.annual.energy = c.annual_energy_kwh * price_kwh;
  c.annual.maintenance = in.site_value("maintenance_fraction_per_year") * c.purchase_price;
  c.annual.hosting = in.site_value("hosting_fraction") * c.purchase_price / years;
  c.annual.failures = failure_rate * c.card_price;

  // Carbon: operational from the grid, embodied from manufacturing spread over
  // the useful lifetime, plus the cards that replace failed ones.
  const double gpu_default_kg = in.site_value("gpu_embodied_kg");
  double gpu_kg = 0;
  for (const auto& g : node.gpus) {
    auto e = in.gpu_embodied.find(g.id);
    gpu_kg += g.count * (e != in.gpu_embodied.end() ? e->second.value : gpu_default_kg);
  }
  c.embodied_kg = in.site_value("server_embodied_kg") + in.site_value("socket_embodied_kg") * (node.sockets - 1) +
                  in.site_value("memory_embodied_kg_per_gb") * std::max(0.0, node.memory_gb - 16) +
                  in.site_value("storage_embodied_kg") + gpu_kg;
  c.annual_carbon_kg.operational = c.annual_energy_kwh * in.site_value("carbon_intensity_g_per_kwh") / 1000;
  c.annual_carbon_kg.embodied = c.embodied_kg / years + failure_rate * gpu_kg;
  return c;
}

PerScoreHour per_score_hour(const NodeCost& c, double score) {
  PerScoreHour r;
  r.score = score;
  r.score_hours_per_year = score * c.utilisation * hours_per_year;
  const double per = r.score_hours_per_year > 0 ? 1.0 / r.score_hours_per_year : 0;
  r.cost = c.annual.scaled(per);
  r.energy_kwh = c.annual_energy_kwh * per;
  r.carbon_g = c.annual_carbon_kg.scaled(1000 * per);
  return r;
}

}  // namespace gpukit
