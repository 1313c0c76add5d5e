#include "cost/decision.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

namespace gpukit {

const char* metric_name(Metric metric) { return metric == Metric::workflow ? "workflow" : "node"; }

namespace {

// Site parameters that change carbon but not money.
const std::set<std::string> carbon_only_keys = {"carbon_intensity_g_per_kwh", "server_embodied_kg",
                                                "socket_embodied_kg",         "memory_embodied_kg_per_gb",
                                                "storage_embodied_kg",        "gpu_embodied_kg"};

NodeInput without_gpus(const NodeInput& node) {
  NodeInput n = node;
  n.label = node.label + " without GPUs";
  n.gpus.clear();
  n.node_price.reset();  // an offer's total includes the GPUs: the host alone is priced by its parts
  n.without_gpus = true;
  n.gpu_score.reset();
  n.node_score.reset();
  n.speedup.reset();
  return n;
}

std::vector<NodeInput> options_of(const Inputs& in) {
  std::vector<NodeInput> options = in.nodes;
  if (in.nodes.size() == 1 && !in.nodes[0].gpus.empty()) options.push_back(without_gpus(in.nodes[0]));
  return options;
}

struct Score {
  std::optional<double> value;
  std::string source;  // or why there is none
  std::optional<double> offload_speedup, node_speedup;
};

Score workflow_score(const NodeInput& node, double fraction) {
  Score s;
  if (!node.cpu_score) {
    s.source = "no CPU score (bench.scores.cpu_node, --cpu-score or nodes." + node.label + ".scores.cpu)";
    return s;
  }
  if (node.gpus.empty()) {
    s.value = node.cpu_score->value;
    s.source = "CPU score (" + node.cpu_score->origin + ")";
    return s;
  }
  if (!node.speedup) {
    s.source = "no GPU speedup of the offloaded part (bench GPU and CPU scores, --speedup or nodes." + node.label +
               ".speedup)";
    return s;
  }
  s.offload_speedup = node.speedup->value;
  s.node_speedup = amdahl_speedup(fraction, node.speedup->value);
  s.value = node.cpu_score->value * *s.node_speedup;
  s.source = "CPU score x Amdahl node speedup";
  return s;
}

// A workflow that reads `gb_per_unit` GB from local storage per unit of work
// (site key workflow_read_gb_per_unit) can deliver at most what the scratch
// disk's measured sequential read feeds: storage_read GB/s x 3600 / gb_per_unit
// units per hour. 0 leaves the score alone; an unmeasured disk is said, not guessed.
void cap_by_storage(const NodeInput& node, double gb_per_unit, Score& s) {
  if (!(gb_per_unit > 0) || !s.value) return;
  if (!node.storage_read_gbs) {
    s.source += "; workflow_read_gb_per_unit not checked: no storage_read figure in bench.node";
    return;
  }
  const double fed = *node.storage_read_gbs * 3600 / gb_per_unit;
  if (fed >= *s.value) return;
  char note[200];
  std::snprintf(note, sizeof note, "; capped by storage: %.4g GB/s read feeds %.4g units/h at %.4g GB per unit",
                *node.storage_read_gbs, fed, gb_per_unit);
  s.value = fed;
  s.source += note;
}

Score node_score(const NodeInput& node) {
  Score s;
  if (node.node_score) {
    s.value = node.node_score->value;
    s.source = "node score (" + node.node_score->origin + ")";
  } else if (node.gpus.empty() && node.cpu_score) {
    s.value = node.cpu_score->value;
    s.source = "CPU score (" + node.cpu_score->origin + "): a node without GPUs";
  } else {
    s.source = "no node score (bench.scores.node, --node-score or nodes." + node.label + ".scores.node)";
  }
  return s;
}

std::vector<ScoreFigures> score_figures(const NodeInput& node, const NodeCost& cost) {
  std::vector<ScoreFigures> out;
  auto add = [&](const char* kind, const std::optional<Quantity>& q, const std::string& missing) {
    ScoreFigures f;
    f.kind = kind;
    if (q) {
      f.figures = per_score_hour(cost, q->value);
      f.source = q->origin;
    } else {
      f.reason = missing;
    }
    out.push_back(std::move(f));
  };
  add("gpu", node.gpu_score,
      node.gpus.empty() ? "the node has no GPUs" : "no GPU score (bench.scores.gpu_node or --gpu-score)");
  add("cpu", node.cpu_score, "no CPU score (bench.scores.cpu_node or --cpu-score)");
  std::optional<Quantity> node_q = node.node_score;
  if (!node_q && node.gpus.empty() && node.cpu_score) node_q = node.cpu_score;
  add("node", node_q, "no node score (bench.scores.node or --node-score)");
  return out;
}

}  // namespace

Result<Decision> decide(const Inputs& in, std::optional<Metric> requested) {
  Decision d;
  d.offload_fraction = in.site_value("offload_fraction");
  // Optional: inputs built without the key (older site files, tests) leave storage out.
  const auto io = in.site.find("workflow_read_gb_per_unit");
  const double workflow_read = io == in.site.end() ? 0 : io->second.value;
  std::vector<NodeInput> options = options_of(in);

  bool any_gpus = false, all_workflow = true;
  for (const auto& o : options) {
    any_gpus = any_gpus || !o.gpus.empty();
    all_workflow = all_workflow && workflow_score(o, d.offload_fraction).value.has_value();
  }
  if (requested) {
    d.metric = *requested;
    d.metric_reason = "--metric";
  } else if (any_gpus && all_workflow) {
    d.metric = Metric::workflow;
    d.metric_reason = "every option has a CPU score and each GPU node a speedup";
  } else {
    d.metric = Metric::node;
    d.metric_reason = any_gpus ? "a workflow score needs a CPU score and, for GPU nodes, a speedup"
                               : "no option has GPUs";
  }

  for (const auto& node : options) {
    auto cost = evaluate_node(in, node);
    if (!cost) return cost.error();
    OptionResult r;
    r.label = node.label;
    r.has_gpus = !node.gpus.empty();
    r.cost = *cost;
    Score s = d.metric == Metric::workflow ? workflow_score(node, d.offload_fraction) : node_score(node);
    cap_by_storage(node, workflow_read, s);
    r.score = s.value;
    r.offload_speedup = s.offload_speedup;
    r.node_speedup = s.node_speedup;
    if (s.value) {
      r.score_source = s.source;
      r.per_unit = per_score_hour(r.cost, *s.value);
    } else {
      r.reason = s.source;
    }
    r.per_score = score_figures(node, r.cost);
    d.options.push_back(std::move(r));
  }

  for (size_t i = 0; i < d.options.size(); ++i) {
    const auto& o = d.options[i];
    if (!o.per_unit) continue;
    d.throughput = std::max(d.throughput, o.per_unit->score_hours_per_year);
    if (!d.cheapest || o.per_unit->cost.total() < d.options[*d.cheapest].per_unit->cost.total()) d.cheapest = i;
  }
  for (auto& o : d.options)
    if (o.per_unit && o.per_unit->score_hours_per_year > 0)
      o.nodes_for_throughput = d.throughput / o.per_unit->score_hours_per_year;
  return d;
}

DecisionValue decision_value(const Decision& d) {
  DecisionValue v;
  const auto& first = d.options.front();
  std::optional<size_t> best_other;
  for (size_t i = 1; i < d.options.size(); ++i)
    if (d.options[i].per_unit &&
        (!best_other || d.options[i].per_unit->cost.total() < d.options[*best_other].per_unit->cost.total()))
      best_other = i;
  if (first.per_unit && best_other) {
    v.value = first.per_unit->cost.total() / d.options[*best_other].per_unit->cost.total();
    v.name = "cost per unit, " + first.label + " / " + d.options[*best_other].label;
    v.is_ratio = true;
  } else if (first.per_unit) {
    v.value = first.per_unit->cost.total();
    v.name = std::string("cost per ") + metric_name(d.metric) + " score-hour of " + first.label;
  } else {
    v.value = first.cost.annual.total();
    v.name = "annual cost of " + first.label;
  }
  return v;
}

std::vector<BreakEven> break_even(const Decision& d) {
  std::vector<BreakEven> out;
  std::optional<size_t> ref;
  for (size_t i = 0; i < d.options.size(); ++i) {
    const auto& o = d.options[i];
    if (o.has_gpus || !o.per_unit) continue;
    if (!ref || o.per_unit->cost.total() < d.options[*ref].per_unit->cost.total()) ref = i;
  }
  if (!ref) return out;
  const OptionResult& r = d.options[*ref];
  const double c_ref = r.per_unit->cost.total();
  for (const auto& o : d.options) {
    if (!o.has_gpus || !o.per_unit) continue;
    BreakEven b;
    b.option = o.label;
    b.reference = r.label;
    b.cost_per_unit = o.per_unit->cost.total();
    b.reference_cost_per_unit = c_ref;
    const NodeCost& c = o.cost;
    const double annual = c.annual.total();

    if (d.metric == Metric::workflow && o.node_speedup) {
      // Units delivered without any speedup: annual / (w S) = c_ref gives S.
      const double base_units = o.per_unit->score_hours_per_year / *o.node_speedup;
      const double needed = annual / (base_units * c_ref);
      b.node_speedup_needed = needed;
      b.max_node_speedup = d.offload_fraction < 1 ? 1 / (1 - d.offload_fraction)
                                                  : std::numeric_limits<double>::infinity();
      b.offload_speedup_needed = offload_speedup_for(d.offload_fraction, needed);
      if (!b.offload_speedup_needed) {
        char note[160];
        std::snprintf(note, sizeof note,
                      "unreachable: with an offload fraction of %.3g even an infinitely fast GPU gives at most %.4g",
                      d.offload_fraction, *b.max_node_speedup);
        b.offload_speedup_note = note;
      }
    }

    // Cost per unit at utilisation u: (F + E0 + E1 u) / (k u); equal to c_ref at
    // u = (F + E0) / (k c_ref - E1).
    const double fixed = annual - c.annual.energy + c.energy_cost_base;
    const double k = o.score.value_or(0) * hours_per_year;
    const double denominator = k * c_ref - c.energy_cost_per_utilisation;
    if (denominator > 0 && fixed / denominator <= 1) {
      b.utilisation_needed = fixed / denominator;
    } else {
      b.utilisation_note = "no utilisation up to 100 % makes it cheaper";
    }

    // Annual cost is linear in a factor x on the price: capital, maintenance and
    // hosting scale with the purchase price, failures with the cards. An offer's
    // total is scaled as a whole; otherwise the GPU cards are.
    if (c.purchase_price > 0) {
      const double per_money = (c.annual.capital + c.annual.maintenance + c.annual.hosting) / c.purchase_price;
      b.price_basis = c.fixed_price ? "node" : "gpu cards";
      const double slope = c.fixed_price ? c.purchase_price * per_money : c.card_price * per_money + c.annual.failures;
      const double rest = annual - slope;
      const double factor = slope > 0 ? (c_ref * o.per_unit->score_hours_per_year - rest) / slope : -1;
      if (factor > 0) {
        b.price_factor = factor;
      } else {
        b.price_note = c.fixed_price ? "not cheaper even if the node were free" : "not cheaper even with free GPUs";
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

double TornadoRow::swing() const { return std::abs(value_high - value_low); }

std::vector<InputRef> model_inputs(Inputs& in, bool cost_only) {
  std::vector<InputRef> refs;
  for (auto& [key, q] : in.site)
    if (!cost_only || !carbon_only_keys.count(key)) refs.push_back({key, &q});
  for (auto& [id, q] : in.gpu_prices) refs.push_back({"price of " + id, &q});
  if (!cost_only)
    for (auto& [id, q] : in.gpu_embodied) refs.push_back({"embodied carbon of " + id, &q});
  for (auto& node : in.nodes) {
    if (node.node_price) refs.push_back({node.label + ": node price", &*node.node_price});
    if (node.host_price) refs.push_back({node.label + ": host price", &*node.host_price});
    if (node.gpu_score) refs.push_back({node.label + ": GPU score", &*node.gpu_score});
    if (node.cpu_score) refs.push_back({node.label + ": CPU score", &*node.cpu_score});
    if (node.node_score) refs.push_back({node.label + ": node score", &*node.node_score});
    if (node.speedup) refs.push_back({node.label + ": GPU speedup", &*node.speedup});
  }
  return refs;
}

namespace {

std::string cheapest_label(const Decision& d) { return d.cheapest ? d.options[*d.cheapest].label : std::string(); }

}  // namespace

// Both analyses hold the metric fixed, so that a moved input cannot change what is compared.
Result<Sensitivity> sensitivity(const Inputs& inputs, Metric metric, double variation) {
  auto base = decide(inputs, metric);
  if (!base) return base.error();
  Sensitivity s;
  s.variation = variation;
  DecisionValue bv = decision_value(*base);
  s.value_name = bv.name;
  s.is_ratio = bv.is_ratio;
  s.base_value = bv.value;
  s.base_cheapest = cheapest_label(*base);

  Inputs probe = inputs;
  const size_t n = model_inputs(probe, true).size();
  for (size_t i = 0; i < n; ++i) {
    TornadoRow row;
    Inputs moved[2] = {inputs, inputs};
    double values[2];
    std::string cheapest[2];
    bool ok = true;
    for (int side = 0; side < 2; ++side) {
      auto refs = model_inputs(moved[side], true);
      Quantity& q = *refs[i].quantity;
      if (side == 0) {
        row.input = refs[i].name;
        row.unit = q.unit;
        row.base = q.value;
      }
      double v = std::clamp(q.value * (side == 0 ? 1 - variation : 1 + variation), q.min, q.max);
      q.value = v;
      (side == 0 ? row.low : row.high) = v;
      auto d = decide(moved[side], metric);
      if (!d) {
        ok = false;
        break;
      }
      values[side] = decision_value(*d).value;
      cheapest[side] = cheapest_label(*d);
    }
    if (!ok) continue;  // a move the model rejects (no lifetime left) is no answer
    row.value_low = values[0];
    row.value_high = values[1];
    row.cheapest_low = cheapest[0];
    row.cheapest_high = cheapest[1];
    row.flips = !s.base_cheapest.empty() && (cheapest[0] != s.base_cheapest || cheapest[1] != s.base_cheapest);
    s.flips = s.flips || row.flips;
    s.rows.push_back(std::move(row));
  }
  std::stable_sort(s.rows.begin(), s.rows.end(),
                   [](const TornadoRow& a, const TornadoRow& b) { return a.swing() > b.swing(); });
  return s;
}

double triangular_quantile(double low, double mode, double high, double u) {
  if (high <= low) return low;
  const double split = (mode - low) / (high - low);
  if (u < split) return low + std::sqrt(u * (high - low) * (mode - low));
  return high - std::sqrt((1 - u) * (high - low) * (high - mode));
}

namespace {

// Uniform in [0, 1) from the top 53 bits: mt19937_64's output sequence is fixed
// by the standard, std::uniform_real_distribution's is not.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Percentiles percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double p) {
    double x = p * static_cast<double>(v.size() - 1);
    size_t i = static_cast<size_t>(x);
    double frac = x - static_cast<double>(i);
    return i + 1 < v.size() ? v[i] + frac * (v[i + 1] - v[i]) : v[i];
  };
  return {at(0.05), at(0.5), at(0.95)};
}

}  // namespace

Result<MonteCarlo> monte_carlo(const Inputs& inputs, Metric metric, int samples, std::uint64_t seed) {
  auto base = decide(inputs, metric);
  if (!base) return base.error();
  MonteCarlo mc;
  mc.samples = samples;
  mc.seed = seed;
  DecisionValue bv = decision_value(*base);
  mc.value_name = bv.name;
  mc.is_ratio = bv.is_ratio;
  for (const auto& o : base->options) mc.labels.push_back(o.label);
  const size_t n_options = mc.labels.size();

  Inputs probe = inputs;
  for (const auto& ref : model_inputs(probe, true))
    if (ref.quantity->varies()) mc.varied.push_back(ref.name);

  std::mt19937_64 rng(seed);
  std::vector<int> wins(n_options, 0);
  std::vector<std::vector<double>> costs(n_options);
  std::vector<double> values;
  int decided = 0;
  for (int k = 0; k < samples; ++k) {
    Inputs drawn = inputs;
    for (const auto& ref : model_inputs(drawn, true)) {
      Quantity& q = *ref.quantity;
      if (!q.varies()) continue;
      const double mode = std::clamp(q.value, q.range->first, q.range->second);
      q.value = std::clamp(triangular_quantile(q.range->first, mode, q.range->second, uniform01(rng)), q.min, q.max);
    }
    auto d = decide(drawn, metric);
    if (!d) {
      ++mc.failed;
      continue;
    }
    values.push_back(decision_value(*d).value);
    for (size_t i = 0; i < n_options; ++i)
      if (d->options[i].per_unit) costs[i].push_back(d->options[i].per_unit->cost.total());
    if (d->cheapest) {
      ++wins[*d->cheapest];
      ++decided;
    }
  }
  for (size_t i = 0; i < n_options; ++i) {
    mc.p_cheapest.push_back(decided ? static_cast<double>(wins[i]) / decided : 0);
    mc.cost_per_unit.push_back(costs[i].empty() ? std::nullopt : std::optional<Percentiles>(percentiles(costs[i])));
  }
  if (!values.empty()) mc.value = percentiles(values);
  return mc;
}

}  // namespace gpukit
