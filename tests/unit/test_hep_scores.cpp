// Score arithmetic of the HEP workloads: hand-computed medians, geometric means,
// weights, node aggregates, reference files and rescoring.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "bench/hep/scores.hpp"
#include "core/paths.hpp"
#include "test_support.hpp"

using namespace gpukit;
using namespace gpukit::hep;

namespace {

Reference reference_a() {
  Reference r;
  r.name = "test-a";
  r.file = "test-a.json";
  r.derived_from = "cpu";
  r.scaling = 10;
  r.weights = {{"me_eemumu", 2.0}, {"em_shower", 1.0}};
  r.values["me_eemumu"] = {{"fp64", 100.0}, {"fp32", 200.0}};
  r.values["em_shower"] = {{"fp64", 50.0}};
  return r;
}

// Hand computation (reference_a):
//   me_eemumu ratios per repetition: fp64 110/100, 90/100, 100/100; fp32 220/200,
//   180/200, 240/200 -> geometric means 1.1, 0.9, sqrt(1.0 * 1.2) = 1.0954451;
//   median 1.0954451.
//   em_shower: 100/50 in every repetition -> 2.
//   device: exp((2 ln 1.0954451 + 1 ln 2) / 3) = 1.3388659, times scaling 10.
DeviceMeasurement device(const std::string& id, const std::string& kind) {
  DeviceMeasurement d;
  d.id = id;
  d.kind = kind;
  d.name = kind == "gpu" ? "Test GPU" : "Test CPU";
  d.platform = kind == "gpu" ? "cuda" : "cpu";
  d.cores = kind == "cpu" ? 4 : 0;
  d.workloads = {WorkloadMeasurement{"me_eemumu", {{"fp64", {110, 90, 100}}, {"fp32", {220, 180, 240}}}},
                 WorkloadMeasurement{"em_shower", {{"fp64", {100, 100, 100}}}}};
  return d;
}

json reference_json() {
  return json::parse(R"({
    "schema": "gpukit-reference/1", "name": "r", "provisional": true, "derived_from": "cpu",
    "machine": {"hostname": "h", "cpu_model": "m", "logical_cpus": 2, "threads_used": 2, "gpu": null, "driver": null},
    "gpukit_version": "0.1.0", "date": "2026-11-24T03:13:25Z", "source": "test", "scaling": 2.5,
    "workloads": {"me_eemumu": {"unit": "matrix_elements_per_s", "weight": 2, "values": {"fp64": 1e6, "fp32": 2e6}}}
  })");
}

}  // namespace

TEST_CASE("hep scores: median over an odd number of repetitions") {
  CHECK(*repetition_median({3, 1, 2}) == 2);
  CHECK(*repetition_median({5}) == 5);
  CHECK(*repetition_median({9, 1, 7, 3, 5}) == 5);
  const Result<double> even = repetition_median({1, 2});
  REQUIRE_FALSE(even.ok());
  CHECK(even.error().code == ExitCode::usage);
  CHECK(even.error().message.find("even number of repetitions") != std::string::npos);
  CHECK_FALSE(repetition_median({}).ok());
}

TEST_CASE("hep scores: workload score is the median of per-repetition geometric means of ratios") {
  const Reference r = reference_a();
  const DeviceMeasurement d = device("gpu0", "gpu");
  CHECK(*workload_score(d.workloads[0], r) == doctest::Approx(1.0954451150));
  CHECK(*workload_score(d.workloads[1], r) == doctest::Approx(2.0));

  WorkloadMeasurement missing_key{"me_eemumu", {{"fp16", {1, 2, 3}}}};
  const Result<double> e1 = workload_score(missing_key, r);
  REQUIRE_FALSE(e1.ok());
  CHECK(e1.error().message == "the reference has no value for me_eemumu fp16");
  WorkloadMeasurement unknown{"nbody", {{"fp64", {1, 2, 3}}}};
  CHECK(workload_score(unknown, r).error().message == "the reference has no values for workload nbody");
  WorkloadMeasurement ragged{"me_eemumu", {{"fp64", {1, 2, 3}}, {"fp32", {1, 2}}}};
  CHECK(workload_score(ragged, r).error().message.find("different numbers of repetitions") != std::string::npos);
  WorkloadMeasurement zero{"me_eemumu", {{"fp64", {1, 0, 3}}}};
  CHECK(workload_score(zero, r).error().message.find("not positive") != std::string::npos);
  WorkloadMeasurement even{"em_shower", {{"fp64", {1, 2}}}};
  CHECK_FALSE(workload_score(even, r).ok());
}

