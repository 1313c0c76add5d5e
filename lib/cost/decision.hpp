// Decisions on top of the node model: options side by side for the same
// delivered work, the offload (Amdahl) case with its break-even points, and how
// robust the answer is (tornado and Monte Carlo).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cost/model.hpp"

namespace gpukit {

// What a unit of work is. node: the node's benchmark score (bench.scores.node;
// the CPU score for a node without GPUs). workflow: a HEP workflow of which a
// fraction f can be offloaded: the CPU score times the Amdahl node speedup.
enum class Metric { node, workflow };
const char* metric_name(Metric metric);

// Per score-hour figures for one kind of score (gpu, cpu, node), or why not.
struct ScoreFigures {
  std::string kind;
  std::optional<PerScoreHour> figures;
  std::string source;  // where the score came from
  std::string reason;  // why figures is empty
};

struct OptionResult {
  std::string label;
  bool has_gpus = false;
  NodeCost cost;
  std::optional<double> score;  // delivered units per hour at full use
  std::string score_source;
  std::optional<double> offload_speedup, node_speedup;  // workflow metric, nodes with GPUs
  std::optional<PerScoreHour> per_unit;
  std::string reason;  // why per_unit is empty
  double nodes_for_throughput = 0;  // nodes delivering Decision::throughput
  std::vector<ScoreFigures> per_score;  // gpu, cpu, node
};

struct Decision {
  Metric metric = Metric::node;
  std::string metric_reason;
  double offload_fraction = 0;
  std::vector<OptionResult> options;
  std::optional<size_t> cheapest;  // lowest cost per unit
  double throughput = 0;           // units per year all options are scaled to (the largest node's)
};

// Evaluates every option. The options are the input nodes, plus the first node
// without its GPUs when Inputs has a single node with GPUs (is adding them worth
// it?). `metric`: nullopt picks workflow when every option has a workflow score
// and one has GPUs, else node.
Result<Decision> decide(const Inputs& inputs, std::optional<Metric> metric);

// The one number a decision turns on: with two or more priced options, the first
// option's cost per unit over the best other's (above 1: the other is cheaper);
// else the first option's cost per unit; else its annual cost.
struct DecisionValue {
  double value = 0;
  std::string name;
  bool is_ratio = false;
};
DecisionValue decision_value(const Decision& decision);

// Where a GPU option and the cheapest option without GPUs cost the same per unit.
struct BreakEven {
  std::string option, reference;
  double cost_per_unit = 0, reference_cost_per_unit = 0;
  // Workflow metric only: the node speedup the GPU option needs, and the
  // offload speedup that gives it (empty when even an infinite one cannot).
  std::optional<double> node_speedup_needed, max_node_speedup, offload_speedup_needed;
  std::string offload_speedup_note;
  std::optional<double> utilisation_needed;  // the GPU option's, the reference at the site's
  std::string utilisation_note;
  // x the current price (0.6 = 40 % cheaper) of the GPU cards, or of the whole
  // node when the site gave the offer's total.
  std::optional<double> price_factor;
  std::string price_basis;  // "gpu cards" or "node"
  std::string price_note;
};
std::vector<BreakEven> break_even(const Decision& decision);

// Each input moved by -/+ variation (a fraction), the others fixed.
struct TornadoRow {
  std::string input, unit;
  double base = 0, low = 0, high = 0;          // the input's values
  double value_low = 0, value_high = 0;        // the decision value at low and high
  std::string cheapest_low, cheapest_high;
  bool flips = false;                           // the cheapest option changes
  double swing() const;
};
struct Sensitivity {
  double variation = 0;
  std::string value_name;
  bool is_ratio = false;
  double base_value = 0;
  std::string base_cheapest;
  std::vector<TornadoRow> rows;  // largest swing first
  bool flips = false;
};
Result<Sensitivity> sensitivity(const Inputs& inputs, Metric metric, double variation);

struct Percentiles {
  double p5 = 0, p50 = 0, p95 = 0;
};
// Every input with a documented range drawn from a triangular distribution
// (low, value, high) with a fixed seed: the same seed gives the same answer.
struct MonteCarlo {
  int samples = 0;
  std::uint64_t seed = 0;
  int failed = 0;                   // samples the model rejected
  std::vector<std::string> varied;  // the inputs drawn
  std::vector<std::string> labels;
  std::vector<double> p_cheapest;                         // per option
  std::vector<std::optional<Percentiles>> cost_per_unit;  // per option
  std::string value_name;
  bool is_ratio = false;
  std::optional<Percentiles> value;
};
Result<MonteCarlo> monte_carlo(const Inputs& inputs, Metric metric, int samples, std::uint64_t seed);

// Inputs the sensitivity and Monte Carlo move, in a fixed order; cost_only
// leaves out those that only change carbon.
struct InputRef {
  std::string name;
  Quantity* quantity;
};
std::vector<InputRef> model_inputs(Inputs& inputs, bool cost_only);

// Draws from triangular(low, mode, high) by inverting its CDF at u in [0, 1).
double triangular_quantile(double low, double mode, double high, double u);

}  // namespace gpukit
