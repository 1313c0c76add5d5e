// Xid and ECC events, ECC counter growth and memory retirement per GPU, MIG
// instance and job, through the fake NVML (tests/fixtures/machines/nvidia_events.json),
// and the report's count of jobs that saw them.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "test_support.hpp"

using nlohmann::json;
using namespace gpukit::test;

namespace {

const char* failing_h100 = "GPU-e1e1e1e1-0000-4000-8000-000000000001";
const char* healthy_h100 = "GPU-e2e2e2e2-0000-4000-8000-000000000002";
const char* no_events_l4 = "GPU-e3e3e3e3-0000-4000-8000-000000000003";
const char* mig_gi1 = "MIG-e5e5e5e5-0000-5000-8000-000000000005";
const char* mig_gi2 = "MIG-e6e6e6e6-0000-5000-8000-000000000006";
const char* a100 = "GPU-e4e4e4e4-0000-4000-8000-000000000004";
const char* other_job_h100 = "GPU-e7e7e7e7-0000-4000-8000-000000000007";

RunOptions events_machine(const std::string& visible, const std::string& machine = fixture("machines/nvidia_events.json")) {
  RunOptions o;
  o.env = {{"GPUKIT_NVML_LIBRARY", fake("nvidia/libnvidia-ml.so.1")}, {"GPUKIT_FAKE_MACHINE", machine}};
  if (!visible.empty()) o.env["CUDA_VISIBLE_DEVICES"] = visible;
  return o;
}

std::string all_held() {
  return std::string(failing_h100) + "," + healthy_h100 + "," + no_events_l4 + "," + mig_gi1 + "," + mig_gi2;
}

const json& device(const json& account, const std::string& uuid) {
  for (const auto& g : account["gpus"])
    if (g["uuid"] == uuid) return g;
  FAIL("no device " << uuid);
  static json none;
  return none;
}

std::string reason(const json& events, const char* kind) {
  const json& u = events["unavailable"];
  return u.contains(kind) && u[kind].is_string() ? u[kind].get<std::string>() : "";
}

}  // namespace

TEST_CASE("gpuaccount: Xid 79 and a double-bit ECC error during a job are counted on that GPU only") {
  std::string dir = temp_dir();
  // The events happen 0.4 and 0.5 s after NVML is opened; the job runs past them.
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--prometheus", dir + "/job.prom", "--keep-textfile",
                                   "--job-id", "9", "--", "sleep", "1.2"},
                    events_machine(all_held()));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  const json& a = doc["account"];
  REQUIRE(a["gpus"].size() == 5);

  const json& bad = device(a, failing_h100)["events"];
  CHECK(bad["source"] == "nvml-events");
  CHECK(bad["xid"]["count"] == 1);
  CHECK(bad["xid"]["codes"] == json::array({79}));
  CHECK(bad["xid"]["by_code"]["79"] == 1);
  // Read at the first poll after 0.4 s: within one interval of it.
  CHECK(bad["xid"]["first_s"].get<double>() >= 0.3);
  CHECK(bad["xid"]["first_s"].get<double>() <= 1.0);
  CHECK(bad["xid"]["first_time"].get<std::string>().size() == 20);
  CHECK(bad["ecc_double_bit_events"] == 1);
  CHECK(bad["ecc_single_bit_events"] == 0);
  // The second sources: the uncorrected counter grew by one, a row was remapped;
  // this GPU retires no pages (NOT_SUPPORTED): null with the reason, not 0.
  CHECK(device(a, failing_h100)["ecc_uncorrected_errors"] == 1);
  CHECK(device(a, failing_h100)["ecc_corrected_errors"] == 0);
  CHECK(bad["remapped_rows"] == 1);
  CHECK(bad["retired_pages"].is_null());
  CHECK(reason(bad, "retired_pages").find("Not Supported") != std::string::npos);

  const json& good = device(a, healthy_h100)["events"];
  CHECK(good["xid"]["count"] == 0);
  CHECK(good["xid"]["codes"].empty());
  CHECK(good["xid"]["first_s"].is_null());
  CHECK(good["ecc_double_bit_events"] == 0);
  CHECK(good["retired_pages"] == 0);  // two pages retired before the job: not the job's

  // A GPU that reports no event types: null with the reason, never 0.
  const json& l4 = device(a, no_events_l4)["events"];
  CHECK(l4["source"].is_null());
  CHECK(l4["xid"].is_null());
  CHECK(l4["ecc_double_bit_events"].is_null());
  CHECK(reason(l4, "xid").find("nvmlDeviceGetSupportedEventTypes") != std::string::npos);

  // MIG: the Xid names GPU instance 2; instance 1 saw nothing.
  CHECK(device(a, mig_gi2)["events"]["xid"]["codes"] == json::array({31}));
  CHECK(device(a, mig_gi1)["events"]["xid"]["count"] == 0);

  // The job: the other job's GPU (Xid 13) is not in it.
  const json& total = a["total"]["events"];
  CHECK(total["xid_count"] == 2);
  CHECK(total["xid_codes"] == json::array({31, 79}));
  CHECK(total["devices_with_xid"] == 2);
  CHECK(total["ecc_uncorrected_errors"] == 1);
  CHECK(total["remapped_rows"] == 1);
  CHECK(total["ecc_double_bit_events"] == 1);
  CHECK(total["complete"] == false);  // the L4 reports no events: the sums are lower bounds

  std::string prom = read_file(dir + "/job.prom");
  CHECK(prom.find("gpukit_gpu_xid_events_total{job_id=\"9\",uuid=\"GPU-e1e1e1e1-0000-4000-8000-000000000001\",mig_instance=\"\","
                  "model=\"NVIDIA H100 80GB HBM3\",xid=\"79\"} 1\n") != std::string::npos);
  CHECK(prom.find("gpukit_gpu_xid_events_total{job_id=\"9\",uuid=\"GPU-e2e2e2e2-0000-4000-8000-000000000002\",mig_instance=\"\","
                  "model=\"NVIDIA H100 80GB HBM3\",xid=\"79\"} 0\n") != std::string::npos);
  CHECK(prom.find("uuid=\"GPU-e3e3e3e3-0000-4000-8000-000000000003\",mig_instance=\"\",model=\"NVIDIA L4\",xid=") ==
        std::string::npos);  // not watched: no series rather than a 0
  CHECK(prom.find("gpukit_gpu_ecc_events_total{job_id=\"9\",uuid=\"GPU-e1e1e1e1-0000-4000-8000-000000000001\",mig_instance=\"\","
                  "model=\"NVIDIA H100 80GB HBM3\",type=\"double_bit\"} 1\n") != std::string::npos);
  CHECK(prom.find("gpukit_gpu_remapped_rows_total{") != std::string::npos);
  if (std::system("command -v promtool > /dev/null 2>&1") == 0)
    CHECK(std::system(("promtool check metrics < " + dir + "/job.prom").c_str()) == 0);
  else
    MESSAGE("promtool is not installed: the textfile's syntax is not checked here");

  auto table = run_tool("gpuaccount", {"-q", "-f", "table", "--interval", "0.2", "--", "sleep", "0.9"},
                        events_machine(std::string(failing_h100) + "," + no_events_l4));
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("xid 79; dbe 1; remapped rows 1") != std::string::npos);
}

