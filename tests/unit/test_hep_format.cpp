// `gpubench --format hepscore`: the hep-workloads summary layout, against a
// golden file and the fields hep-score reads.
#include <doctest/doctest.h>

#include <cmath>

#include "bench/hep/hepscore_format.hpp"
#include "test_support.hpp"

using namespace gpukit;
using namespace gpukit::hep;

namespace {

std::vector<DeviceMeasurement> two_gpus() {
  DeviceMeasurement a{"GPU-6a7c1c5e-0000-0000-0000-000000000001", "NVIDIA H100 80GB HBM3", "gpu", "cuda", 0,
                      {WorkloadMeasurement{"me_eemumu", {{"fp64", {1.0e9, 1.2e9, 1.1e9}}, {"fp32", {3.0e9, 2.0e9, 2.5e9}}}},
                       WorkloadMeasurement{"mlp_infer", {{"fp16", {4.0e7, 5.0e7, 4.5e7}}}}}};
  DeviceMeasurement b = a;
  b.id = "GPU-6a7c1c5e-0000-0000-0000-000000000002";
  b.workloads[0].throughput["fp64"] = {0.9e9, 1.0e9, 1.3e9};
  return {a, b};
}

HepscoreRunInfo info() {
  HepscoreRunInfo i;
  i.version = "0.1.0";
  i.description = "gpukit gpubench HEP workloads (e+e- -> mu+mu- matrix elements, EM showers, Kalman track fits, MLP inference)";
  i.threads_per_copy = 1;
  i.events_per_thread = 1048576;
  i.extra_arguments = "--workloads hep --repetitions 3";
  i.log = "ok";
  return i;
}

}  // namespace

TEST_CASE("hep format: the hepscore summary matches its golden file") {
  const json j = hepscore_summary(two_gpus(), info());
  CHECK(test::compare_golden("hep/hepscore_summary.json", j.dump(2) + "\n") == "");
}

TEST_CASE("hep format: the fields hep-score reads are there, with node sums over devices") {
  const json j = hepscore_summary(two_gpus(), info());
  // hepscore.py requires app, run_info and report["wl-scores"].
  REQUIRE(j.contains("app"));
  REQUIRE(j.contains("run_info"));
  REQUIRE(j["report"].contains("wl-scores"));
  CHECK(j["run_info"]["copies"] == 2);
  CHECK(j["run_info"]["threads_per_copy"] == 1);
  CHECK(j["run_info"]["events_per_thread"] == 1048576);
  CHECK(j["run_info"]["extra_arguments"] == "--workloads hep --repetitions 3");
  // wl-scores: sum over devices of each device's values in its median repetition
  // of the workload: per-repetition geometric means sqrt(fp64 x fp32) are
  // 1.732, 1.549, 1.658 on a (repetition 2) and 1.643, 1.414, 1.803 on b (repetition 0).
  CHECK(j["report"]["wl-scores"]["me_eemumu_fp64"].get<double>() == doctest::Approx(1.1e9 + 0.9e9));
  CHECK(j["report"]["wl-scores"]["me_eemumu_fp32"].get<double>() == doctest::Approx(2.5e9 + 3.0e9));
  CHECK(j["report"]["wl-scores"]["mlp_infer_fp16"].get<double>() == doctest::Approx(2 * 4.5e7));
  // wl-stats: over the per-repetition node sums 1.9e9, 2.2e9, 2.4e9.
  const json& st = j["report"]["wl-stats"]["me_eemumu_fp64"];
  CHECK(st["avg"].get<double>() == doctest::Approx(6.5e9 / 3));
  CHECK(st["median"].get<double>() == doctest::Approx(2.2e9));
  CHECK(st["min"].get<double>() == doctest::Approx(1.9e9));
  CHECK(st["max"].get<double>() == doctest::Approx(2.4e9));
  CHECK(st["count"] == 3);
  CHECK(j["report"]["log"] == "ok");
  for (const char* k : {"version", "description", "cvmfs_checksum", "bmkdata_checksum", "bmk_checksum", "containment"})
    CHECK(j["app"].contains(k));
  REQUIRE(j["app"]["devices"].size() == 2);
  CHECK(j["app"]["devices"][1]["device_id"] == "GPU-6a7c1c5e-0000-0000-0000-000000000002");
  CHECK(j["app"]["devices"][0]["name"] == "NVIDIA H100 80GB HBM3");
  CHECK(j["app"]["devices"][0]["platform"] == "cuda");
}

TEST_CASE("hep format: a CPU-only run is one copy with its threads") {
  DeviceMeasurement cpu{"cpu", "Intel Xeon", "cpu", "cpu", 2, {WorkloadMeasurement{"track_fit", {{"fp64", {5e5}}}}}};
  HepscoreRunInfo i = info();
  i.threads_per_copy = 2;
  const json j = hepscore_summary({cpu}, i);
  CHECK(j["run_info"]["copies"] == 1);
  CHECK(j["run_info"]["threads_per_copy"] == 2);
  CHECK(j["report"]["wl-scores"]["track_fit_fp64"] == 5e5);
  CHECK(j["report"]["wl-stats"]["track_fit_fp64"]["count"] == 1);
}

TEST_CASE("hep format: the median repetition is the one whose score gpubench takes") {
  const WorkloadMeasurement w{"me_eemumu", {{"fp64", {1.0e9, 1.2e9, 1.1e9}}, {"fp32", {3.0e9, 2.0e9, 2.5e9}}}};
  CHECK(median_repetition(w) == 2);
  Reference ref;
  ref.name = "r";
  ref.values["me_eemumu"] = {{"fp64", 2.0e8}, {"fp32", 7.0e9}};
  // gpubench's workload score is the geometric mean of that repetition's ratios.
  const double at_median = std::sqrt(1.1e9 / 2.0e8 * (2.5e9 / 7.0e9));
  CHECK(workload_score(w, ref).value() == doctest::Approx(at_median).epsilon(1e-15));
}

TEST_CASE("hep format: the hep-score configuration carries gpubench's weights and scaled ref_scores") {
  Reference ref;
  ref.name = "provisional-x";
  ref.scaling = 2.0;
  ref.values["me_eemumu"] = {{"fp64", 1.5e7}, {"fp32", 2.0e7}};
  ref.values["mlp_infer"] = {{"fp16", 3.0e5}};
  ref.weights["me_eemumu"] = 1.0;
  ref.weights["mlp_infer"] = 0.5;
  HepscoreConfigInfo i;
  i.version = "0.1.0";
  const std::string y = hepscore_config_yaml(ref, {"mlp_infer"}, i);
  CHECK(y.find("    gpubench-mlp_infer:\n") != std::string::npos);
  CHECK(y.find("gpubench-me_eemumu") == std::string::npos);  // not scored: not listed
  CHECK(y.find("      weight: 0.5\n") != std::string::npos);
  CHECK(y.find("        mlp_infer_fp16: 0.3\n") != std::string::npos);  // 3e5 / 1e6
  CHECK(y.find("    scaling: 2e-06\n") == std::string::npos);
  CHECK(y.find("    scaling: 2.0e-06\n") != std::string::npos);
  CHECK(y.find("    repetitions: 1\n") != std::string::npos);
  CHECK(y.find("    method: geometric_mean\n") != std::string::npos);
  i.devices = 2;
  CHECK(hepscore_config_yaml(ref, {}, i).find("sum of the device scores") != std::string::npos);
  CHECK(hepscore_config_yaml(ref, {}, i).find("gpubench-me_eemumu") != std::string::npos);
}
