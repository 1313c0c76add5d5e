// The typed node model (lib/core/node): one reader of gpuprobe's sections and
// the bench section, every field checked with its JSON path.
#include <doctest/doctest.h>

#include <string>

#include "core/document.hpp"
#include "core/node.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

Document fixture_document(const std::string& name) {
  auto d = Document::parse(test::read_file(test::fixture("documents/" + name)), name);
  REQUIRE(d.ok());
  return *d;
}

// The model of `doc` with `edit` applied, or its error message.
std::string model_error(json doc) {
  auto text = dump_json(doc);
  auto d = Document::parse(text, "node.json");
  if (!d) return d.error().what();
  auto m = read_node_model(*d, "node.json");
  if (m) {
    auto b = read_bench_view(*d, "node.json");
    return b ? "read" : b.error().what();
  }
  CHECK(m.error().code == ExitCode::usage);
  return m.error().what();
}

json fixture_json(const std::string& name) {
  return json::parse(test::read_file(test::fixture("documents/" + name)));
}

}  // namespace

TEST_CASE("node model: gpuprobe's sections of a MIG node") {
  Document doc = fixture_document("nvidia_a100_mig.json");
  auto m = read_node_model(doc, "nvidia_a100_mig.json");
  REQUIRE(m.ok());
  REQUIRE(m->host);
  CHECK(m->host->hostname == "a100-mig-03");
  CHECK(m->host->os_pretty_name == "Rocky Linux 9.4 (Blue Onyx)");
  CHECK_FALSE(m->host->container_runtime);  // null: unknown
  REQUIRE(m->cpu);
  CHECK(m->cpu->sockets == 2);
  CHECK(m->cpu->cores == 64);
  CHECK(m->cpu->threads == 128);
  REQUIRE(m->cpu->numa_nodes.size() == 2);
  CHECK(m->cpu->numa_nodes[1].cpus == "32-63,96-127");
  CHECK(m->cpu->numa_nodes[1].memory_bytes == 270582939648ULL);
  REQUIRE(m->cpu->allowed);
  REQUIRE(m->memory);
  CHECK(m->memory->total_bytes.has_value());
  const NodeDriver* nvidia = m->driver("nvidia");
  REQUIRE(nvidia);
  REQUIRE(nvidia->cuda_version);
  CHECK(nvidia->cuda_version->value == 12040);
  CHECK(nvidia->cuda_version->parts == std::vector<std::int64_t>{12, 4});
  REQUIRE(m->gpus);
  REQUIRE(m->gpus->size() == 2);
  const NodeGpu& a100 = (*m->gpus)[0];
  CHECK(a100.mig_enabled());
  REQUIRE(a100.mig_instances.size() == 2);
  CHECK(a100.mig_instances[0].profile == "3g.20gb");
  CHECK(a100.mig_instances[0].gi_cap_minor == 21);
  CHECK(a100.mig_instances[0].memory_bytes == 20937965568ULL);
  CHECK(a100.catalogue.is_null());  // "catalogue": null in this fixture: unknown
  REQUIRE(m->visible);
  CHECK(m->visible->restricted);
  CHECK(m->visible->devices.size() == 2);
}

TEST_CASE("node model: every fixture document reads") {
  for (const char* name : {"amd_mi250x.json", "cpu_only.json", "nvidia_a100_mig.json", "nvidia_h100x8.json", "nvidia_mixed.json"}) {
    CAPTURE(name);
    Document doc = fixture_document(name);
    auto m = read_node_model(doc, name);
    CHECK_MESSAGE(m.ok(), (m.ok() ? "" : m.error().what()));
    auto b = read_bench_view(doc, name);
    CHECK(b.ok());
  }
}

