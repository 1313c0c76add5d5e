#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/document.hpp"
#include "cost/decision.hpp"
#include "cost/inputs.hpp"
#include "cost/model.hpp"
#include "test_support.hpp"

using namespace gpukit;
using doctest::Approx;

namespace {

CostDataFiles data() {
  auto files = installed_cost_data();
  REQUIRE(files.ok());
  return *files;
}

Inputs defaults() {
  auto in = load_defaults(data());
  REQUIRE(in.ok());
  return *in;
}

void set(Inputs& in, const std::string& key, double value) {
  REQUIRE(in.site.count(key) == 1);
  in.site[key].value = value;
  in.site[key].range.reset();
}

// Round numbers, so that every figure below can be checked by hand.
Inputs hand_inputs() {
  Inputs in = defaults();
  in.purchase = {2026, 1};
  for (auto [key, value] : std::initializer_list<std::pair<const char*, double>>{
           {"electricity_price_per_kwh", 0.1}, {"pue", 1.5}, {"utilisation", 0.5}, {"lifetime_years", 4},
           {"discount_rate", 0}, {"maintenance_fraction_per_year", 0.1}, {"hosting_fraction", 0.2},
           {"gpu_failure_rate_per_year", 0.05}, {"cpu_power_per_core_w", 10}, {"cpu_idle_power_fraction", 0.2},
           {"gpu_idle_power_fraction", 0.1}, {"memory_power_w_per_gb", 0.5}, {"host_platform_price_usd", 1000},
           {"cpu_price_per_core_usd", 100}, {"memory_price_per_gb_usd", 10}, {"gpu_slot_price_usd", 500},
           {"usd_exchange_rate", 1}, {"carbon_intensity_g_per_kwh", 100}, {"server_embodied_kg", 1000},
           {"socket_embodied_kg", 100}, {"memory_embodied_kg_per_gb", 1.388}, {"storage_embodied_kg", 100},
           {"gpu_embodied_kg", 150}, {"offload_fraction", 0.15}})
    set(in, key, value);
  return in;
}

NodeInput cpu_node(const std::string& label = "cpu") {
  NodeInput n;
  n.label = label;
  n.sockets = 1;
  n.cores = 10;
  n.memory_gb = 16;
  return n;
}

NodeInput gpu_node(Inputs& in, const std::string& label = "gpu") {
  NodeInput n = cpu_node(label);
  GpuGroup g;
  g.id = "test-gpu";
  g.name = "Test GPU";
  g.count = 2;
  g.tdp_w = 300;
  n.gpus.push_back(g);
  Quantity price;
  price.value = 10000;
  price.unit = "per card";
  in.gpu_prices["test-gpu"] = price;
  return n;
}

Quantity score(double v) {
  Quantity q;
  q.value = v;
  q.origin = "test";
  return q;
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = test::temp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

InputDocument fixture_document(const std::string& name) {
  std::string path = test::fixture("cost/" + name);
  auto doc = Document::parse(test::read_file(path), path);
  REQUIRE(doc.ok());
  return {path, *doc};
}

}  // namespace

TEST_CASE("cost: capital recovery with and without discounting") {
  CHECK(capital_recovery_factor(0, 4) == Approx(0.25));
  // 5 % over 4 years: 0.05 * 1.05^4 / (1.05^4 - 1) = 0.0607753125 / 0.21550625.
  CHECK(capital_recovery_factor(0.05, 4) == Approx(0.2820118).epsilon(1e-6));
  // The annuity's present value is the purchase price.
  for (double rate : {0.01, 0.03, 0.08}) {
    double pv = 0;
    for (int t = 1; t <= 5; ++t) pv += capital_recovery_factor(rate, 5) / std::pow(1 + rate, t);
    CHECK(pv == Approx(1.0).epsilon(1e-12));
  }
  CHECK(capital_recovery_factor(0.03, 4) > capital_recovery_factor(0, 4));
  CHECK(capital_recovery_factor(0.03, 2.5) == Approx(0.03 * std::pow(1.03, 2.5) / (std::pow(1.03, 2.5) - 1)));
}

TEST_CASE("cost: Amdahl speedup and its inverse") {
  CHECK(amdahl_speedup(0.15, 10) == Approx(1 / 0.865));
  CHECK(amdahl_speedup(0, 50) == Approx(1));
  CHECK(amdahl_speedup(1, 7) == Approx(7));
  CHECK(amdahl_speedup(0.15, 1e12) == Approx(1 / 0.85));
  CHECK(*offload_speedup_for(0.15, 1 / 0.865) == Approx(10));
  CHECK(*offload_speedup_for(0.5, amdahl_speedup(0.5, 3)) == Approx(3));
  // 1/(1-f) is the most an infinitely fast GPU gives.
  CHECK_FALSE(offload_speedup_for(0.15, 1.2).has_value());
  CHECK_FALSE(offload_speedup_for(0.15, 1 / 0.85).has_value());
}

TEST_CASE("cost: the Green Algorithms worked form") {
  GreenAlgorithmsJob job;
  job.runtime_h = 12;
  job.cores = 8;
  job.core_power_w = 12;
  job.cpu_usage = 1;
  job.memory_gb = 64;
  job.pue = 1.67;
  job.carbon_intensity_g_per_kwh = 475;
  auto r = green_algorithms(job);
  // 1.67 * (8 * 12 + 64 * 0.3725) = 1.67 * 119.84 W; 12 h; 475 g/kWh.
  CHECK(r.power_w == Approx(200.1328));
  CHECK(r.energy_kwh == Approx(2.4015936));
  CHECK(r.carbon_g == Approx(1140.757));
  job.gpus = 2;
  job.gpu_power_w = 250;
  job.gpu_usage = 0.5;
  CHECK(green_algorithms(job).power_w == Approx(1.67 * (96 + 250 + 23.84)));
}

TEST_CASE("cost: the node model reduces to Green Algorithms without idle power") {
  Inputs in = hand_inputs();
  set(in, "cpu_idle_power_fraction", 0);
  set(in, "gpu_idle_power_fraction", 0);
  set(in, "memory_power_w_per_gb", green_algorithms_memory_w_per_gb);
  set(in, "pue", 1.67);
  set(in, "utilisation", 0.7);
  set(in, "cpu_power_per_core_w", 12);
  set(in, "carbon_intensity_g_per_kwh", 475);
  NodeInput node = gpu_node(in);
  node.cores = 8;
  node.memory_gb = 64;
  auto c = evaluate_node(in, node);
  REQUIRE(c.ok());
  GreenAlgorithmsJob job{hours_per_year, 8, 12, 0.7, 2, 300, 0.7, 64, 1.67, 475};
  auto ga = green_algorithms(job);
  CHECK(c->annual_energy_kwh == Approx(ga.energy_kwh));
  CHECK(c->annual_carbon_kg.operational * 1000 == Approx(ga.carbon_g));
}

TEST_CASE("cost: annual cost and carbon of a CPU node by hand") {
  Inputs in = hand_inputs();
  auto c = evaluate_node(in, cpu_node());
  REQUIRE(c.ok());
  // Host 1000 + 10 cores x 100 + 16 GB x 10 = 2160.
  CHECK(c->host_price == Approx(2160));
  CHECK(c->purchase_price == Approx(2160));
  // CPU 100 W at load, 20 W idle, half busy: 60 W; memory 16 x 0.5 = 8 W.
  CHECK(c->power.average_w == Approx(68));
  CHECK(c->annual_energy_kwh == Approx(68 * 8.766 * 1.5));
  CHECK(c->annual.energy == Approx(68 * 8.766 * 1.5 * 0.1));
  CHECK(c->annual.capital == Approx(540));
  CHECK(c->annual.maintenance == Approx(216));
  CHECK(c->annual.hosting == Approx(108));
  CHECK(c->annual.failures == 0);
  CHECK(c->annual.total() == Approx(540 + 216 + 108 + 89.4132));
  // Energy cost is base + slope x utilisation.
  CHECK(c->energy_cost_base + 0.5 * c->energy_cost_per_utilisation == Approx(c->annual.energy));
  // Carbon: 894.132 kWh x 100 g/kWh; server 1000 + SSD 100 over 4 years.
  CHECK(c->annual_carbon_kg.operational == Approx(89.4132));
  CHECK(c->embodied_kg == Approx(1100));
  CHECK(c->annual_carbon_kg.embodied == Approx(275));
  CHECK(c->lifetime.bound_by == "physical");
}

TEST_CASE("cost: GPUs add price, power, failures and embodied carbon") {
  Inputs in = hand_inputs();
  NodeInput node = gpu_node(in);
  auto c = evaluate_node(in, node);
  REQUIRE(c.ok());
  CHECK(c->card_price == Approx(20000));
  CHECK(c->gpu_price == Approx(21000));  // two slots of 500
  CHECK(c->purchase_price == Approx(23160));
  CHECK(c->power.gpu_load_w == Approx(600));
  CHECK(c->power.gpu_idle_w == Approx(60));
  CHECK(c->power.average_w == Approx(68 + 60 + 0.5 * 540));
  CHECK(c->annual.failures == Approx(0.05 * 20000));
  CHECK(c->annual.capital == Approx(23160 / 4.0));
  CHECK(c->embodied_kg == Approx(1100 + 300));
  CHECK(c->annual_carbon_kg.embodied == Approx(1400 / 4.0 + 0.05 * 300));
  CHECK(c->power.gpu_source == "tdp");

  node.gpus[0].measured_w = 500;  // bench measured the whole group at full load
  c = evaluate_node(in, node);
  REQUIRE(c.ok());
  CHECK(c->power.gpu_load_w == Approx(500));
  CHECK(c->power.gpu_idle_w == Approx(50));
  CHECK(c->power.gpu_source == "measured");

  in.gpu_prices.clear();
  auto missing = evaluate_node(in, node);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("prices.test-gpu") != std::string::npos);
}

