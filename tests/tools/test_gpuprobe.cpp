// gpuprobe end to end: the real binary on recorded machines (GPUKIT_SYSFS_ROOT
// trees) with fake vendor libraries loaded through the real loader.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using gpukit::test::fake;
using gpukit::test::fixture;
using gpukit::test::run_tool;
using gpukit::test::RunOptions;
using gpukit::test::RunResult;
using json = nlohmann::json;

namespace {

// A node description: a sysfs/procfs tree plus, optionally, a scripted machine for
// the fake NVML/CUDA/amd_smi libraries.
RunOptions node(const std::string& sysfs, const std::string& machine = "", bool old_nvml = false) {
  RunOptions o;
  o.env["GPUKIT_SYSFS_ROOT"] = fixture("sysfs/" + sysfs);
  o.unset_env = {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                 "GPU_DEVICE_ORDINAL", "CUDA_DEVICE_ORDER", "HSA_XNACK"};
  if (machine.empty()) {
    o.env["GPUKIT_NVML_LIBRARY"] = "/nonexistent/libnvidia-ml.so.1";
    o.env["GPUKIT_CUDA_LIBRARY"] = "/nonexistent/libcuda.so.1";
    o.env["GPUKIT_AMDSMI_LIBRARY"] = "/nonexistent/libamd_smi.so";
  } else {
    o.env["GPUKIT_FAKE_MACHINE"] = fixture("machines/" + machine);
    o.env["GPUKIT_NVML_LIBRARY"] = fake(old_nvml ? "nvidia/old/libnvidia-ml.so.1" : "nvidia/libnvidia-ml.so.1");
    o.env["GPUKIT_CUDA_LIBRARY"] = fake("nvidia/libcuda.so.1");
    o.env["GPUKIT_AMDSMI_LIBRARY"] = fake("amdsmi/libamd_smi.so");
  }
  return o;
}

json probe(const RunOptions& o, const std::vector<std::string>& args = {}) {
  RunResult r = run_tool("gpuprobe", args, o);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  std::string problems = gpukit::test::validate_document(doc);
  CHECK_MESSAGE(problems.empty(), problems);
  return doc;
}

// Output with the parts that depend on the build and the build machine replaced.
std::string normalise(std::string text, const json& doc) {
  auto replace_all = [&](const std::string& from, const std::string& to) {
    if (from.empty()) return;
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replace_all(doc["host"]["generator"]["version"].get<std::string>(), "@VERSION@");
  replace_all(doc["host"]["hostname"].get<std::string>(), "@HOST@");
  return text;
}

}  // namespace

TEST_CASE("gpuprobe: a CPU-only node answers no_gpu with exit 0") {
  json doc = probe(node("cpu_2socket"));
  CHECK(doc["schema"] == "gpukit/1");
  CHECK(doc["gpus"].empty());
  CHECK(doc["drivers"]["nvidia"]["status"] == "no_gpu");
  CHECK(doc["drivers"]["nvidia"]["reason"].is_null());
  CHECK(doc["drivers"]["amd"]["status"] == "no_gpu");
  CHECK_FALSE(doc["drivers"].contains("intel"));
  CHECK(doc["cpu"]["sockets"] == 2);
  CHECK(doc["cpu"]["cores"] == 8);
  CHECK(doc["cpu"]["threads"] == 16);
  CHECK(doc["cpu"]["numa_nodes"].size() == 2);
  CHECK(doc["memory"]["total_bytes"].get<long long>() > 0);
  CHECK(doc["visible"]["devices"].empty());
  CHECK(doc["host"]["probe_duration_s"].get<double>() < 5.0);
}

TEST_CASE("gpuprobe: 8 x H100 SXM through NVML and the CUDA driver API") {
  json doc = probe(node("cpu_2socket", "nvidia_h100x8.json"));
  const json& nv = doc["drivers"]["nvidia"];
  CHECK(nv["status"] == "ok");
  CHECK(nv["gpu_count"] == 8);
  CHECK(nv["driver_version"]["raw"] == "550.54.14");
  CHECK(nv["driver_version"]["parts"] == json::array({550, 54, 14}));
  CHECK(nv["cuda_version"]["raw"] == "12.4");
  CHECK(nv["cuda_version"]["value"] == 12040);
  REQUIRE(doc["gpus"].size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    const json& g = doc["gpus"][i];
    CAPTURE(i);
    CHECK(g["index"] == i);
    CHECK(g["vendor"] == "nvidia");
    CHECK(g["name"] == "NVIDIA H100 80GB HBM3");
    CHECK(g["uuid"].get<std::string>().size() == 40);  // "GPU-" + 36
    CHECK(g["compute_capability"] == json({{"major", 9}, {"minor", 0}}));
    CHECK(g["multiprocessors"] == 132);
    CHECK(g["memory_bytes"] == 85520809984LL);
    CHECK(g["clocks"]["max_sm_mhz"] == 1980);
    CHECK(g["memory_bus_width_bits"] == 5120);
    CHECK(g["ecc_enabled"] == true);
    CHECK(g["power_limit_w"] == 700);
    CHECK(g["pcie"]["max_generation"] == 5);
    CHECK(g["mig"]["mode"] == "disabled");
    CHECK(g["allocatable"] == true);
    CHECK(g["source"] == "nvml+cuda");
    REQUIRE(g["catalogue"].is_object());
    CHECK(g["catalogue"]["id"] == "nvidia-h100-sxm5-80gb");
  }
  CHECK(doc["gpus"][0]["uuid"] == "GPU-3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
  CHECK(doc["gpus"][0]["pci_bus_id"] == "0000:18:00.0");
  CHECK(doc["visible"]["restricted"] == false);
  CHECK(doc["visible"]["devices"].size() == 8);
}

TEST_CASE("gpuprobe: a mixed node keeps one record per device and the CUDA order") {
  json doc = probe(node("cpu_2socket", "nvidia_mixed.json"));
  REQUIRE(doc["gpus"].size() == 3);
  CHECK(doc["gpus"][0]["name"] == "NVIDIA L4");
  CHECK(doc["gpus"][0]["cuda_index"] == 2);
  CHECK(doc["gpus"][1]["name"] == "NVIDIA A100-SXM4-40GB");
  CHECK(doc["gpus"][1]["cuda_index"] == 0);
  CHECK(doc["gpus"][0]["catalogue"]["id"] == "nvidia-l4");
  CHECK(doc["drivers"]["nvidia"]["cuda_version"]["value"] == 12020);

  // CUDA_VISIBLE_DEVICES=0 is the fastest device in CUDA's default order, not the L4.
  RunOptions o = node("cpu_2socket", "nvidia_mixed.json");
  o.env["CUDA_VISIBLE_DEVICES"] = "0";
  json restricted = probe(o);
  REQUIRE(restricted["visible"]["devices"].size() == 1);
  CHECK(restricted["visible"]["devices"][0]["uuid"] == doc["gpus"][1]["uuid"]);
  CHECK(restricted["visible"]["restricted"] == true);
  o.env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID";
  json pci_order = probe(o);
  CHECK(pci_order["visible"]["devices"][0]["uuid"] == doc["gpus"][0]["uuid"]);
}

TEST_CASE("gpuprobe: an A100 in MIG mode lists its instances and is not allocatable") {
  json doc = probe(node("nvidia_a100_mig", "nvidia_a100_mig.json"));
  REQUIRE(doc["gpus"].size() == 2);
  const json& parent = doc["gpus"][0];
  CHECK(parent["mig"]["mode"] == "enabled");
  CHECK(parent["allocatable"] == false);
  REQUIRE(parent["mig"]["instances"].size() == 3);
  CHECK(parent["mig"]["instances"][0]["profile"] == "3g.20gb");
  CHECK(parent["mig"]["instances"][1]["profile"] == "1g.5gb");
  CHECK(parent["mig"]["instances"][2]["profile"] == "1g.5gb");
  for (const auto& inst : parent["mig"]["instances"]) {
    CHECK(inst["uuid"].get<std::string>().rfind("MIG-", 0) == 0);
    CHECK(inst["parent_uuid"] == parent["uuid"]);
  }
  CHECK(doc["gpus"][1]["mig"]["mode"] == "disabled");
  CHECK(doc["gpus"][1]["allocatable"] == true);
  // Device nodes a batch system binds, from the driver's /proc files.
  CHECK(parent["device_minor"] == 0);
  CHECK(doc["gpus"][1]["device_minor"] == 1);
  CHECK(parent["mig"]["instances"][0]["gpu_instance_id"] == 2);
  CHECK(parent["mig"]["instances"][0]["gi_cap_minor"] == 21);
  CHECK(parent["mig"]["instances"][0]["ci_cap_minor"] == 22);
  // The process may use the three instances and the second GPU, not the parent.
  const json& devices = doc["visible"]["devices"];
  REQUIRE(devices.size() == 4);
  CHECK(devices[0]["kind"] == "mig");
  CHECK(devices[3]["kind"] == "gpu");
  CHECK(devices[3]["uuid"] == doc["gpus"][1]["uuid"]);

  // Each CUDA_VISIBLE_DEVICES form reaches the same instance.
  std::string mig = parent["mig"]["instances"][1]["uuid"];
  std::string parent_uuid = parent["uuid"];
  int gi = parent["mig"]["instances"][1]["gpu_instance_id"];
  int ci = parent["mig"]["instances"][1]["compute_instance_id"];
  for (const std::string& form :
       {mig, "MIG-" + parent_uuid + "/" + std::to_string(gi) + "/" + std::to_string(ci), std::string("1")}) {
    CAPTURE(form);
    RunOptions o = node("nvidia_a100_mig", "nvidia_a100_mig.json");
    o.env["CUDA_VISIBLE_DEVICES"] = form;
    json v = probe(o)["visible"];
    REQUIRE(v["devices"].size() == 1);
    CHECK(v["devices"][0]["uuid"] == mig);
    CHECK(v["problems"].empty());
  }
  RunOptions bad = node("nvidia_a100_mig", "nvidia_a100_mig.json");
  bad.env["CUDA_VISIBLE_DEVICES"] = "GPU-ffffffff,0";
  json v = probe(bad)["visible"];
  CHECK(v["devices"].empty());
  CHECK(v["problems"].size() >= 1);
}

TEST_CASE("gpuprobe: NVML refusing this user is permission_denied, exit 0") {
  json doc = probe(node("cpu_2socket", "nvidia_init_failure.json"));
  CHECK(doc["drivers"]["nvidia"]["status"] == "permission_denied");
  CHECK(doc["drivers"]["nvidia"]["reason"].get<std::string>().find("nvmlInit_v2") != std::string::npos);
  CHECK(doc["gpus"].empty());
}

TEST_CASE("gpuprobe: an old NVML without versioned symbols still answers") {
  json doc = probe(node("cpu_2socket", "nvidia_h100x8.json", /*old_nvml=*/true));
  CHECK(doc["drivers"]["nvidia"]["status"] == "ok");
  // Older than R520: no GPM either (gpuaccount's activity profiles are then null with the reason).
  CHECK(doc["drivers"]["nvidia"]["missing_symbols"] ==
        json::array({"nvmlDeviceGetMemoryBusWidth", "nvmlGpmQueryDeviceSupport", "nvmlGpmSampleAlloc", "nvmlGpmSampleFree",
                     "nvmlGpmSampleGet", "nvmlGpmMigSampleGet", "nvmlGpmMetricsGet"}));
  REQUIRE(doc["gpus"].size() == 8);
  // The CUDA driver API supplies the bus width the old NVML lacks.
  CHECK(doc["gpus"][0]["memory_bus_width_bits"] == 5120);
}

TEST_CASE("gpuprobe: a hung driver call gives status timeout within the deadline") {
  RunResult r = run_tool("gpuprobe", {"--timeout", "1"}, node("cpu_2socket", "nvidia_hang.json"));
  CHECK(r.exit_code == 0);
  CHECK(r.seconds < 2.0);
  json doc = json::parse(r.out);
  CHECK(doc["drivers"]["nvidia"]["status"] == "timeout");
  CHECK(doc["drivers"]["nvidia"]["reason"] == "nvmlDeviceGetCount_v2 did not return within 1 s");
  CHECK(doc["drivers"]["amd"]["status"] == "no_gpu");
}

TEST_CASE("gpuprobe: a GPU on PCI without a driver is reported, not hidden") {
  json doc = probe(node("pci_no_driver"));
  const json& nv = doc["drivers"]["nvidia"];
  CHECK(nv["status"] == "driver_absent");
  CHECK(nv["reason"].get<std::string>().find("1 NVIDIA GPU(s) on PCI but no driver") == 0);
  REQUIRE(doc["gpus"].size() == 1);
  const json& g = doc["gpus"][0];
  CHECK(g["driver_loaded"] == false);
  CHECK(g["allocatable"] == false);
  CHECK(g["source"] == "pci");
  CHECK(g["pci_device_id"] == "0x2330");
  CHECK(g["catalogue"]["id"] == "nvidia-h100-sxm5-80gb");
  CHECK(g["numa_node"].is_number());
}

TEST_CASE("gpuprobe: NVML missing but the driver loaded is library_absent, GPUs from /proc") {
  json doc = probe(node("nvidia_procfs_only"));
  CHECK(doc["drivers"]["nvidia"]["status"] == "library_absent");
  CHECK(doc["drivers"]["nvidia"]["source"] == "procfs");
  CHECK_FALSE(doc["gpus"].empty());
  CHECK(doc["gpus"][0]["source"] == "procfs");
}

TEST_CASE("gpuprobe: an MI250X is two GCDs of gfx90a") {
  json doc = probe(node("amd_mi250x", "amd_mi250x.json"));
  CHECK(doc["drivers"]["amd"]["status"] == "ok");
  REQUIRE(doc["gpus"].size() == 2);
  for (const auto& g : doc["gpus"]) {
    CHECK(g["vendor"] == "amd");
    CHECK(g["amdgpu"]["gfx"] == "gfx90a");
    CHECK(g["multiprocessors"] == 110);
    CHECK(g["compute_capability"].is_null());
    CHECK(g["amdgpu"]["generic"].is_array());
    REQUIRE(g["catalogue"].is_object());
    CHECK(g["catalogue"]["id"] == "amd-instinct-mi250x");
  }
  CHECK(doc["drivers"]["nvidia"]["status"] == "no_gpu");
}

TEST_CASE("gpuprobe: an MI300X is gfx942 with its generic target") {
  json doc = probe(node("amd_mi300x", "amd_mi300x.json"));
  REQUIRE(doc["gpus"].size() == 2);
  CHECK(doc["gpus"][0]["amdgpu"]["gfx"] == "gfx942");
  CHECK(doc["gpus"][0]["multiprocessors"] == 304);
  CHECK(doc["gpus"][0]["amdgpu"]["generic"] == json::array({"gfx9-4-generic"}));
  CHECK(doc["gpus"][0]["catalogue"]["id"] == "amd-instinct-mi300x");
}

TEST_CASE("gpuprobe: formats of recorded nodes against golden files") {
  struct Case {
    std::string sysfs, machine, name;
  };
  for (const Case& c : {Case{"cpu_2socket", "nvidia_h100x8.json", "h100x8"},
                        Case{"nvidia_a100_mig", "nvidia_a100_mig.json", "a100_mig"},
                        Case{"amd_mi250x", "amd_mi250x.json", "mi250x"}}) {
    RunOptions o = node(c.sysfs, c.machine);
    json doc = probe(o);
    for (const std::string format : {"classad", "nfd", "gres"}) {
      CAPTURE(c.name);
      CAPTURE(format);
      RunResult r = run_tool("gpuprobe", {"--format", format}, o);
      REQUIRE(r.exit_code == 0);
      std::string diff = gpukit::test::compare_golden("gpuprobe/" + c.name + "." + format, normalise(r.out, doc));
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }
}

TEST_CASE("gpuprobe: keeps the other sections of the input document and renders it with --from-input") {
  RunOptions o = node("cpu_2socket", "nvidia_h100x8.json");
  o.stdin_data = R"({"schema": "gpukit/1", "bench": {"kept": true}, "x_site": [1]})";
  RunResult r = run_tool("gpuprobe", {}, o);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(doc["bench"]["kept"] == true);
  CHECK(doc["x_site"] == json::array({1}));
  CHECK(doc["gpus"].size() == 8);

  RunOptions again = node("cpu_2socket");  // a different machine: --from-input must not probe it
  again.stdin_data = r.out;
  RunResult gres = run_tool("gpuprobe", {"--from-input", "--format", "gres"}, again);
  REQUIRE(gres.exit_code == 0);
  CHECK(std::count(gres.out.begin(), gres.out.end(), '\n') >= 9);
  CHECK(gres.out.find("File=/dev/nvidia") != std::string::npos);
}

TEST_CASE("gpuprobe: --output writes the document atomically") {
  std::string dir = gpukit::test::temp_dir();
  RunResult r = run_tool("gpuprobe", {"--output", dir + "/node.json"}, node("cpu_2socket"));
  CHECK(r.exit_code == 0);
  CHECK(r.out.empty());
  json doc = json::parse(gpukit::test::read_file(dir + "/node.json"));
  CHECK(doc["schema"] == "gpukit/1");
}
