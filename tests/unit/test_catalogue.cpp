#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "probe/catalogue.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

HardwareCatalogue mini() {
  auto c = HardwareCatalogue::load(test::fixture("catalogue/mini.json"));
  REQUIRE_MESSAGE(c.ok(), c.error().what());
  return *c;
}

std::string id_of(const json* entry) { return entry ? (*entry)["id"].get<std::string>() : "<none>"; }

// Writes `text` as a catalogue file and returns the load error's text.
std::string load_error(const std::string& text) {
  std::string path = test::temp_dir() + "/hardware.json";
  std::ofstream(path) << text;
  auto c = HardwareCatalogue::load(path);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == ExitCode::usage);
  std::string what = c.error().what();
  CHECK(what.find(path) == 0);  // the message names the file first
  return what.substr(path.size());
}

// A valid one-entry catalogue with `entry_patch` merged into the entry.
std::string one_entry(const json& entry_patch) {
  json entry = {{"id", "x"},
                {"vendor", "nvidia"},
                {"name", "X"},
                {"match", {{"names", {"NVIDIA X"}}, {"pci_device_ids", {"0x1234"}}}},
                {"source", "test"}};
  entry.merge_patch(entry_patch);
  return json{{"schema", "gpukit-hardware/1"}, {"entries", json::array({entry})}}.dump();
}

json document_gpus(const std::string& name) {
  return json::parse(test::read_file(test::fixture("documents/" + name)))["gpus"];
}

}  // namespace

TEST_CASE("catalogue: a PCI device id listed by one entry of the vendor decides") {
  HardwareCatalogue c = mini();
  CHECK(c.entries().size() == 5);
  CHECK(id_of(c.match("nvidia", "some other name", "0x2330")) == "nvidia-h100-sxm5-80gb");
  // Ids compare without case and with or without 0x.
  CHECK(id_of(c.match("nvidia", "", "0x20b0")) == "nvidia-a100-sxm4-40gb");
  CHECK(id_of(c.match("nvidia", "", "20B0")) == "nvidia-a100-sxm4-40gb");
  // The vendor must agree.
  CHECK(c.match("amd", "", "0x2330") == nullptr);
}

TEST_CASE("catalogue: a device id shared by several boards falls back to the name") {
  HardwareCatalogue c = mini();
  CHECK(id_of(c.match("amd", "AMD Instinct MI250X", "0x740c")) == "amd-instinct-mi250x");
  CHECK(id_of(c.match("amd", "amd instinct mi250", "0x740c")) == "amd-instinct-mi250");
  // A name both boards list cannot decide either.
  CHECK(c.match("amd", "AMD Instinct MI250X / MI250", "0x740c") == nullptr);
  CHECK(c.match("amd", "Aldebaran", "0x740c") == nullptr);
  // 0x7408 is listed by the MI250X only.
  CHECK(id_of(c.match("amd", "", "0x7408")) == "amd-instinct-mi250x");
}

TEST_CASE("catalogue: without a known device id, the exact name decides, ignoring case") {
  HardwareCatalogue c = mini();
  CHECK(id_of(c.match("nvidia", "NVIDIA L4", "0x27b8")) == "nvidia-l4");
  CHECK(id_of(c.match("nvidia", "  nvidia l4 ", "")) == "nvidia-l4");
  CHECK(id_of(c.match("nvidia", "NVIDIA A100-SXM4-40GB", "")) == "nvidia-a100-sxm4-40gb");
  CHECK(c.match("nvidia", "NVIDIA L40", "") == nullptr);  // exact, not a prefix
  CHECK(c.match("nvidia", "NVIDIA L4 Ultra", "") == nullptr);
  CHECK(c.match("amd", "NVIDIA L4", "") == nullptr);
  CHECK(c.match("nvidia", "", "") == nullptr);
}