TEST_CASE("cost: units: kWh per watt-year, USD conversion, grams and GiB") {
  Inputs in = hand_inputs();
  set(in, "pue", 1);
  set(in, "cpu_idle_power_fraction", 1);  // a constant 100 W
  set(in, "memory_power_w_per_gb", 0);
  auto c = evaluate_node(in, cpu_node());
  REQUIRE(c.ok());
  CHECK(c->annual_energy_kwh == Approx(876.6));  // 100 W x 8766 h
  set(in, "usd_exchange_rate", 0.9);
  c = evaluate_node(in, cpu_node());
  REQUIRE(c.ok());
  CHECK(c->host_price == Approx(2160 * 0.9));
  Quantity usd;
  usd.value = 100;
  usd.in_usd = true;
  CHECK(in.money(usd) == Approx(90));
  auto p = per_score_hour(*c, 10);
  CHECK(p.score_hours_per_year == Approx(10 * 0.5 * 8766));
  CHECK(p.carbon_g.total() == Approx(c->annual_carbon_kg.total() * 1000 / 43830));

  auto doc = fixture_document("cpu-node.json");
  auto loaded = load_inputs({doc}, std::nullopt, {}, data());
  REQUIRE(loaded.ok());
  CHECK(loaded->nodes[0].memory_gb == Approx(768));  // 768 GiB in bytes
  CHECK(loaded->nodes[0].cores == 192);
  CHECK(loaded->nodes[0].measured_cpu_w == Approx(700));
}