TEST_CASE("node model: a field of the wrong type or range names its path") {
  json doc = fixture_json("nvidia_h100x8.json");
  REQUIRE(doc["gpus"].size() > 2);
  json bad = doc;
  bad["gpus"][2]["memory_bytes"] = "80GB";
  CHECK(model_error(bad) == "node.json: /gpus/2/memory_bytes: expected an integer >= 0 or null, found a string");
  bad = doc;
  bad["gpus"][2]["memory_bytes"] = -1;
  CHECK(model_error(bad) == "node.json: /gpus/2/memory_bytes: expected an integer >= 0 or null, found a number");
  bad = doc;
  bad["gpus"][1]["compute_capability"]["major"] = 9.5;
  CHECK(model_error(bad) == "node.json: /gpus/1/compute_capability/major: expected an integer >= 0 or null, found a number");
  bad = doc;
  bad["cpu"]["cores"] = 10000000000LL;
  CHECK(model_error(bad) == "node.json: /cpu/cores: expected an integer from 0 to 2147483647, found 10000000000");
  bad = doc;
  bad["cpu"]["numa_nodes"][0] = 3;
  CHECK(model_error(bad) == "node.json: /cpu/numa_nodes/0: expected an object, found a number");
  bad = doc;
  bad["drivers"]["nvidia"] = "535.54.03";
  CHECK(model_error(bad) == "node.json: /drivers/nvidia: expected an object or null, found a string");
  bad = doc;
  bad["drivers"]["nvidia"]["driver_version"]["parts"] = json::array({535, "x"});
  CHECK(model_error(bad) == "node.json: /drivers/nvidia/driver_version/parts/1: expected an integer >= 0, found a string");
  bad = doc;
  bad["visible"]["restricted"] = "yes";
  CHECK(model_error(bad) == "node.json: /visible/restricted: expected a boolean or null, found a string");
  bad = doc;
  bad["visible"]["problems"] = json::array({"ok", 7});
  CHECK(model_error(bad) == "node.json: /visible/problems/1: expected a string, found a number");
  bad = doc;
  bad["gpus"][0]["mig"] = json::array();
  CHECK(model_error(bad) == "node.json: /gpus/0/mig: expected an object or null, found an array");
}

TEST_CASE("node model: the bench view is checked like the model") {
  json doc = fixture_json("nvidia_mixed.json");
  doc["bench"] = {{"scores", {{"gpu_node", 12.5}, {"reference", "ref-1"}}},
                  {"devices", json::array({{{"id", "GPU-1"}, {"kind", "gpu"}, {"power_w_mean", 210.5},
                                            {"results", json::array({{{"workload", "fma_fp64"}, {"status", "ok"},
                                                                      {"unit", "TFLOP/s"}, {"value", 30.1}}})}}})}};
  auto d = Document::parse(dump_json(doc), "node.json");
  REQUIRE(d.ok());
  auto b = read_bench_view(*d, "node.json");
  REQUIRE(b.ok());
  REQUIRE(b->has_value());
  const BenchView& v = **b;
  CHECK(v.gpu_node == 12.5);
  CHECK(v.reference == "ref-1");
  REQUIRE(v.devices.size() == 1);
  CHECK(v.devices[0].power_w_mean == 210.5);
  REQUIRE(v.devices[0].results.size() == 1);
  CHECK(v.devices[0].results[0].value == 30.1);

  doc["bench"]["devices"] = json::object();
  CHECK(model_error(doc) == "node.json: /bench/devices: expected an array or null, found an object");
  doc["bench"]["devices"] = json::array({{{"id", 5}}});
  CHECK(model_error(doc) == "node.json: /bench/devices/0/id: expected a string or null, found a number");
}

TEST_CASE("node model: unknown keys and sections pass through untouched, and null is unknown") {
  json doc = fixture_json("nvidia_mixed.json");
  doc["gpus"][0]["future_field"] = {{"nested", json::array({1, 2})}};
  doc["gpus"][0]["numa_node"] = nullptr;
  doc["drivers"]["notes"] = "kept";
  doc["drivers"]["vendorx"] = {{"status", "ok"}};
  doc["site_extension"] = {{"a", 1}};
  const std::string text = dump_json(doc, 2) + "\n";
  auto d = Document::parse(text, "node.json");
  REQUIRE(d.ok());
  auto m = read_node_model(*d, "node.json");
  REQUIRE(m.ok());
  CHECK_FALSE((*m->gpus)[0].numa_node);
  CHECK(m->driver("vendorx"));
  CHECK_FALSE(m->driver("notes"));
  CHECK(d->dump() == text);  // the document is the carrier: written back byte for byte
}

TEST_CASE("node model: from a JSON root and single sections") {
  CHECK_FALSE(read_node_model(json::array(), "x").ok());
  auto wrong = read_node_model(json{{"gpus", json::object()}}, "x");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().what() == "x: /gpus: expected an array, found an object");
  auto gpus = read_gpus_section(json::array({{{"name", "L4"}, {"index", 0}}}), "inventory");
  REQUIRE(gpus.ok());
  CHECK((*gpus)[0].name == "L4");
  auto visible = read_visible_section(json{{"restricted", true}, {"environment", {{"CUDA_VISIBLE_DEVICES", "0"}}}}, "v");
  REQUIRE(visible.ok());
  CHECK(visible->restricted);
  REQUIRE(visible->environment.size() == 1);
  CHECK(visible->environment[0].second == "0");
}