TEST_CASE("catalogue: attach_catalogue fills each GPU's catalogue or null") {
  HardwareCatalogue c = mini();
  json gpus = document_gpus("nvidia_mixed.json");
  attach_catalogue(gpus, c);
  CHECK(gpus[0]["catalogue"]["id"] == "nvidia-l4");
  CHECK(gpus[0]["catalogue"]["matched_by"] == "name");
  CHECK(gpus[0]["catalogue"]["memory_bandwidth_gbs"] == 300);
  CHECK(gpus[2]["catalogue"].is_null());  // H100 PCIe is not in the small catalogue

  gpus = document_gpus("nvidia_h100x8.json");
  attach_catalogue(gpus, c);
  for (const auto& gpu : gpus) {
    const json& cat = gpu["catalogue"];
    CHECK(cat["id"] == "nvidia-h100-sxm5-80gb");
    CHECK(cat["matched_by"] == "pci_device_id");
    CHECK(cat["name"] == "H100 SXM5 80GB");
    CHECK(cat["architecture"] == "hopper");
    CHECK(cat["peak_tflops"]["fp64"] == 33.5);
    CHECK(cat["tdp_w"] == 700);
    CHECK(cat["release_date"] == "2022-09");
    CHECK(cat["source"] == "NVIDIA H100 Tensor Core GPU datasheet (accessed 2026-11)");
    CHECK_FALSE(cat.contains("match"));
    CHECK_FALSE(cat.contains("notes"));
  }

  gpus = document_gpus("amd_mi250x.json");
  attach_catalogue(gpus, c);
  CHECK(gpus[0]["catalogue"]["id"] == "amd-instinct-mi250x");
  CHECK(gpus[0]["catalogue"]["matched_by"] == "name");

  json doc = json::parse(test::read_file(test::fixture("documents/amd_mi250x.json")));
  doc["gpus"] = gpus;
  CHECK(test::validate_document(doc) == "");
}

TEST_CASE("catalogue: the installed hardware.json loads and knows the fixture GPUs") {
  auto c = HardwareCatalogue::load_default();
  REQUIRE_MESSAGE(c.ok(), c.error().what());
  CHECK(c->entries().size() > 10);
  CHECK(id_of(c->match("nvidia", "NVIDIA H100 80GB HBM3", "0x2330")) == "nvidia-h100-sxm5-80gb");
  CHECK(id_of(c->match("amd", "AMD Instinct MI250X", "0x740c")) == "amd-instinct-mi250x");
}

TEST_CASE("catalogue: a malformed file is a usage error naming the file and the entry") {
  CHECK(load_error("{\"schema\": ") .find(": invalid JSON at byte") == 0);
  CHECK(load_error("[]") == ": /: expected a JSON object, found an array");
  CHECK(load_error(R"({"schema": "gpukit-hardware/2", "entries": []})") == ": /schema: expected \"gpukit-hardware/1\"");
  CHECK(load_error(R"({"schema": "gpukit-hardware/1"})") == ": /entries: missing");
  CHECK(load_error(R"({"schema": "gpukit-hardware/1", "entries": {}})") == ": /entries: expected an array, found an object");
  CHECK(load_error(R"({"schema": "gpukit-hardware/1", "entries": [7]})") ==
        ": /entries/0: expected an object, found a number");
  CHECK(load_error(one_entry({{"id", nullptr}})) == ": /entries/0/id: missing");
  CHECK(load_error(one_entry({{"name", 5}})) == ": /entries/0/name: expected a string, found a number");
  CHECK(load_error(one_entry({{"source", ""}})) == ": /entries/0/source: is empty");
  CHECK(load_error(one_entry({{"vendor", "matrox"}})) == ": /entries/0/vendor: expected \"nvidia\", \"amd\" or \"intel\"");
  CHECK(load_error(one_entry({{"match", nullptr}})) == ": /entries/0/match: missing");
  CHECK(load_error(one_entry({{"match", {{"pci_device_ids", {"0x2330", "H100"}}}}})) ==
        ": /entries/0/match/pci_device_ids/1: \"H100\" is not a PCI device id like \"0x2330\"");
  CHECK(load_error(one_entry({{"match", {{"names", "NVIDIA X"}}}})) ==
        ": /entries/0/match/names: expected an array, found a string");
  CHECK(load_error(one_entry({{"tdp_w", "700 W"}})) == ": /entries/0/tdp_w: expected a number or null, found a string");
  CHECK(load_error(one_entry({{"release_date", 2024}})) ==
        ": /entries/0/release_date: expected a string or null, found a number");
  CHECK(load_error(one_entry({{"peak_tflops", {{"fp64", "fast"}}}})) ==
        ": /entries/0/peak_tflops/fp64: expected a number or null, found a string");

  json two = json::parse(one_entry(json::object()));
  json copy = two["entries"][0];
  two["entries"].push_back(copy);
  CHECK(load_error(two.dump()) == ": /entries/1/id: duplicate id \"x\"");
}