TEST_CASE("cost: embodied carbon reproduces the CCF p4d.24xlarge example") {
  Inputs in = hand_inputs();
  set(in, "memory_embodied_kg_per_gb", 533.0 / 384);
  set(in, "storage_embodied_kg", 800);  // 8 SSDs
  NodeInput node = gpu_node(in);
  node.sockets = 2;
  node.memory_gb = 1152;
  node.gpus[0].count = 8;
  auto c = evaluate_node(in, node);
  REQUIRE(c.ok());
  CHECK(c->embodied_kg == Approx(4677).epsilon(0.001));
}

TEST_CASE("cost: the useful lifetime ends with software support") {
  Inputs in = hand_inputs();
  NodeInput node = gpu_node(in);
  node.gpus[0].end_of_support = YearMonth{2027, 7};
  in.purchase = {2026, 1};
  auto c = evaluate_node(in, node);
  REQUIRE(c.ok());
  CHECK(c->lifetime.years == Approx(1.5));
  CHECK(c->lifetime.bound_by == "software_support");
  CHECK(c->lifetime.support_model == "test-gpu");
  CHECK(c->annual.capital == Approx(23160 / 1.5));
  CHECK(c->annual.hosting == Approx(0.2 * 23160 / 1.5));

  node.gpus[0].end_of_support = YearMonth{2035, 1};
  c = evaluate_node(in, node);
  REQUIRE(c.ok());
  CHECK(c->lifetime.years == Approx(4));
  CHECK(c->lifetime.bound_by == "physical");
  CHECK(*c->lifetime.support_years == Approx(9));

  node.gpus[0].end_of_support = YearMonth{2025, 8};
  auto ended = evaluate_node(in, node);
  REQUIRE_FALSE(ended.ok());
  CHECK(ended.error().message.find("ended 2025-08") != std::string::npos);
  CHECK(ended.error().message.find("purchase_date") != std::string::npos);
}

