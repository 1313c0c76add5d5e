// gpuprobe: what this node is: CPU, memory, NUMA, GPUs, MIG, drivers, and what
// this process may use.
#include "core/cli.hpp"
#include "probe/probe.hpp"

int main(int argc, char** argv) {
  gpukit::ProbeOptions options;
  CLI::App app{"Inventory of this node: CPU, memory, NUMA, GPUs, MIG, drivers, visible devices", "gpuprobe"};
  gpukit::add_common_options(app, options.common, {"gpuprobe", {"json", "table", "classad", "nfd", "gres", "cric"}, 5.0});
  app.add_flag("--no-catalogue", options.no_catalogue, "Do not attach hardware-catalogue entries to the GPUs");
  app.add_flag("--health", options.health,
               "Check each GPU's health (row remapping, retired pages, ECC, PCIe link, clocks, ...); exit 1 when a "
               "check fails, 3 when the vendor library fails, 4 when a call does not return in time");
  app.add_flag("--from-input", options.from_input,
               "Render the input document's inventory in --format instead of probing this node");
  app.add_option("--nfd-names", options.nfd.names,
                 "nfd: gpukit (labels under gpukit.io/, beside GPU Feature Discovery's) or vendor (nvidia.com/, "
                 "amd.com/: only where GFD and the AMD labeller do not run)")
      ->check(CLI::IsMember({"gpukit", "vendor"}))->capture_default_str()->type_name("NAMES");
  app.add_option("--nfd-mig-strategy", options.nfd.mig_strategy,
                 "nfd: the device plugin's MIG strategy (none, single, mixed); default: from the GPUs' MIG state")
      ->check(CLI::IsMember({"none", "single", "mixed"}))->type_name("STRATEGY");
  app.add_option("--nfd-expiry", options.nfd.expiry,
                 "nfd: NFD drops the labels DURATION after this run unless rewritten (# +expiry-time)")
      ->type_name("DURATION");
  return gpukit::tool_main(app, options.common, argc, argv, [&] { return gpukit::run_probe(options); });
}
