#include "probe/probe.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "core/io.hpp"
#include "probe/catalogue.hpp"
#include "probe/cpu.hpp"
#include "probe/formats.hpp"
#include "probe/health.hpp"
#include "probe/host.hpp"
#include "probe/inventory.hpp"
#include "probe/memory.hpp"
#include "probe/visible.hpp"
#include "vendors/amd/amd.hpp"
#include "vendors/nvidia/nvidia.hpp"
#include "vendors/pci/pci.hpp"

namespace gpukit {

namespace {

constexpr const char* probe_sections[] = {"host", "cpu", "memory", "drivers", "gpus", "visible"};

}  // namespace

Status probe_node(Document& document, const ProbeRequest& request) {
  auto start = std::chrono::steady_clock::now();
  std::optional<HardwareCatalogue> catalogue;
  if (request.catalogue) {
    auto loaded = HardwareCatalogue::load_default();
    if (!loaded) return loaded.error();
    catalogue = std::move(*loaded);
  }

  // The vendor queries are the slow part and each has its own deadline: run them
  // side by side so that a wedged NVIDIA driver does not delay the AMD answer.
  auto nvidia = std::async(std::launch::async, probe_nvidia, request.timeout_s);
  auto amd = std::async(std::launch::async, probe_amd, request.timeout_s);

  json host = probe_host_section();
  json cpu = probe_cpu_section();
  json memory = probe_memory_section(cpu);
  std::vector<PciDevice> pci = scan_gpu_pci_devices();

  Inventory inventory = assemble_inventory({nvidia.get(), amd.get()}, pci);
  if (catalogue) {
    auto unknown = attach_catalogue(inventory.gpus, *catalogue);
    if (request.unknown_gpus) *request.unknown_gpus = std::move(unknown);
  }
  json drivers = json::object({{"generator", generator_stamp("gpuprobe")}});
  for (auto& [vendor, entry] : inventory.drivers.items()) drivers[vendor] = entry;
  json visible = visible_section(inventory.gpus, visible_environment());

  host["probe_duration_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  document.set_section("host", std::move(host));
  document.set_section("cpu", std::move(cpu));
  document.set_section("memory", std::move(memory));
  document.set_section("drivers", std::move(drivers));
  document.set_section("gpus", std::move(inventory.gpus));
  document.set_section("visible", std::move(visible));
  // The node's health verdict describes the GPUs an earlier probe found; with the
  // gpus section replaced it would be stale, and gpumatch would apply its
  // failures. Only --health (probe_health, after this) writes it again.
  document.remove_section("health");
  return {};
}

Status ensure_probed(Document& document, const ProbeRequest& request) {
  for (const char* s : probe_sections)
    if (!document.has(s)) return probe_node(document, request);
  return {};
}

Result<int> run_probe(ProbeOptions& options) {
  auto input = read_document(options.common.input, options.common.limits);
  if (!input) return input.error();
  Document document = input->value_or(Document());
  ProbeRequest request;
  request.timeout_s = options.common.timeout_s;
  request.catalogue = !options.no_catalogue;
  std::vector<std::string> unknown_gpus;
  request.unknown_gpus = &unknown_gpus;
  if (options.from_input && options.health)
    return usage_error("--health checks this node's GPUs; it cannot render an input document", "--from-input");
  if (options.from_input) {
    if (!input->has_value()) return usage_error("--from-input needs a node document on standard input or --input");
    for (const char* s : probe_sections)
      if (!document.has(s)) return usage_error("the input document has no '" + std::string(s) + "' section", "--from-input");
  } else if (auto st = probe_node(document, request); !st) {
    return st.error();
  }
  int status = 0;
  if (options.health) {
    auto checked = probe_health(document, options.common.timeout_s);
    if (!checked) return checked.error();
    status = *checked;
  }
  if (!unknown_gpus.empty()) {
    std::sort(unknown_gpus.begin(), unknown_gpus.end());
    unknown_gpus.erase(std::unique(unknown_gpus.begin(), unknown_gpus.end()), unknown_gpus.end());
    std::string names;
    for (const auto& n : unknown_gpus) names += (names.empty() ? "" : ", ") + n;
    warn("gpuprobe", options.common,
         "the hardware catalogue is older than this node's " + names +
             ": peaks derived from the probed clocks and units (gpus[].derived_peaks); a site can add the row "
             "(GPUKIT_SITE_HARDWARE, gpukit(7))");
  }

  std::string text;
  if (options.common.format == "json" && options.nfd.is_default()) {
    text = document.dump();
  } else {
    auto rendered = render_probe(document, options.common.format, options.nfd);
    if (!rendered) return rendered.error();
    text = std::move(*rendered);
  }
  if (auto st = write_output(text, options.common.output); !st) return st.error();
  return status;
}

}  // namespace gpukit