TEST_CASE("cost: months") {
  CHECK(years_between({2025, 8}, {2027, 2}) == Approx(1.5));
  CHECK(years_between({2027, 2}, {2025, 8}) == Approx(-1.5));
  CHECK(format_year_month(*parse_year_month("2025-08")) == "2025-08");
  CHECK_FALSE(parse_year_month("2025-13").ok());
  CHECK_FALSE(parse_year_month("2025-8").ok());
  CHECK_FALSE(parse_year_month("August").ok());
}

TEST_CASE("cost: a single GPU node is weighed against itself without GPUs") {
  Inputs in = hand_inputs();
  NodeInput node = gpu_node(in);
  node.cpu_score = score(100);
  node.speedup = score(8);
  in.nodes = {node};
  auto d = decide(in, std::nullopt);
  REQUIRE(d.ok());
  REQUIRE(d->options.size() == 2);
  CHECK(d->options[1].label == "gpu without GPUs");
  CHECK_FALSE(d->options[1].has_gpus);
  CHECK(d->metric == Metric::workflow);
  CHECK(*d->options[0].node_speedup == Approx(amdahl_speedup(0.15, 8)));
  CHECK(d->options[0].per_unit->score == Approx(100 * amdahl_speedup(0.15, 8)));
  CHECK(d->options[1].per_unit->score == Approx(100));
  CHECK(d->options[1].cost.purchase_price == Approx(2160));
  // Without a speedup there is no workflow score: the node metric is used.
  in.nodes[0].speedup.reset();
  d = decide(in, std::nullopt);
  REQUIRE(d.ok());
  CHECK(d->metric == Metric::node);
  CHECK_FALSE(d->options[0].per_unit.has_value());
  CHECK(d->options[0].reason.find("node score") != std::string::npos);
  CHECK(d->options[1].per_unit->score == Approx(100));  // a node without GPUs: its CPU score
}

TEST_CASE("cost: break-even speedup, utilisation and price put both options level") {
  Inputs in = hand_inputs();
  set(in, "offload_fraction", 0.8);
  set(in, "gpu_slot_price_usd", 0);
  NodeInput g = gpu_node(in);
  in.gpu_prices["test-gpu"].value = 1000;  // cheap cards, so that the GPU node can win
  g.cpu_score = score(100);
  g.speedup = score(4);
  NodeInput c = cpu_node("cpu");
  c.cpu_score = score(100);
  in.nodes = {g, c};
  auto d = decide(in, Metric::workflow);
  REQUIRE(d.ok());
  auto be = break_even(*d);
  REQUIRE(be.size() == 1);
  const BreakEven& b = be[0];
  CHECK(b.reference == "cpu");
  CHECK(*b.max_node_speedup == Approx(5));

  // At the break-even offload speedup the costs per unit are equal.
  REQUIRE(b.offload_speedup_needed.has_value());
  Inputs at_speedup = in;
  at_speedup.nodes[0].speedup->value = *b.offload_speedup_needed;
  auto d2 = decide(at_speedup, Metric::workflow);
  REQUIRE(d2.ok());
  CHECK(d2->options[0].per_unit->cost.total() == Approx(d2->options[1].per_unit->cost.total()));
  CHECK(*d2->options[0].node_speedup == Approx(*b.node_speedup_needed));

  // At the break-even price factor, too.
  REQUIRE(b.price_factor.has_value());
  CHECK(b.price_basis == "gpu cards");
  Inputs at_price = in;
  at_price.gpu_prices["test-gpu"].value *= *b.price_factor;
  auto d3 = decide(at_price, Metric::workflow);
  REQUIRE(d3.ok());
  CHECK(d3->options[0].per_unit->cost.total() == Approx(d3->options[1].per_unit->cost.total()));

  // The GPU node evaluated at the break-even utilisation, the CPU node at the site's.
  in.nodes[0].speedup->value = 40;
  d = decide(in, Metric::workflow);
  REQUIRE(d.ok());
  be = break_even(*d);
  REQUIRE(be[0].utilisation_needed.has_value());
  auto at_u = evaluate_node(in, in.nodes[0], *be[0].utilisation_needed);
  REQUIRE(at_u.ok());
  CHECK(per_score_hour(*at_u, d->options[0].per_unit->score).cost.total() == Approx(d->options[1].per_unit->cost.total()));

  // With f = 0.15 no offload speedup reaches a node speedup above 1/0.85.
  set(in, "offload_fraction", 0.15);
  d = decide(in, Metric::workflow);
  REQUIRE(d.ok());
  be = break_even(*d);
  CHECK(*be[0].max_node_speedup == Approx(1 / 0.85));
  CHECK_FALSE(be[0].offload_speedup_needed.has_value());
  CHECK(be[0].offload_speedup_note.find("unreachable") != std::string::npos);
}

