// The cost and carbon model of gpucost: the formulas, and one node's annual
// cost, energy and carbon from its inputs. No JSON here: inputs.hpp builds the
// inputs from documents and site files, report.hpp writes the results.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace gpukit {

// 365.25 days: a lifetime of whole years includes its leap days.
inline constexpr double hours_per_year = 8766.0;

// The share of a purchase price paid each year when it is spread over `years`
// as an annuity at discount `rate`: r(1+r)^L / ((1+r)^L - 1); 1/L when r = 0.
double capital_recovery_factor(double rate, double years);

// Node speedup when a fraction f of the work runs s times faster: 1/((1-f)+f/s).
double amdahl_speedup(double fraction, double speedup);

// The speedup s of the offloaded part that gives node speedup S, the inverse of
// amdahl_speedup; nullopt when no s reaches S (S >= 1/(1-f)).
std::optional<double> offload_speedup_for(double fraction, double node_speedup);

// Power averaged over time when the device is busy a fraction u of it:
// idle + u (load - idle), the Cloud Carbon Footprint compute model.
double average_power_w(double idle_w, double load_w, double utilisation);

// The Green Algorithms calculator (green-algorithms-tool form_blueprint.py):
// P = PUE (cores P_core u_cpu + gpus P_gpu u_gpu + memory_GB 0.3725 W/GB),
// E = runtime P, CO2 = E CI.
struct GreenAlgorithmsJob {
  double runtime_h = 0;
  int cores = 0;
  double core_power_w = 0;
  double cpu_usage = 1;
  int gpus = 0;
  double gpu_power_w = 0;
  double gpu_usage = 1;
  double memory_gb = 0;
  double pue = 1;
  double carbon_intensity_g_per_kwh = 0;
};
struct GreenAlgorithmsResult {
  double power_w = 0;  // facility power, PUE included
  double energy_kwh = 0;
  double carbon_g = 0;
};
inline constexpr double green_algorithms_memory_w_per_gb = 0.3725;
GreenAlgorithmsResult green_algorithms(const GreenAlgorithmsJob& job);

// Months as "YYYY-MM", the precision of the catalogue's support dates.
struct YearMonth {
  int year = 1970;
  int month = 1;
  friend bool operator==(const YearMonth&, const YearMonth&) = default;
};
Result<YearMonth> parse_year_month(std::string_view text);
std::string format_year_month(YearMonth ym);
double years_between(YearMonth from, YearMonth to);  // negative when `to` is earlier
YearMonth current_year_month();

// One input of the model with where it came from. Ranges feed the Monte Carlo,
// [min, max] bounds the sensitivity analysis (a utilisation stays <= 1).
struct Quantity {
  double value = 0;
  std::optional<std::pair<double, double>> range;
  double min = 0;
  double max = std::numeric_limits<double>::infinity();
  bool in_usd = false;  // a price in USD, converted with usd_exchange_rate when used
  std::string unit;
  std::string source;  // the reference behind the number
  std::string origin;  // default, site, catalogue, bench, option, country table
  bool varies() const { return range && range->first < range->second; }
};

// GPUs of one model in a node.
struct GpuGroup {
  std::string id;  // catalogue id, else the device name
  std::string name;
  std::string architecture;
  int count = 0;
  std::optional<double> tdp_w;
  std::optional<double> measured_w;  // whole group at full load, from bench
  std::optional<YearMonth> end_of_support;
};

struct NodeInput {
  std::string label;
  std::string cpu_model;
  int sockets = 1;
  int cores = 1;
  double memory_gb = 0;
  std::vector<GpuGroup> gpus;
  std::optional<double> measured_cpu_w;  // CPU at full load, from bench
  std::optional<Quantity> host_price;    // replaces the component model of the host
  std::optional<Quantity> node_price;    // an offer's total: fixes the purchase price
  std::optional<Quantity> gpu_score, cpu_score, node_score;
  std::optional<Quantity> speedup;  // GPU speedup of the offloaded part
  std::optional<double> storage_read_gbs;  // bench.node storage_read: the scratch disk's sequential read
  bool without_gpus = false;        // the same node with its GPUs taken out
  int gpu_count() const;
};

struct Inputs {
  std::string currency = "EUR";
  YearMonth purchase;
  std::string country;                            // row of carbon-intensity.json, or "" when set directly
  std::map<std::string, Quantity> site;           // numeric site parameters (cost-defaults.json keys)
  std::map<std::string, Quantity> gpu_prices;     // per card, by GpuGroup id
  std::map<std::string, Quantity> gpu_embodied;   // per card kgCO2e, where the catalogue has a value
  std::vector<NodeInput> nodes;

  double site_value(const std::string& key) const;  // asserts the key exists
  double money(const Quantity& q) const;            // in `currency`
};

struct CostParts {
  double capital = 0, energy = 0, maintenance = 0, hosting = 0, failures = 0;
  double total() const { return capital + energy + maintenance + hosting + failures; }
  CostParts scaled(double f) const { return {capital * f, energy * f, maintenance * f, hosting * f, failures * f}; }
};

struct CarbonParts {
  double operational = 0, embodied = 0;
  double total() const { return operational + embodied; }
  CarbonParts scaled(double f) const { return {operational * f, embodied * f}; }
};

struct PowerModel {
  double gpu_load_w = 0, gpu_idle_w = 0;
  double cpu_load_w = 0, cpu_idle_w = 0;
  double memory_w = 0;
  double average_w = 0;  // IT power, before PUE
  std::string gpu_source, cpu_source;
};

struct Lifetime {
  double years = 0;  // the useful lifetime the costs are spread over
  double physical_years = 0;
  std::optional<double> support_years;  // from the purchase to the end of software support
  std::optional<YearMonth> support_end;
  std::string support_model;  // the GPU model whose support ends first
  std::string bound_by;       // "physical" or "software_support"
};

struct NodeCost {
  bool fixed_price = false;  // the purchase price is an offer's total, not a sum of parts
  double host_price = 0;
  double gpu_price = 0;  // cards and the GPU slots of the chassis
  double card_price = 0;  // cards only: what a failure replaces
  double purchase_price = 0;
  double embodied_kg = 0;  // manufacturing, whole node
  PowerModel power;
  Lifetime lifetime;
  CostParts annual;
  double annual_energy_kwh = 0;  // facility energy, PUE included
  CarbonParts annual_carbon_kg;
  // Annual energy cost = energy_cost_base + energy_cost_per_utilisation * u.
  double energy_cost_base = 0, energy_cost_per_utilisation = 0;
  double utilisation = 0;
};

// Annual cost, energy and carbon of one node. `utilisation` overrides the site's
// for this node (break-even search). Fails when the node has no useful lifetime
// left (software support ended before the purchase date) or lacks a price.
Result<NodeCost> evaluate_node(const Inputs& inputs, const NodeInput& node,
                               std::optional<double> utilisation = std::nullopt);

// Per score-hour of delivered work: the node's annual figures divided by
// score x utilisation x hours_per_year.
struct PerScoreHour {
  double score = 0;
  double score_hours_per_year = 0;
  CostParts cost;
  double energy_kwh = 0;
  CarbonParts carbon_g;
};
PerScoreHour per_score_hour(const NodeCost& cost, double score);

// The host's price by the component model (platform + cores + memory), in the currency.
double host_component_price(const Inputs& inputs, const NodeInput& node);

}  // namespace gpukit
