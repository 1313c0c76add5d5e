// GPM activity profiles and usage classes through the fake NVML
// (tests/fixtures/machines/nvidia_gpm.json).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

using nlohmann::json;
using namespace gpukit::test;

namespace {

const char* fp64_gpu = "GPU-a1a1a1a1-0000-4000-8000-000000000001";
const char* tensor_gpu = "GPU-a2a2a2a2-0000-4000-8000-000000000002";
const char* idle_a100 = "GPU-a3a3a3a3-0000-4000-8000-000000000003";
const char* mig = "MIG-a5a5a5a5-0000-5000-8000-000000000005";
const char* failing_gpu = "GPU-a6a6a6a6-0000-4000-8000-000000000006";

RunOptions gpm_machine() {
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", fake("nvidia/libnvidia-ml.so.1")},
           {"GPUKIT_FAKE_MACHINE", fixture("machines/nvidia_gpm.json")},
           {"CUDA_VISIBLE_DEVICES", std::string(fp64_gpu) + "," + tensor_gpu + "," + idle_a100 + "," + mig + "," + failing_gpu}};
  return o;
}

const json& device(const json& account, const std::string& uuid) {
  for (const auto& g : account["gpus"])
    if (g["uuid"] == uuid) return g;
  FAIL("no device " << uuid);
  static json none;
  return none;
}

}  // namespace