TEST_CASE("gpuaccount: node mode counts every GPU's events once, MIG instances beside their GPU") {
  auto r = run_tool("gpuaccount", {"-q", "--node", "--duration", "1", "--interval", "0.2"}, events_machine(""));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  const json& a = doc["account"];
  CHECK(device(a, other_job_h100)["events"]["xid"]["codes"] == json::array({13}));
  CHECK(device(a, a100)["events"]["xid"]["codes"] == json::array({31}));  // the GPU sees its instances' events
  CHECK(device(a, mig_gi2)["events"]["xid"]["codes"] == json::array({31}));
  const json& total = a["total"]["events"];
  CHECK(total["xid_codes"] == json::array({13, 31, 79}));
  CHECK(total["xid_count"] == 3);  // Xid 31 once, on its GPU
}

TEST_CASE("gpuaccount: a failing event read gives null with the reason, the samples go on") {
  std::string dir = temp_dir();
  json machine = json::parse(read_file(fixture("machines/nvidia_events.json")));
  machine["errors"] = {{"nvmlEventSetWait", "UNKNOWN"}};
  std::ofstream(dir + "/machine.json") << machine.dump();
  auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--", "sleep", "0.6"},
                    events_machine(failing_h100, dir + "/machine.json"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  json a = json::parse(r.out)["account"];
  const json& g = device(a, failing_h100);
  CHECK(g["events"]["xid"].is_null());
  CHECK(g["events"]["ecc_double_bit_events"].is_null());
  CHECK(reason(g["events"], "xid").find("nvmlEventSetWait") != std::string::npos);
  CHECK(g["status"] == "ok");
  CHECK(g["gaps"].empty());
  CHECK(g["energy_j"].is_number());
}

TEST_CASE("gpuaccount report: jobs that saw Xid and ECC errors, by GPU model") {
  std::string dir = temp_dir();
  // Three jobs: one on the GPU that fails, one on the healthy H100, one on the L4 (not watched).
  int n = 0;
  for (const std::string& visible : {std::string(failing_h100), std::string(healthy_h100), std::string(no_events_l4)}) {
    auto r = run_tool("gpuaccount", {"-q", "--interval", "0.2", "--site", "T2_TEST", "-o",
                                     dir + "/job" + std::to_string(n++) + ".json", "--", "sleep", "0.8"},
                      events_machine(visible));
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  auto rep = run_tool("gpuaccount", {"report", "-q", dir, "-f", "json"});
  REQUIRE_MESSAGE(rep.exit_code == 0, rep.err);
  json j = json::parse(rep.out);
  CHECK(validate_against(j, "report.schema.json") == "");
  json h100, l4;
  for (const auto& g : j["by_model"]) {
    if (g["key"] == "NVIDIA H100 80GB HBM3") h100 = g;
    if (g["key"] == "NVIDIA L4") l4 = g;
  }
  REQUIRE(h100.is_object());
  REQUIRE(l4.is_object());
  CHECK(h100["jobs"] == 2);
  CHECK(h100["events"]["jobs_watched"] == 2);
  CHECK(h100["events"]["jobs_with_xid"] == 1);
  CHECK(h100["events"]["jobs_with_ecc_errors"] == 1);
  CHECK(h100["events"]["jobs_by_xid"]["79"] == 1);
  CHECK(l4["jobs"] == 1);
  CHECK(l4["events"]["jobs_watched"] == 0);  // unknown, not "no errors"
  CHECK(j["total"]["events"]["jobs_with_xid"] == 1);

  auto table = run_tool("gpuaccount", {"report", "-q", dir, "-f", "table"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("1 jobs saw an Xid (79 (1)), 1 an ECC error, of 2 jobs watched") != std::string::npos);
}
