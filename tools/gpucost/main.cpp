// gpucost: total cost of ownership, energy and carbon per unit of work.
#include <CLI/CLI.hpp>

#include "core/cli.hpp"
#include "cost/run.hpp"

int main(int argc, char** argv) {
  gpukit::CostOptions opts;
  CLI::App app{"Total cost of ownership, energy and carbon per unit of work; GPU nodes against CPU nodes", "gpucost"};
  gpukit::add_common_options(app, opts.common, {"gpucost", {"json", "table", "csv"}, 5});
  app.add_option("--site", opts.site, "Site parameters (JSON): prices, PUE, grid, lifetime... (see man gpucost)")
      ->type_name("FILE");
  app.add_option("--gpu-score", opts.gpu_score, "GPU score of nodes with GPUs (overrides bench)")
      ->check(CLI::PositiveNumber);
  app.add_option("--cpu-score", opts.cpu_score, "CPU score (overrides bench)")->check(CLI::PositiveNumber);
  app.add_option("--node-score", opts.node_score, "Node score (overrides bench)")->check(CLI::PositiveNumber);
  app.add_option("--speedup", opts.speedup, "GPU speedup of the offloaded part (default: GPU score / CPU score)")
      ->check(CLI::PositiveNumber);
  app.add_option("--offload-fraction", opts.offload_fraction, "Share of the workflow a GPU can take (default 0.15)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--metric", opts.metric, "Unit of work: workflow or node (default: workflow when it can be computed)")
      ->check(CLI::IsMember({"workflow", "node"}));
  app.add_option("--variation", opts.variation_percent, "Sensitivity: move each input by -/+ PCT percent")
      ->check(CLI::Range(0.1, 90.0))
      ->capture_default_str()
      ->type_name("PCT");
  app.add_option("--samples", opts.samples, "Monte Carlo draws (0: none)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--seed", opts.seed, "Monte Carlo seed: the same seed gives the same answer")->capture_default_str();
  app.add_option("--plot", opts.plot, "Also draw the cost bars and the tornado as SVG to FILE")->type_name("FILE.svg");
  CLI::App* compare = app.add_subcommand("compare", "Several nodes or offers side by side for the same delivered work");
  compare->add_option("documents", opts.compare_files, "Node documents (JSON), two or more")
      ->required()
      ->expected(2, -1)
      ->type_name("FILE");
  compare->fallthrough();
  compare->callback([&] { opts.compare = true; });
  return gpukit::tool_main(app, opts.common, argc, argv, [&] { return gpukit::run_cost(opts); });
}