TEST_CASE("cost: sensitivity signs and flips") {
  Inputs in = hand_inputs();
  NodeInput c = cpu_node("cpu");
  c.cpu_score = score(100);
  in.nodes = {c};
  auto s = sensitivity(in, Metric::node, 0.1);
  REQUIRE(s.ok());
  CHECK_FALSE(s->is_ratio);
  auto row = [&](const std::string& name) -> const TornadoRow& {
    for (const auto& r : s->rows)
      if (r.input == name) return r;
    FAIL("no row " << name);
    throw;
  };
  // Dearer electricity, more cost; a better score, less cost per unit.
  CHECK(row("electricity_price_per_kwh").value_high > row("electricity_price_per_kwh").value_low);
  CHECK(row("cpu: CPU score").value_high < row("cpu: CPU score").value_low);
  CHECK(row("lifetime_years").value_high < row("lifetime_years").value_low);
  CHECK(row("utilisation").value_high < row("utilisation").value_low);
  CHECK(row("electricity_price_per_kwh").low == Approx(0.09));
  CHECK(row("electricity_price_per_kwh").high == Approx(0.11));
  // Carbon-only inputs are not in a cost tornado.
  for (const auto& r : s->rows) CHECK(r.input != "carbon_intensity_g_per_kwh");
  // A utilisation of 1 cannot go above 1.
  set(in, "utilisation", 1);
  s = sensitivity(in, Metric::node, 0.1);
  REQUIRE(s.ok());
  CHECK(row("utilisation").high == Approx(1));

  // Two options a few per cent apart: a 10 % move of the GPU price flips the answer.
  Inputs two = hand_inputs();
  set(two, "offload_fraction", 0.9);
  set(two, "gpu_slot_price_usd", 0);
  NodeInput g = gpu_node(two);
  two.gpu_prices["test-gpu"].value = 1000;
  g.cpu_score = score(100);
  g.speedup = score(1);
  NodeInput ref = cpu_node("cpu");
  ref.cpu_score = score(100);
  two.nodes = {g, ref};
  auto d = decide(two, Metric::workflow);
  REQUIRE(d.ok());
  auto be = break_even(*d);
  REQUIRE(be.size() == 1);
  // Set the speedup so that the GPU node is 3 % dearer per unit than the CPU node.
  REQUIRE(be[0].node_speedup_needed.has_value());
  auto slower = offload_speedup_for(0.9, *be[0].node_speedup_needed / 1.03);
  REQUIRE(slower.has_value());
  two.nodes[0].speedup->value = *slower;
  s = sensitivity(two, Metric::workflow, 0.1);
  REQUIRE(s.ok());
  CHECK(s->is_ratio);
  CHECK(s->base_value == Approx(1.03).epsilon(1e-6));
  CHECK(s->base_cheapest == "cpu");
  CHECK(s->flips);
  CHECK(row("price of test-gpu").flips);
  CHECK(row("price of test-gpu").cheapest_low == "gpu");
  CHECK(row("price of test-gpu").value_high > row("price of test-gpu").value_low);
  CHECK(row("cpu: CPU score").value_high > row("cpu: CPU score").value_low);  // a better rival
  // Largest swing first.
  for (size_t i = 1; i < s->rows.size(); ++i) CHECK(s->rows[i - 1].swing() >= s->rows[i].swing());
}