TEST_CASE("catalogue: an unreadable file is a usage error naming it") {
  std::string path = test::temp_dir() + "/absent.json";
  auto c = HardwareCatalogue::load(path);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == ExitCode::usage);
  CHECK(c.error().what() == path + ": cannot open: No such file or directory");
}

TEST_CASE("catalogue: a GPU the catalogue lacks gets null, the reason and the peaks its probed figures give") {
  HardwareCatalogue c = mini();
  c.set_lanes(json::parse(test::read_file(std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/compute-capability.json")));
  json gpus = document_gpus("nvidia_mixed.json");
  auto unknown = attach_catalogue(gpus, c);
  // One name per unknown GPU (gpuprobe warns once per model).
  REQUIRE(unknown == std::vector<std::string>{"NVIDIA H100 PCIe", "NVIDIA H100 PCIe"});
  const json& h100 = gpus[2];
  CHECK(h100["catalogue"].is_null());
  std::string reason = h100["catalogue_reason"];
  CHECK(reason.find("no hardware-catalogue entry for nvidia \"NVIDIA H100 PCIe\" (PCI device 0x2331)") == 0);
  CHECK(reason.find("updated 2026-11-24") != std::string::npos);
  CHECK(reason.find("older than the device") != std::string::npos);
  // 114 SMs x {64, 128, 256} lanes x 2 x 1755 MHz; 1593 MHz x 2 x 5120 bits / 8.
  const json& peaks = h100["derived_peaks"];
  CHECK(peaks["fp64_tflops"].get<double>() == doctest::Approx(25.6086).epsilon(1e-4));
  CHECK(peaks["fp32_tflops"].get<double>() == doctest::Approx(51.2172).epsilon(1e-4));
  CHECK(peaks["fp16_tflops"].get<double>() == doctest::Approx(102.434).epsilon(1e-4));
  CHECK(peaks["memory_bandwidth_gbs"].get<double>() == doctest::Approx(2039.04).epsilon(1e-4));
  CHECK(peaks["unknown"].empty());
  CHECK(peaks["sources"].size() == 4);
  // A known GPU carries no reason.
  CHECK_FALSE(gpus[0].contains("catalogue_reason"));

  json doc = json::parse(test::read_file(test::fixture("documents/nvidia_mixed.json")));
  doc["gpus"] = gpus;
  CHECK(test::validate_document(doc) == "");
}

TEST_CASE("catalogue: without lanes or clocks the peaks it cannot derive are listed as unknown") {
  json gpu = {{"vendor", "nvidia"}, {"name", "NVIDIA Future"}, {"multiprocessors", 200},
              {"compute_capability", {{"major", 15}, {"minor", 0}}}, {"clocks", {{"max_sm_mhz", 2000}}}};
  json peaks = derive_peaks(gpu, json::parse(test::read_file(std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/compute-capability.json")));
  CHECK(peaks["fp64_tflops"].is_null());
  CHECK(peaks["memory_bandwidth_gbs"].is_null());
  CHECK(peaks["unknown"] == json::array({"fp64_tflops", "fp32_tflops", "fp16_tflops", "memory_bandwidth_gbs"}));
  // Malformed probe values are skipped, not thrown on.
  gpu["compute_capability"] = {{"major", "9"}, {"minor", 0}};
  gpu["vendor"] = 3;
  CHECK(derive_peaks(gpu, json::object())["unknown"].size() == 4);
}

TEST_CASE("catalogue: a site's override file adds rows and replaces shipped ones (GPUKIT_SITE_HARDWARE)") {
  std::string site = test::fixture("catalogue/site.json");
  ::setenv("GPUKIT_SITE_HARDWARE", site.c_str(), 1);
  auto c = HardwareCatalogue::load_default();
  ::unsetenv("GPUKIT_SITE_HARDWARE");
  REQUIRE_MESSAGE(c.ok(), c.error().what());
  const json* added = c->match("nvidia", "NVIDIA Example GPU", "0x7777");
  REQUIRE(added);
  CHECK((*added)["id"] == "site-example-gpu");
  CHECK((*added)["origin"] == "site");
  const json* replaced = c->match("nvidia", "NVIDIA L4", "0x27b8");
  REQUIRE(replaced);
  CHECK((*replaced)["tdp_w"] == 70);
  CHECK((*replaced)["origin"] == "site");
  // The shipped rows are still there, and only one row has the replaced id.
  CHECK(id_of(c->match("nvidia", "NVIDIA H100 80GB HBM3", "0x2330")) == "nvidia-h100-sxm5-80gb");
  CHECK(std::count_if(c->entries().begin(), c->entries().end(), [](const json& e) { return e["id"] == "nvidia-l4"; }) == 1);

  json gpus = json::array({{{"vendor", "nvidia"}, {"name", "NVIDIA Example GPU"}, {"pci_device_id", "0x7777"}}});
  CHECK(attach_catalogue(gpus, *c).empty());
  CHECK(gpus[0]["catalogue"]["id"] == "site-example-gpu");
  CHECK(gpus[0]["catalogue"]["origin"] == "site");
}

TEST_CASE("catalogue: a broken site file is a usage error naming the variable and the entry") {
  std::string path = test::temp_dir() + "/site.json";
  std::ofstream(path) << one_entry({{"source", nullptr}});
  ::setenv("GPUKIT_SITE_HARDWARE", path.c_str(), 1);
  auto c = HardwareCatalogue::load_default();
  ::unsetenv("GPUKIT_SITE_HARDWARE");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == ExitCode::usage);
  CHECK(c.error().what().find("GPUKIT_SITE_HARDWARE=" + path + ": /entries/0/source") == 0);
}

TEST_CASE("catalogue: every shipped row has a source and a date, and V100 keeps both ends of support") {
  auto c = HardwareCatalogue::load_default();
  REQUIRE_MESSAGE(c.ok(), c.error().what());
  for (const json& e : c->entries()) {
    INFO(e["id"].get<std::string>());
    CHECK(e.value("source", std::string()).size() > 0);
    CHECK(e.value("date", std::string()).size() >= 7);
    CHECK(e.value("source", std::string()).find("research/") == std::string::npos);
  }
  const json* v100 = c->match("nvidia", "Tesla V100-SXM2-32GB", "0x1db5");
  REQUIRE(v100);
  CHECK((*v100)["end_of_support"] == "2025-08");         // CUDA 13.0 dropped Volta
  CHECK((*v100)["driver_end_of_support"] == "2028-08");  // R580, the last branch for Volta
  json gpus = json::array({{{"vendor", "nvidia"}, {"name", "Tesla V100-SXM2-32GB"}, {"pci_device_id", "0x1db5"}}});
  attach_catalogue(gpus, *c);
  CHECK(gpus[0]["catalogue"]["driver_end_of_support"] == "2028-08");
  CHECK_FALSE(gpus[0]["catalogue"].contains("note"));
}
