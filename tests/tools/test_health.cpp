// gpuprobe --health (issue 14): each level-1 check on the fake NVML, the exit
// statuses, the thresholds a site overrides, health in every output format,
// and gpumatch leaving unhealthy GPUs out.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using gpukit::test::fake;
using gpukit::test::fixture;
using gpukit::test::run_tool;
using gpukit::test::RunOptions;
using gpukit::test::RunResult;
using json = nlohmann::json;

namespace {

RunOptions node(const std::string& sysfs, const std::string& machine) {
  RunOptions o;
  o.env["GPUKIT_SYSFS_ROOT"] = sysfs.front() == '/' ? sysfs : fixture("sysfs/" + sysfs);
  o.unset_env = {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                 "GPU_DEVICE_ORDINAL", "CUDA_DEVICE_ORDER", "HSA_XNACK", "GPUKIT_SITE_HEALTH",
                 "CUDA_LAUNCH_BLOCKING", "CUDA_INJECTION64_PATH", "CUDA_AUTO_BOOST", "CUDA_DEVICE_MAX_CONNECTIONS"};
  o.env["GPUKIT_FAKE_MACHINE"] = fixture("machines/" + machine);
  o.env["GPUKIT_NVML_LIBRARY"] = fake("nvidia/libnvidia-ml.so.1");
  o.env["GPUKIT_CUDA_LIBRARY"] = fake("nvidia/libcuda.so.1");
  o.env["GPUKIT_AMDSMI_LIBRARY"] = fake("amdsmi/libamd_smi.so");
  return o;
}

struct Probed {
  int exit_code = -1;
  json doc;
  std::string err;
};

Probed health(const RunOptions& o, std::vector<std::string> args = {}) {
  args.insert(args.begin(), "--health");
  RunResult r = run_tool("gpuprobe", args, o);
  Probed p{r.exit_code, json(), r.err};
  if (!r.out.empty()) p.doc = json::parse(r.out);
  if (!p.doc.is_null()) {
    std::string problems = gpukit::test::validate_document(p.doc);
    CHECK_MESSAGE(problems.empty(), problems);
  }
  return p;
}

const json& check_of(const json& gpu, const std::string& name) {
  static const json none;
  for (const auto& c : gpu["health"]["checks"])
    if (c["name"] == name) return c;
  FAIL_CHECK("no check " << name << " in " << gpu["health"].dump());
  return none;
}

void expect(const json& gpu, const std::string& name, const std::string& status, const std::string& dcgm = "") {
  const json& c = check_of(gpu, name);
  INFO(name << ": " << c.dump());
  CHECK(c["status"] == status);
  CHECK(c["level"] == 1);
  CHECK(c["source"].is_string());
  if (!dcgm.empty()) CHECK(c["dcgm_code"] == dcgm);
  if (status == "fail" || status == "warn") CHECK(!c["reason"].get<std::string>().empty());
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = gpukit::test::temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("gpuprobe --health: a healthy 8 x H100 node passes every check, exit 0") {
  Probed p = health(node("cpu_2socket", "nvidia_h100x8.json"));
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  REQUIRE(p.doc["gpus"].size() == 8);
  for (const auto& g : p.doc["gpus"]) {
    CHECK(g["health"]["level"] == 1);
    CHECK(g["health"]["status"] == "pass");
    for (const char* name : {"row_remap_pending", "row_remap_failure", "retired_pages", "retired_pages_pending",
                             "ecc_uncorrected_volatile", "ecc_uncorrected_aggregate", "inforom", "persistence_mode",
                             "pcie_link", "pcie_replay", "clocks_event_reasons", "xid_critical"})
      expect(g, name, "pass");
    // No NVSwitch fabric scripted: unknown, never a pass.
    expect(g, "fabric", "unsupported");
  }
  CHECK(p.doc["health"]["gpus_total"] == 8);
  CHECK(p.doc["health"]["gpus_healthy"] == 8);
  CHECK(p.doc["health"]["status"] == "pass");
  CHECK(p.doc["health"]["unhealthy"].empty());
}

TEST_CASE("gpuprobe --health: each scripted condition is found on its GPU, exit 1") {
  Probed p = health(node("cpu_2socket", "nvidia_health.json"));
  INFO(p.err);
  REQUIRE(p.exit_code == 1);
  const json& g = p.doc["gpus"];
  REQUIRE(g.size() == 8);
  CHECK(g[0]["health"]["status"] == "pass");
  expect(g[0], "fabric", "pass");
  expect(g[1], "row_remap_pending", "fail", "DCGM_FR_UNCORRECTABLE_ROW_REMAP");
  CHECK(check_of(g[1], "row_remap_pending")["value"]["uncorrectable_rows"] == 3);
  CHECK(check_of(g[1], "row_remap_pending")["reason"].get<std::string>().find("3 rows") != std::string::npos);
  expect(g[1], "row_remap_failure", "pass");
  expect(g[2], "retired_pages", "fail", "DCGM_FR_RETIRED_PAGES_LIMIT");
  CHECK(check_of(g[2], "retired_pages")["value"] == 64);
  CHECK(check_of(g[2], "retired_pages")["threshold"] == 60);
  expect(g[2], "retired_pages_pending", "fail", "DCGM_FR_PENDING_PAGE_RETIREMENTS");
  expect(g[3], "ecc_uncorrected_volatile", "fail", "DCGM_FR_VOLATILE_DBE_DETECTED");
  CHECK(check_of(g[3], "ecc_uncorrected_volatile")["value"] == 2);
  expect(g[3], "ecc_uncorrected_aggregate", "warn");
  CHECK(check_of(g[3], "ecc_uncorrected_aggregate")["value"] == 5);
  expect(g[4], "inforom", "fail", "DCGM_FR_CORRUPT_INFOROM");
  expect(g[4], "persistence_mode", "warn", "DCGM_FR_PERSISTENCE_MODE");
  expect(g[5], "pcie_link", "fail", "DCGM_FR_PCIE_WIDTH");
  CHECK(check_of(g[5], "pcie_link")["value"] == json({{"generation", 3}, {"width", 4}}));
  expect(g[5], "pcie_replay", "warn", "DCGM_FR_PCI_REPLAY_RATE");
  expect(g[6], "clocks_event_reasons", "fail", "DCGM_FR_CLOCK_THROTTLE_THERMAL");
  CHECK(check_of(g[6], "clocks_event_reasons")["reason"].get<std::string>().find("hw_thermal_slowdown") !=
        std::string::npos);
  expect(g[7], "fabric", "fail", "DCGM_FR_CUDA_FM_NOT_INITIALIZED");
  expect(g[7], "xid_critical", "fail", "DCGM_FR_XID_ERROR");
  CHECK(check_of(g[7], "xid_critical")["value"] == json::array({79}));
  for (int i = 1; i < 8; ++i) CHECK(g[i]["health"]["status"] == "fail");
  CHECK(p.doc["health"]["gpus_healthy"] == 1);
  CHECK(p.doc["health"]["unhealthy"].size() == 7);
}

TEST_CASE("gpuprobe: a plain re-probe of a --health document drops the stale health verdict") {
  RunOptions o = node("cpu_2socket", "nvidia_health.json");
  Probed first = health(o);
  REQUIRE(first.exit_code == 1);
  REQUIRE(first.doc["health"]["gpus_healthy"] == 1);
  o.stdin_data = first.doc.dump();
  RunResult again = run_tool("gpuprobe", {}, o);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  json doc = json::parse(again.out);
  CHECK_FALSE(doc.contains("health"));
  REQUIRE(doc["gpus"].size() == 8);
  for (const auto& g : doc["gpus"]) CHECK_FALSE(g.contains("health"));
  // gpumatch on the re-probed document no longer fails the GPUs the old verdict named.
  o.stdin_data = again.out;
  RunResult matched = run_tool("gpumatch", {"--gpus", "1", "--format", "json"}, o);
  INFO(matched.err);
  REQUIRE((matched.exit_code == 0 || matched.exit_code == 1));
  const json m = json::parse(matched.out);
  REQUIRE(m["match"]["jobs"][0]["devices"].size() == 8);
  for (const auto& d : m["match"]["jobs"][0]["devices"])
    for (const auto& rule : d["rules"])
      if (rule["rule"] == "health") CHECK_MESSAGE(rule["outcome"] != "fail", rule.dump());
}

TEST_CASE("gpuprobe --health: row remapping under MIG is unsupported, never a pass") {
  Probed p = health(node("nvidia_a100_mig", "nvidia_a100_mig.json"));
  INFO(p.err);
  REQUIRE(p.exit_code == 0);
  const json& c = check_of(p.doc["gpus"][0], "row_remap_pending");
  CHECK(c["status"] == "unsupported");
  CHECK(c["reason"].get<std::string>().find("MIG is enabled") != std::string::npos);
}

TEST_CASE("gpuprobe --health: a call that hangs ends in exit 4 with what was checked") {
  Probed p = health(node("cpu_2socket", "nvidia_health_hang.json"), {"--timeout", "0.5"});
  INFO(p.err);
  REQUIRE(p.exit_code == 4);
  REQUIRE(p.doc["gpus"].size() == 2);
  const json& c = check_of(p.doc["gpus"][0], "row_remap_pending");
  CHECK(c["status"] == "timeout");
  CHECK(c["reason"].get<std::string>().find("nvmlDeviceGetRemappedRows did not return within 0.5 s") != std::string::npos);
  CHECK(p.doc["gpus"][0]["health"]["status"] == "timeout");
  CHECK(check_of(p.doc["gpus"][1], "nvml")["status"] == "timeout");
}

TEST_CASE("gpuprobe --health: NVML that refuses to start is a vendor failure, exit 3") {
  Probed p = health(node("pci_no_driver", "nvidia_init_failure.json"));
  INFO(p.err);
  REQUIRE(p.exit_code == 3);
  const json& c = check_of(p.doc["gpus"][0], "nvml");
  CHECK(c["status"] == "fail");
  CHECK(c["reason"].get<std::string>().find("Insufficient Permissions") != std::string::npos);
}

TEST_CASE("gpuprobe --health: the nouveau module and CUDA variables are the node's checks") {
  namespace fs = std::filesystem;
  std::string root = gpukit::test::temp_dir() + "/sysfs";
  fs::copy(fixture("sysfs/cpu_2socket"), root, fs::copy_options::recursive);
  fs::create_directories(root + "/sys/module/nouveau");
  Probed p = health(node(root, "nvidia_h100x8.json"));
  INFO(p.err);
  REQUIRE(p.exit_code == 1);
  CHECK(p.doc["health"]["checks"][0]["name"] == "nouveau");
  CHECK(p.doc["health"]["checks"][0]["status"] == "fail");
  CHECK(p.doc["health"]["checks"][0]["dcgm_code"] == "DCGM_FR_DENYLISTED_DRIVER");
  CHECK(p.doc["health"]["gpus_healthy"] == 0);

  RunOptions o = node("cpu_2socket", "nvidia_h100x8.json");
  o.env["CUDA_LAUNCH_BLOCKING"] = "1";
  o.env["CUDA_INJECTION64_PATH"] = "/opt/tool/libinject.so";
  Probed e = health(o);
  REQUIRE(e.exit_code == 0);
  const json& env = e.doc["health"]["checks"][1];
  CHECK(env["name"] == "cuda_environment");
  CHECK(env["status"] == "warn");
  CHECK(env["dcgm_code"] == "DCGM_FR_BAD_CUDA_ENV");
  CHECK(env["value"] == json::array({"CUDA_INJECTION64_PATH", "CUDA_LAUNCH_BLOCKING"}));
}

TEST_CASE("gpuprobe --health: a site overrides a threshold; a bad override is exit 2") {
  RunOptions o = node("cpu_2socket", "nvidia_health.json");
  o.env["GPUKIT_SITE_HEALTH"] =
      write_temp("site.json", R"({"checks": {"pcie_replay": {"warn_above": 1000, "source": "our links"}}})");
  Probed p = health(o);
  REQUIRE(p.exit_code == 1);
  const json& c = check_of(p.doc["gpus"][5], "pcie_replay");
  CHECK(c["status"] == "pass");
  CHECK(c["threshold"] == 1000);

  o.env["GPUKIT_SITE_HEALTH"] = write_temp("bad.json", R"({"checks": {"pcie_link": {"width_below_max": "maybe"}}})");
  RunResult r = run_tool("gpuprobe", {"--health"}, o);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("/checks/pcie_link/width_below_max: expected \"fail\" or \"warn\"") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("gpuprobe --health: every output format carries health") {
  RunOptions o = node("cpu_2socket", "nvidia_health.json");
  Probed doc = health(o);
  REQUIRE(doc.exit_code == 1);
  // Golden files, with what depends on the build and the build machine replaced.
  auto render = [&](const std::string& format) {
    RunResult r = run_tool("gpuprobe", {"--health", "--format", format}, o);
    CHECK(r.exit_code == 1);
    std::string text = r.out;
    auto replace_all = [&](const std::string& from, const std::string& to) {
      if (from.empty()) return;
      for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    };
    replace_all(doc.doc["host"]["generator"]["version"].get<std::string>(), "@VERSION@");
    replace_all(doc.doc["host"]["hostname"].get<std::string>(), "@HOST@");
    if (format != "table") CHECK(gpukit::test::compare_golden("gpuprobe/health_h100x8." + format, text) == "");
    return r.out;
  };
  std::string classad = render("classad");
  CHECK(classad.find("GPUsHealthy=1\n") != std::string::npos);
  CHECK(classad.find("Health=\"fail\"") != std::string::npos);
  CHECK(classad.find("Health=\"pass\"") != std::string::npos);
  CHECK(classad.find("HealthReason=\"row_remap_pending: row remap pending (3 rows") != std::string::npos);
  std::string nfd = render("nfd");
  CHECK(nfd.find("gpukit.io/gpu.health=fail\n") != std::string::npos);
  CHECK(nfd.find("gpukit.io/gpu.healthy=1\n") != std::string::npos);
  CHECK(nfd.find("gpukit.io/gpu.unhealthy=7\n") != std::string::npos);
  std::string gres = render("gres");
  CHECK(gres.find("# GPU 1 (GPU-8d2e4f6a-0c1b-4d3e-8f5a-6b7c8d9e0f1a) left out, unhealthy: row_remap_pending") !=
        std::string::npos);
  CHECK(gres.find("/dev/nvidia0") != std::string::npos);
  CHECK(gres.find("/dev/nvidia1\n") == std::string::npos);
  std::string table = render("table");
  CHECK(table.find("Health: 1 of 8 GPUs healthy") != std::string::npos);
  CHECK(table.find("retired_pages_pending") != std::string::npos);
}

TEST_CASE("gpumatch: a failed health check fails the device; --plan leaves it out saying why") {
  RunResult probed = run_tool("gpuprobe", {"--health"}, node("cpu_2socket", "nvidia_health.json"));
  REQUIRE(probed.exit_code == 1);
  std::string doc = write_temp("node.json", probed.out);
  std::string job = std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/examples/adept.json";
  RunResult r = run_tool("gpumatch", {"--input", doc, "--require", job, "--format", "json"});
  INFO(r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  json out = json::parse(r.out);
  bool found = false;
  for (const auto& d : out["match"]["jobs"][0]["devices"]) {
    if (d["gpu_index"] != 1) continue;
    CHECK(d["fits"] == false);
    for (const auto& rule : d["rules"])
      if (rule["rule"] == "health") {
        found = true;
        CHECK(rule["outcome"] == "fail");
        CHECK(rule["reason"].get<std::string>().rfind("health: row remap pending (3 rows", 0) == 0);
      }
  }
  CHECK(found);
  RunResult plan = run_tool("gpumatch", {"--input", doc, "--require", job, "--plan", "--format", "json"});
  INFO(plan.err);
  json p = json::parse(plan.out);
  CHECK(p["match"]["plan"]["gpu_slots"].get<int>() <= 1);
  int left_out = 0;
  for (const auto& w : p["match"]["plan"]["warnings"])
    if (w.get<std::string>().find(") left out: health: ") != std::string::npos) ++left_out;
  CHECK(left_out >= 7);
}

TEST_CASE("gpuaccount --node: one gauge says which GPUs are healthy") {
  RunOptions o = node("cpu_2socket", "nvidia_health.json");
  RunResult probed = run_tool("gpuprobe", {"--health"}, o);
  REQUIRE(probed.exit_code == 1);
  std::string dir = gpukit::test::temp_dir();
  std::string doc = write_temp("node.json", probed.out);
  RunResult r = run_tool("gpuaccount", {"-q", "--node", "--input", doc, "--duration", "0.3", "--interval", "0.1",
                                        "--prometheus", dir + "/node.prom", "--keep-textfile", "-o", dir + "/r.json"}, o);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::string text = gpukit::test::read_file(dir + "/node.prom");
  CHECK(text.find("# TYPE gpukit_gpu_healthy gauge\n") != std::string::npos);
  CHECK(text.find("gpukit_gpu_healthy{uuid=\"GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b\",mig_instance=\"\",model=\"NVIDIA H100 80GB HBM3\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("gpukit_gpu_healthy{uuid=\"GPU-8d2e4f6a-0c1b-4d3e-8f5a-6b7c8d9e0f1a\",mig_instance=\"\",model=\"NVIDIA H100 80GB HBM3\"} 0\n") !=
        std::string::npos);
}

TEST_CASE("gpubench --check: level 2 on the fake GPU plugin, into the same health part") {
  RunOptions o;
  o.env["GPUKIT_PLUGIN_PATH"] = fake("plugins/fakegpu");
  o.env["GPUKIT_NVML_LIBRARY"] = "/nonexistent/libnvidia-ml.so.1";
  o.env["GPUKIT_AMDSMI_LIBRARY"] = "/nonexistent/libamd_smi.so";
  o.unset_env = {"GPUKIT_SITE_HEALTH", "CUDA_VISIBLE_DEVICES"};
  const std::vector<std::string> small = {"--input", fixture("bench/node-fake-gpu.json"), "--check", "--max-transfer",
                                          "4MiB", "--max-memory", "32MiB", "--timeout", "60"};
  RunResult r = run_tool("gpubench", small, o);
  INFO(r.err);
  REQUIRE((r.exit_code == 0 || r.exit_code == 1));
  json doc = json::parse(r.out);
  const json& h = doc["gpus"][0]["health"];
  CHECK(h["level"] == 2);
  std::map<std::string, json> by_name;
  for (const auto& c : h["checks"]) {
    CHECK(c["level"] == 2);
    by_name[c["name"].get<std::string>()] = c;
  }
  CHECK(by_name["memory_test"]["status"] == "pass");
  // Host memory behind a PCIe 4 x16 link that is not there: the copies are
  // whatever memcpy gives, judged against 31.5 GB/s, so pass or warn, with the link's figure.
  for (const char* t : {"transfer_h2d", "transfer_d2h"}) {
    CAPTURE(t);
    CHECK((by_name[t]["status"] == "pass" || by_name[t]["status"] == "warn"));
    CHECK(by_name[t]["threshold"]["link_gbs"].get<double>() == doctest::Approx(31.5).epsilon(0.01));
  }
  // No telemetry for the fake GPU: the clock under load is unknown, never a pass.
  CHECK(by_name["sm_clock_under_load"]["status"] == "unsupported");

  o.env["GPUKIT_FAKE_GPU_BROKEN"] = "memtest_write";
  RunResult broken = run_tool("gpubench", small, o);
  INFO(broken.err);
  CHECK(broken.exit_code == 1);
  json bad = json::parse(broken.out);
  bool found = false;
  for (const auto& c : bad["gpus"][0]["health"]["checks"])
    if (c["name"] == "memory_test") {
      found = true;
      CHECK(c["status"] == "fail");
      CHECK(c["dcgm_code"] == "DCGM_FR_FAULTY_MEMORY");
    }
  CHECK(found);
}

TEST_CASE("gpuprobe --health: AMD through amd_smi: uncorrectable ECC and bad pages, and the PCIe link from sysfs") {
  Probed p = health(node("amd_mi250x", "amd_health.json"));
  INFO(p.err);
  REQUIRE(p.exit_code == 1);
  const json& g = p.doc["gpus"];
  REQUIRE(g.size() == 2);
  expect(g[0], "ecc_uncorrected_volatile", "pass");
  expect(g[0], "retired_pages", "pass");
  expect(g[0], "retired_pages_pending", "pass");
  expect(g[0], "clocks_event_reasons", "unsupported");
  CHECK(check_of(g[0], "pcie_link")["source"].get<std::string>().rfind("sysfs", 0) == 0);
  expect(g[1], "ecc_uncorrected_volatile", "fail");
  expect(g[1], "retired_pages", "fail");
  CHECK(check_of(g[1], "retired_pages")["value"] == 70);
  expect(g[1], "retired_pages_pending", "fail");
  CHECK(p.doc["health"]["gpus_healthy"].get<int>() <= 1);
}