TEST_CASE("cost: triangular draws") {
  CHECK(triangular_quantile(1, 2, 4, 0) == Approx(1));
  CHECK(triangular_quantile(1, 2, 4, 1.0 / 3) == Approx(2));  // F(mode) = (2-1)/(4-1)
  CHECK(triangular_quantile(1, 2, 4, 1) == Approx(4));
  CHECK(triangular_quantile(0, 0, 1, 0.75) == Approx(0.5));  // 1 - sqrt(0.25)
  CHECK(triangular_quantile(5, 5, 5, 0.3) == 5);
}

TEST_CASE("cost: the Monte Carlo is reproducible with its seed") {
  auto gpu = fixture_document("gpu-node.json");
  auto cpu = fixture_document("cpu-node.json");
  auto in = load_inputs({gpu, cpu}, std::nullopt, {}, data());
  REQUIRE(in.ok());
  auto a = monte_carlo(*in, Metric::workflow, 500, 7);
  auto b = monte_carlo(*in, Metric::workflow, 500, 7);
  auto c = monte_carlo(*in, Metric::workflow, 500, 8);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  CHECK(a->p_cheapest == b->p_cheapest);
  CHECK(a->value->p50 == b->value->p50);
  CHECK(a->cost_per_unit[0]->p5 == b->cost_per_unit[0]->p5);
  CHECK(a->value->p50 != c->value->p50);
  CHECK(a->failed == 0);
  CHECK(a->p_cheapest[0] + a->p_cheapest[1] == Approx(1));
  // Only inputs with a documented spread are drawn.
  CHECK(std::find(a->varied.begin(), a->varied.end(), "pue") != a->varied.end());
  CHECK(std::find(a->varied.begin(), a->varied.end(), "offload_fraction") == a->varied.end());
  CHECK(a->value->p5 <= a->value->p50);
  CHECK(a->value->p50 <= a->value->p95);
}

TEST_CASE("cost: site files") {
  auto gpu = fixture_document("gpu-node.json");
  auto load = [&](const std::string& site) {
    return load_inputs({gpu}, write_temp("site.json", site), {}, data());
  };
  auto in = load(R"({"currency": "CHF", "usd_exchange_rate": 0.8, "electricity_price_per_kwh": 0.15,
                     "country": "ch", "purchase_date": "2026-03", "prices": {"nvidia-h100-sxm5-80gb": 25000},
                     "nodes": {"gpu-node": {"price": 200000, "scores": {"cpu": 1500}, "speedup": 3}},
                     "ranges": {"pue": [1.1, 1.8]}, "pue": 1.3})");
  REQUIRE(in.ok());
  CHECK(in->currency == "CHF");
  CHECK(in->country == "ch");
  CHECK(in->site["carbon_intensity_g_per_kwh"].value == Approx(11.52));
  CHECK(in->site["carbon_intensity_g_per_kwh"].range->second == Approx(78));
  CHECK(in->site["pue"].value == Approx(1.3));
  CHECK(in->site["pue"].range->first == Approx(1.1));
  CHECK(in->site["electricity_price_per_kwh"].origin == "site");
  CHECK_FALSE(in->site["electricity_price_per_kwh"].range.has_value());
  CHECK(in->purchase == YearMonth{2026, 3});
  CHECK(in->gpu_prices["nvidia-h100-sxm5-80gb"].value == Approx(25000));
  CHECK(in->nodes[0].node_price->value == Approx(200000));
  // The offer's total is the purchase price; its four cards and slots (5000 USD x 0.8 each) split it.
  auto offer = evaluate_node(*in, in->nodes[0]);
  REQUIRE(offer.ok());
  CHECK(offer->purchase_price == Approx(200000));
  CHECK(offer->host_price == Approx(200000 - 4 * (25000 + 4000)));
  CHECK(offer->annual.failures == Approx(0.04 * 4 * 25000));
  CHECK(in->nodes[0].cpu_score->value == Approx(1500));
  CHECK(in->nodes[0].speedup->value == Approx(3));

  auto error_of = [&](const std::string& site) {
    auto r = load(site);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ExitCode::usage);
    return r.error().what();
  };
  CHECK(error_of(R"({"electricty_price_per_kwh": 0.2})").find("/electricty_price_per_kwh: unknown key") != std::string::npos);
  CHECK(error_of(R"({"electricity_price_per_kwh": -0.2})").find("/electricity_price_per_kwh: must be >= 0") != std::string::npos);
  CHECK(error_of(R"({"pue": 0.9})").find("/pue: must be >= 1") != std::string::npos);
  CHECK(error_of(R"({"utilisation": 1.5})").find("/utilisation: must be in (0, 1]") != std::string::npos);
  CHECK(error_of(R"({"lifetime_years": "four"})").find("/lifetime_years: must be a number") != std::string::npos);
  CHECK(error_of(R"({"country": "XX"})").find("/country: unknown country code \"XX\"") != std::string::npos);
  CHECK(error_of(R"({"currency": "CHF"})").find("/usd_exchange_rate: required when the currency is CHF") != std::string::npos);
  CHECK(error_of(R"({"prices": {"nvidia-h100-sxm5-80gb": -1}})").find("/prices/nvidia-h100-sxm5-80gb: must be >= 0") != std::string::npos);
  CHECK(error_of(R"({"prices": {"no-such-gpu": 1}})").find("/prices/no-such-gpu: not a GPU model") != std::string::npos);
  CHECK(error_of(R"({"nodes": {"elsewhere": {}}})").find("/nodes/elsewhere: no input node has this label (labels: gpu-node)") != std::string::npos);
  CHECK(error_of(R"({"nodes": {"gpu-node": {"price": 1000}}})").find("/nodes/gpu-node/price: is lower than") != std::string::npos);
  CHECK(error_of(R"({"ranges": {"pue": [1.6, 1.8]}})").find("/ranges/pue: must hold the value 1.56") != std::string::npos);
  CHECK(error_of(R"({"purchase_date": "2026"})").find("/purchase_date: \"2026\" is not a month") != std::string::npos);
  CHECK(error_of("[1, 2]").find("expected a JSON object") != std::string::npos);

  auto unreadable = load_inputs({gpu}, std::string("/nonexistent/site.json"), {}, data());
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.error().what().find("/nonexistent/site.json: cannot open") != std::string::npos);
}