TEST_CASE("gpuaccount: GPM activity and usage classes per GPU, MIG instance and job") {
  std::string dir = temp_dir();
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--series", dir + "/s.tsv", "--prometheus", dir + "/job.prom", "--keep-textfile",
                                   "--job-id", "7", "--", "sleep", "1.2"},
                    gpm_machine());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  const json& a = doc["account"];
  REQUIRE(a["gpus"].size() == 5);

  const json& fp64 = device(a, fp64_gpu);
  CHECK(fp64["activity"]["source"] == "nvml-gpm");
  CHECK(fp64["activity"]["samples"].get<int>() >= 3);
  CHECK(fp64["activity"]["mean"]["fp64_active_pct"].get<double>() == doctest::Approx(55).epsilon(0.001));
  CHECK(fp64["activity"]["mean"]["tensor_dfma_active_pct"].get<double>() == doctest::Approx(10).epsilon(0.001));
  // NVML gives PCIe in MiB/s; the record in bytes/s.
  CHECK(fp64["activity"]["mean"]["pcie_rx_bytes_per_s"].get<double>() == doctest::Approx(200.0 * 1048576).epsilon(0.001));
  CHECK(fp64["usage_class"] == "fp64");
  CHECK(fp64["usage_class_basis"] == "gpm");

  const json& tensor = device(a, tensor_gpu);
  CHECK(tensor["usage_class"] == "tensor");
  // SM activity rises from 80 % at 10 % per second: the mean lies between the
  // first and last sample's, the maximum at the last.
  double mean = tensor["activity"]["mean"]["sm_active_pct"], max = tensor["activity"]["max"]["sm_active_pct"];
  CHECK(mean > 80);
  CHECK(mean < max);
  CHECK(max < 95);
  CHECK(tensor["activity"]["mean"]["pcie_tx_bytes_per_s"].is_null());  // not scripted: not given, not 0

  // No GPM: null with the reason, and the class the classic counters allow.
  const json& a100 = device(a, idle_a100);
  CHECK(a100["activity"]["mean"].is_null());
  CHECK(a100["activity"]["source"].is_null());
  CHECK(a100["activity"]["reason"].get<std::string>().find("GPM is not supported on this GPU") != std::string::npos);
  CHECK(a100["usage_class"] == "idle-held");
  CHECK(a100["usage_class_basis"] == "utilization");

  const json& slice = device(a, mig);
  CHECK(slice["kind"] == "mig");
  CHECK(slice["activity"]["mean"]["dram_active_pct"].get<double>() == doctest::Approx(75).epsilon(0.001));
  CHECK(slice["usage_class"] == "memory-bound");

  const json& failing = device(a, failing_gpu);
  CHECK(failing["activity"]["mean"].is_null());
  CHECK(failing["activity"]["reason"].get<std::string>().find("nvmlGpmSampleGet") != std::string::npos);
  CHECK(failing["usage_class_basis"] == "utilization");
  CHECK(failing["usage_class"] == "unknown");
  CHECK(failing["gaps"].empty());  // one failing call costs the activity, not the sample

  // The job: means weighted by the GPU-seconds held; FP64 and tensor work side by side is mixed.
  CHECK(a["total"]["activity"]["fp64_active_pct"].is_number());
  CHECK(a["total"]["usage_class"] == "mixed");

  // Series: GPM columns, summed over the GPUs that have it (the MIG slice at its fraction).
  std::istringstream tsv(read_file(dir + "/s.tsv"));
  std::string header, row, last;
  std::getline(tsv, header);
  CHECK(header.find("\tgpu_sm_active_pct\tgpu_tensor_active_pct\tgpu_fp64_active_pct") != std::string::npos);
  while (std::getline(tsv, row)) last = row;
  std::vector<std::string> cells;
  std::istringstream cs(last);
  for (std::string c; std::getline(cs, c, '\t');) cells.push_back(c);
  REQUIRE(cells.size() == 27);
  CHECK(std::stod(cells[23]) == doctest::Approx(55).epsilon(0.01));  // gpu_fp64_active_pct: only the FP64 GPU

  // Prometheus: the GPM families, named after their DCGM fields in HELP.
  std::string prom = read_file(dir + "/job.prom");
  CHECK(prom.find("gpukit_gpu_fp64_active_ratio{job_id=\"7\",uuid=\"GPU-a1a1a1a1-0000-4000-8000-000000000001\"") != std::string::npos);
  CHECK(prom.find("DCGM_FI_PROF_PIPE_FP64_ACTIVE") != std::string::npos);
  CHECK(prom.find("gpukit_gpu_usage_class{") != std::string::npos);
  CHECK(prom.find("gpukit_gpu_fp64_active_ratio{job_id=\"7\",uuid=\"GPU-a3a3a3a3") == std::string::npos);  // no GPM: no sample
  if (std::system("command -v promtool > /dev/null 2>&1") == 0)
    CHECK(std::system(("promtool check metrics < " + dir + "/job.prom").c_str()) == 0);
  else
    MESSAGE("promtool is not installed: the textfile's syntax is not checked here");

  // The table says it too.
  RunOptions o = gpm_machine();
  auto table = run_tool("gpuaccount", {"-q", "-f", "table", "--interval", "0.2", "--", "sleep", "0.5"}, o);
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("fp64") != std::string::npos);
}

TEST_CASE("gpuaccount: a site's usage-class thresholds, and a bad file refused before the command starts") {
  std::string dir = temp_dir();
  std::string site = dir + "/classes.json";
  // This site calls a GPU below 90 % SM activity idle-held.
  {
    std::ofstream(site) << R"({"thresholds": {"idle_sm_active_pct": 90}})";
  }
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--usage-classes", site, "--", "sleep", "0.6"}, gpm_machine());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json a = json::parse(r.out)["account"];
  CHECK(device(a, fp64_gpu)["usage_class"] == "idle-held");
  {
    std::ofstream(site) << R"({"thresholds": {"idle_sm_active_pct": "high"}})";
  }
  auto bad = run_tool("gpuaccount", {"-q", "--usage-classes", site, "--", "touch", dir + "/started"}, gpm_machine());
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("thresholds.idle_sm_active_pct: expected a number") != std::string::npos);
  CHECK(bad.err.find("the command was not started") != std::string::npos);
  CHECK(::access((dir + "/started").c_str(), F_OK) != 0);
}
