// gpuprobe: what this node is: CPU, memory, NUMA, GPUs, MIG, drivers, and what
// this process may use.
#include "core/cli.hpp"
#include "probe/probe.hpp"

int main(int argc, char** argv) {
  gpukit::ProbeOptions options;
  CLI::App app{"Inventory of this node: CPU, memory, NUMA, GPUs, MIG, drivers, visible devices", "gpuprobe"};
  gpukit::add_common_options(app, options.common, {"gpuprobe", {"json", "table", "classad", "nfd", "gres", "cric"}, 5.0});
  app.add_flag("--no-catalogue", options.no_catalogue, "Do not attach hardware-catalogue entries to the GPUs");
  app.add_flag("--from-input", options.from_input,
               "Render the input document's inventory in --format instead of probing this node");
  return gpukit::tool_main(app, options.common, argc, argv, [&] { return gpukit::run_probe(options); });
}
