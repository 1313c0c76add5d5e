#include "cost/run.hpp"

#include "core/io.hpp"
#include "cost/inputs.hpp"
#include "cost/plot.hpp"
#include "cost/report.hpp"
#include "probe/probe.hpp"

namespace gpukit {

namespace {

Result<std::vector<InputDocument>> read_documents(const CostOptions& o) {
  std::vector<InputDocument> docs;
  if (o.compare) {
    if (o.common.input) return usage_error("compare takes its documents as arguments, not --input");
    for (const auto& file : o.compare_files) {
      auto text = read_input_file(file, o.common.limits.max_bytes);
      if (!text) return text.error();
      auto doc = Document::parse(*text, file, o.common.limits);
      if (!doc) return doc.error();
      docs.push_back({file, std::move(*doc)});
    }
    return docs;
  }
  auto read = read_document(o.common.input, o.common.limits);
  if (!read) return read.error();
  std::string origin = o.common.input ? (*o.common.input == "-" ? "<stdin>" : *o.common.input) : "<stdin>";
  Document doc = read->has_value() ? std::move(**read) : Document();
  // The cost of a node needs its inventory: probe this one when the pipe brought none.
  ProbeRequest request;
  request.timeout_s = o.common.timeout_s;
  auto probed = ensure_probed(doc, request);
  if (!probed) return probed.error();
  docs.push_back({origin, std::move(doc)});
  return docs;
}

}  // namespace

Result<int> run_cost(CostOptions& o) {
  auto docs = read_documents(o);
  if (!docs) return docs.error();
  auto files = installed_cost_data();
  if (!files) return files.error();
  CommandLineValues cli{o.gpu_score, o.cpu_score, o.node_score, o.speedup, o.offload_fraction};
  auto inputs = load_inputs(*docs, o.site, cli, *files);
  if (!inputs) return inputs.error();

  std::optional<Metric> metric;
  if (o.metric) metric = *o.metric == "workflow" ? Metric::workflow : Metric::node;
  auto decision = decide(*inputs, metric);
  if (!decision) return decision.error();
  auto sens = sensitivity(*inputs, decision->metric, o.variation_percent / 100);
  if (!sens) return sens.error();

  CostResults results{*inputs, o.site ? *o.site : "defaults", *decision, break_even(*decision), *sens, std::nullopt, {}};
  if (o.samples > 0) {
    auto mc = monte_carlo(*inputs, decision->metric, o.samples, o.seed);
    if (!mc) return mc.error();
    results.monte_carlo = *mc;
  }
  results.notes = input_notes(*inputs, *decision);

  Document& doc = (*docs)[0].document;
  doc.set_section("cost", cost_section(results));
  std::string text;
  if (o.common.format == "table") text = cost_table(results);
  else if (o.common.format == "csv") text = cost_csv(results);
  else text = doc.dump();

  // The picture first: a failed write leaves nothing half-done on stdout.
  if (o.plot) {
    auto st = write_file_atomic(*o.plot, cost_plot_svg(results));
    if (!st) return st.error();
  }
  auto st = write_output(text, o.common.output);
  if (!st) return st.error();
  return 0;
}

}  // namespace gpukit