TEST_CASE("cost: documents give scores, measured power and catalogue data") {
  auto in = load_inputs({fixture_document("gpu-node.json")}, std::nullopt, {}, data());
  REQUIRE(in.ok());
  const NodeInput& n = in->nodes[0];
  CHECK(n.label == "gpu-node");
  REQUIRE(n.gpus.size() == 1);
  CHECK(n.gpus[0].count == 4);
  CHECK(n.gpus[0].id == "nvidia-h100-sxm5-80gb");
  CHECK(*n.gpus[0].tdp_w == Approx(700));
  CHECK(*n.gpus[0].measured_w == Approx(4 * 610));
  CHECK(n.gpu_score->value == Approx(8000));
  CHECK(n.speedup->value == Approx(8000.0 / 1280));
  CHECK(n.speedup->origin == "bench");
  // The catalogue's street-price range, in USD: midpoint and range.
  const Quantity& price = in->gpu_prices.at("nvidia-h100-sxm5-80gb");
  CHECK(price.in_usd);
  CHECK(price.value == Approx(27500));
  CHECK(price.range->first == Approx(25000));

  CommandLineValues cli;
  cli.speedup = 20;
  cli.cpu_score = 999;
  in = load_inputs({fixture_document("gpu-node.json")}, std::nullopt, cli, data());
  REQUIRE(in.ok());
  CHECK(in->nodes[0].speedup->value == Approx(20));
  CHECK(in->nodes[0].speedup->origin == "option");
  CHECK(in->nodes[0].cpu_score->value == Approx(999));

  in = load_inputs({fixture_document("plain-node.json")}, std::nullopt, {}, data());
  REQUIRE(in.ok());
  CHECK_FALSE(in->nodes[0].cpu_score.has_value());
  CHECK_FALSE(in->nodes[0].measured_cpu_w.has_value());

  // A V100 bought after its software support ended has no useful lifetime.
  in = load_inputs({fixture_document("old-node.json")}, std::nullopt, {}, data());
  REQUIRE_FALSE(in.ok());  // no price in the catalogue
  CHECK(in.error().what().find("prices/nvidia-v100-sxm2-32gb") != std::string::npos);
}