TEST_CASE("hep scores: device score is the weighted geometric mean times scaling") {
  const Result<DeviceScore> s = device_score(device("gpu0", "gpu"), reference_a());
  REQUIRE(s.ok());
  CHECK(s->score == doctest::Approx(13.38865900));
  CHECK(s->workloads.at("em_shower") == doctest::Approx(2.0));
  // Without weights (all 1): sqrt(1.0954451 * 2) * 10 = 14.8017.
  Reference r = reference_a();
  r.weights.clear();
  CHECK(device_score(device("gpu0", "gpu"), r)->score == doctest::Approx(14.80165));
  CHECK_FALSE(device_score(DeviceMeasurement{"x", "", "gpu", "cuda", 0, {}}, r).ok());
}

TEST_CASE("hep scores: GPU, CPU, per-core and whole-node aggregates") {
  std::vector<DeviceScore> d{{"gpu0", "gpu", 0, 3.0, {}}, {"gpu1", "gpu", 0, 5.0, {}}, {"cpu", "cpu", 4, 2.0, {}}};
  const NodeScores n = node_scores(d);
  CHECK(*n.gpu_node == 8.0);
  CHECK(*n.cpu_node == 2.0);
  CHECK(*n.cpu_per_core == 0.5);
  CHECK(*n.node == 10.0);
  const NodeScores cpu_only = node_scores({{"cpu", "cpu", 2, 1.5, {}}});
  CHECK_FALSE(cpu_only.gpu_node.has_value());
  CHECK(*cpu_only.node == 1.5);
  CHECK(*cpu_only.cpu_per_core == 0.75);
  const NodeScores none = node_scores({});
  CHECK_FALSE(none.node.has_value());
}

TEST_CASE("hep scores: configuration hash is canonical FNV-1a 64") {
  // FNV-1a 64 of "{}" and of {"a":1,"b":[2,3]}, computed by hand (offset basis
  // 0xcbf29ce484222325, prime 0x100000001b3).
  CHECK(config_hash(json::object()) == "fnv1a64:08f44b07b5901a25");
  json one;
  one["b"] = {2, 3};
  one["a"] = 1;
  CHECK(config_hash(one) == "fnv1a64:55bed68470220de4");
  json other = one;
  other["a"] = 2;
  CHECK(config_hash(other) != config_hash(one));
}

TEST_CASE("hep scores: reference files are parsed and checked") {
  Result<Reference> r = parse_reference(reference_json(), "ref.json");
  REQUIRE(r.ok());
  CHECK(r->name == "r");
  CHECK(r->provisional);
  CHECK(r->scaling == 2.5);
  CHECK(r->weights.at("me_eemumu") == 2);
  CHECK(r->values.at("me_eemumu").at("fp32") == 2e6);
  CHECK(r->units.at("me_eemumu") == "matrix_elements_per_s");
  CHECK(test::validate_against(reference_json(), "reference.schema.json").empty());

  auto broken = [](const char* pointer, json value) {
    json j = reference_json();
    j[json::json_pointer(pointer)] = std::move(value);
    return parse_reference(j, "ref.json");
  };
  CHECK(broken("/derived_from", "fpga").error().what() == "ref.json: $.derived_from: must be \"cpu\" or \"gpu\"");
  CHECK(broken("/name", 3).error().what() == "ref.json: $.name: missing or not a string");
  CHECK(broken("/scaling", -1).error().what() == "ref.json: $.scaling: must be a positive number");
  CHECK(broken("/provisional", "yes").error().what() == "ref.json: $.provisional: missing or not a boolean");
  CHECK(broken("/workloads/me_eemumu/values/fp64", 0).error().what() ==
        "ref.json: $.workloads.me_eemumu.values.fp64: must be a positive throughput");
  CHECK(broken("/workloads/me_eemumu/weight", "heavy").error().what() ==
        "ref.json: $.workloads.me_eemumu.weight: must be a positive number");
  CHECK(broken("/workloads", json::object()).error().what() ==
        "ref.json: $.workloads: missing, empty or not an object");
  CHECK(broken("/machine", 1).error().what() == "ref.json: $.machine: missing or not an object");
  CHECK(parse_reference(json::array(), "ref.json").error().what() ==
        "ref.json: $: a reference file must be a JSON object");
  CHECK(broken("/workloads/me_eemumu/values/fp64", 0).error().code == ExitCode::usage);

  const std::string dir = test::temp_dir();
  CHECK(read_reference_file(dir + "/absent.json").error().code == ExitCode::usage);
  std::ofstream(dir + "/bad.json") << "{not json";
  CHECK(read_reference_file(dir + "/bad.json").error().what() == dir + "/bad.json: not valid JSON");
}

TEST_CASE("hep scores: the shipped reference files are valid, measured and provisional where CPU-derived") {
  const std::string dir = std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/reference";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    CAPTURE(entry.path().string());
    const json j = json::parse(test::read_file(entry.path().string()));
    CHECK(test::validate_against(j, "reference.schema.json").empty());
    Result<Reference> r = read_reference_file(entry.path().string());
    REQUIRE(r.ok());
    if (r->derived_from == "cpu") CHECK(r->provisional);
    for (const char* w : {"me_eemumu", "em_shower", "track_fit", "mlp_infer"}) CHECK(r->values.count(w) == 1);
  }
  CHECK(files >= 1);
}

TEST_CASE("hep scores: raw values and references side by side, and rescoring against another reference") {
  const std::vector<DeviceMeasurement> devices{device("GPU-1", "gpu"), device("GPU-2", "gpu"), device("cpu", "cpu")};
  const json config{{"quick", true}, {"workloads", {"me_eemumu", "em_shower"}}, {"repetitions", 3}};
  Result<json> doc = score_document(devices, reference_a(), config);
  REQUIRE(doc.ok());
  const json& d = *doc;
  CHECK(d["config_hash"] == config_hash(config));
  CHECK(d["generator"]["tool"] == "gpubench");
  CHECK(d["reference"]["name"] == "test-a");
  const json& first = d["devices"][0]["workloads"][0]["results"];
  // std::map order: fp32 before fp64.
  CHECK(first[1]["key"] == "fp64");
  CHECK(first[1]["throughput"] == json({110, 90, 100}));
  CHECK(first[1]["reference"] == 100.0);
  CHECK(first[1]["median"] == 100.0);
  CHECK(d["devices"][0]["score"].get<double>() == doctest::Approx(13.38865900));
  CHECK(d["scores"]["gpu_node"].get<double>() == doctest::Approx(2 * 13.38865900));
  CHECK(d["scores"]["cpu_per_core"].get<double>() == doctest::Approx(13.38865900 / 4));
  CHECK(d["scores"]["node"].get<double>() == doctest::Approx(3 * 13.38865900));
  CHECK(d["devices"][0]["cores"].is_null());

  // A reference with every throughput doubled halves every ratio, hence every score.
  Reference b = reference_a();
  b.name = "test-b";
  for (auto& [w, values] : b.values)
    for (auto& [k, v] : values) v *= 2;
  Result<json> re = rescore(d, b);
  REQUIRE(re.ok());
  CHECK((*re)["reference"]["name"] == "test-b");
  CHECK((*re)["config_hash"] == d["config_hash"]);
  CHECK((*re)["devices"][0]["workloads"][0]["results"][1]["throughput"] == json({110, 90, 100}));
  CHECK((*re)["devices"][0]["score"].get<double>() == doctest::Approx(13.38865900 / 2));
  CHECK((*re)["scores"]["node"].get<double>() == doctest::Approx(3 * 13.38865900 / 2));
  // Rescoring with the original reference gives the original scores back.
  CHECK((*rescore(*re, reference_a()))["scores"] == d["scores"]);

  // A reference missing a measured sub-result cannot score the document.
  Reference c = reference_a();
  c.values["me_eemumu"].erase("fp32");
  CHECK(rescore(d, c).error().message == "the reference has no value for me_eemumu fp32");
  json broken = d;
  broken["devices"][0]["workloads"][0]["results"][0]["throughput"] = "fast";
  CHECK(rescore(broken, b).error().what() ==
        "<scored document>: $.devices[0].workloads[0].results: each result needs a string key and a throughput array");
  CHECK(rescore(json::object(), b).error().what() == "<scored document>: $.devices: missing or not an array");
}
