#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_support.hpp"

using gpukit::test::fake;
using gpukit::test::fixture;
using gpukit::test::RunOptions;
using gpukit::test::run_tool;
using json = nlohmann::json;

namespace {

// Small and quick: CI runs every workload on the CPU at these sizes.
const std::vector<std::string> small = {"--repetitions", "2", "--max-memory", "24MiB", "--max-transfer", "1MiB"};

// The micro-benchmarks unless a test picks workloads (the HEP tests pick theirs).
std::vector<std::string> args(std::vector<std::string> a) {
  const bool picked = std::find(a.begin(), a.end(), "-w") != a.end() || std::find(a.begin(), a.end(), "--workload") != a.end();
  a.insert(a.end(), small.begin(), small.end());
  if (!picked) a.insert(a.end(), {"--workload", "micro"});
  return a;
}

RunOptions with_plugins(const std::string& dir, std::map<std::string, std::string> env = {}) {
  RunOptions o;
  o.env = std::move(env);
  o.env["GPUKIT_PLUGIN_PATH"] = dir.empty() ? gpukit::test::temp_dir() : fake("plugins/" + dir);
  return o;
}

const json& result(const json& device, const std::string& workload) {
  for (const auto& r : device["results"])
    if (r["workload"] == workload) return r;
  FAIL("no result for " << workload);
  static json none;
  return none;
}

std::string bench_problems(const json& doc) {
  std::string p = gpukit::test::validate_against(doc, "document.schema.json");
  return p + gpukit::test::validate_against(doc["bench"], "bench.schema.json");
}

}  // namespace

TEST_CASE("gpubench: the CPU suite into a pipe is a valid document with every workload accounted for") {
  auto r = run_tool("gpubench", args({"--device", "cpu", "--quick"}));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());  // no progress bar into a pipe
  json doc = json::parse(r.out);
  CHECK(gpukit::test::validate_document(doc) == "");
  const json& b = doc["bench"];
  CHECK(b["quick"] == true);
  CHECK(b["comparable"] == false);
  REQUIRE(b["devices"].size() == 1);
  const json& cpu = b["devices"][0];
  CHECK(cpu["id"] == "cpu");
  CHECK(cpu["results"].size() == 21);
  for (const auto& res : cpu["results"]) {
    INFO(res["workload"].get<std::string>() << " " << res["status"] << " " << res["reason"]);
    CHECK(res["status"] != "failed");
    if (res["status"] == "skipped") CHECK(res["reason"].is_string());
    if (res["status"] == "ok") CHECK(res["validation"]["passed"] == true);
  }
  CHECK(result(cpu, "stream_triad")["value"].get<double>() > 0);
  CHECK(result(cpu, "fma_fp64")["peak"]["value"].is_number());
}

TEST_CASE("gpubench: keeps the other sections of the document it reads") {
  RunOptions o;
  o.stdin_data = R"({"schema":"gpukit/1","match":{"answer":42}})";
  auto r = run_tool("gpubench", args({"--device", "cpu", "-w", "stream_copy"}), o);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(doc["match"]["answer"] == 42);
  CHECK(doc["bench"]["devices"][0]["results"].size() == 1);
  CHECK(doc["bench"]["comparable"] == true);
}

TEST_CASE("gpubench: table and CSV") {
  auto t = run_tool("gpubench", args({"--device", "cpu", "-w", "stream_triad,launch", "--format", "table"}));
  REQUIRE(t.exit_code == 0);
  CHECK(t.out.rfind("DEVICE", 0) == 0);
  CHECK(t.out.find("launch_latency") != std::string::npos);
  auto c = run_tool("gpubench", args({"--device", "cpu", "-w", "stream_triad", "-f", "csv"}));
  REQUIRE(c.exit_code == 0);
  CHECK(c.out.rfind("device,kind,workload,precision,status,value,unit,", 0) == 0);
  CHECK(c.out.find("\ncpu,cpu,stream_triad,fp64,ok,") != std::string::npos);
}

TEST_CASE("gpubench: bad input is one line on stderr, exit 2, nothing on stdout") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--repetitions", "0"}, "gpubench: --repetitions: Value 0 not in range 1 to 100000 (see gpubench --help)"},
      {{"--device", "cpu", "--run-timeout", "0"}, "gpubench: --run-timeout: must be positive"},
      {{"--device", "warp9"}, "gpubench: --device: unknown device 'warp9' (use an index, a GPU- or MIG- UUID, cpu, gpu or all)"},
      {{"--device", "cpu", "-w", "nope"}, "gpubench: --workload: unknown workload 'nope' (known: micro, hep, stream, fma, transfer"},
      {{"--device", "cpu", "--max-transfer", "12 parsecs"}, "gpubench: --max-transfer: "},
      {{"--device", "cpu", "--memtest-fraction", "2"}, "gpubench: --memtest-fraction: must be in (0, 0.95]"},
      {{"--device", "cpu", "--array-size", "1k"}, "gpubench: --array-size: must be at least 8KiB"},
      {{"--device", "cpu", "--max-memory", "1k"}, "gpubench: --max-memory: must be at least 1MiB"},
      {{"--device", "cpu", "--input", "/no/such/file.json"}, "gpubench: /no/such/file.json: cannot open: No such file or directory"},
  };
  for (const auto& c : cases) {
    auto r = run_tool("gpubench", c.args);
    INFO(c.args.front() << " -> " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind(c.message, 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  RunOptions bad;
  bad.stdin_data = "{\"schema\": \"gpukit/1\", \"gpus\": {}}";
  auto r = run_tool("gpubench", {"--device", "cpu"}, bad);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "gpubench: <stdin>: /gpus: expected an array, found object\n");
}

TEST_CASE("gpubench: a GPU through a plugin: every workload, transfers included, and the node figures") {
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-fake-gpu.json"), "--quick"}), with_plugins("fakegpu"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& b = doc["bench"];
  REQUIRE(b["devices"].size() == 2);  // default: the CPU and gpuprobe's visible GPU
  const json& gpu = b["devices"][1];
  CHECK(gpu["id"] == "GPU-f4ce0000-0000-4000-8000-000000000001");
  CHECK(gpu["backend"] == "fakegpu");
  CHECK(gpu["environment"]["plugin"]["file"] == "gpukit-fakegpu.so");
  CHECK(result(gpu, "h2d_pinned")["status"] == "ok");
  CHECK(result(gpu, "bidir_pageable")["status"] == "ok");
  CHECK(result(gpu, "h2d_pinned")["details"]["sweep"].size() >= 2);
  CHECK(result(gpu, "h2d_pinned")["peak"]["source"] == "PCIe gen 4 x16, one direction");
  CHECK(result(gpu, "h2d_pinned_remote")["reason"] == "this host has one NUMA node: there is no remote placement");
  // No NVML here, or an NVML that does not know the fake GPU: no power, and why.
  CHECK(result(gpu, "stream_triad")["power_w_mean"].is_null());
  CHECK(result(gpu, "stream_triad")["energy_reason"].get<std::string>().find("NVML") != std::string::npos);
  // One GPU: the node's figures are its own.
  CHECK(b["node"]["devices"] == json::array({"GPU-f4ce0000-0000-4000-8000-000000000001"}));
  CHECK(b["node"]["concurrent"] == false);
  CHECK(b["node"]["results"].size() == 19);
}

TEST_CASE("gpubench: an AMD GPU is metered through amd_smi: energy and power around the workloads") {
  // The fake plugin's GPU stands for the first GCD of the MI250X fixture, whose
  // amd_smi (the fake) reports a power ramp to 300 W within 0.4 s.
  auto o = with_plugins("fakegpu", {{"GPUKIT_FAKE_GPU_UUID", "GPU-4b8a9d0c12f3e501"},
                                    {"GPUKIT_FAKE_GPU_PCI", "0000:c1:00.0"},
                                    {"GPUKIT_SYSFS_ROOT", fixture("sysfs/amd_mi250x")},
                                    {"GPUKIT_AMDSMI_LIBRARY", fake("amdsmi/libamd_smi.so")},
                                    {"GPUKIT_FAKE_MACHINE", fixture("machines/amd_telemetry.json")}});
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-fake-amd-gpu.json"), "--quick", "--workload",
                                      "stream_triad", "--device", "GPU-4b8a9d0c12f3e501"}),
                    o);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& b = doc["bench"];
  CHECK(b["telemetry"]["amd_smi"] == "ok");
  const json* gpu = nullptr;
  for (const auto& d : b["devices"])
    if (d["id"] == "GPU-4b8a9d0c12f3e501") gpu = &d;
  REQUIRE(gpu);
  const json& triad = result(*gpu, "stream_triad");
  CHECK(triad["energy_reason"].is_null());
  REQUIRE(triad["power_w_mean"].is_number());
  CHECK(triad["power_w_mean"].get<double>() >= 100);
  // The mean comes from energy-counter deltas over the host's clock, read a moment
  // apart from the fake's own clock: allow 1 % over the scripted 300 W ceiling.
  CHECK(triad["power_w_mean"].get<double>() <= 303);
}

TEST_CASE("gpubench: two GPUs run at once for the node figures") {
  auto r = run_tool("gpubench",
                    args({"--input", fixture("bench/node-two-fake-gpus.json"), "--device", "gpu", "-w", "stream_triad,launch"}),
                    with_plugins("fakegpu", {{"GPUKIT_FAKE_GPU_COUNT", "2"}}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& node = doc["bench"]["node"];
  CHECK(node["concurrent"] == true);
  REQUIRE(node["results"].size() == 1);  // launch latency does not add up
  const json& triad = node["results"][0];
  CHECK(triad["status"] == "ok");
  CHECK(triad["concurrent"] == true);
  CHECK(triad["devices"].size() == 2);
  CHECK(triad["value"].get<double>() > 0);
}

TEST_CASE("gpubench: a hung kernel ends in exit 4 within the deadline plus one second, with what was measured") {
  const double timeout = 2;
  auto r = run_tool("gpubench",
                    args({"--input", fixture("bench/node-fake-gpu.json"), "--device", "0", "-w", "stream_copy,stream_triad,stream_dot",
                          "--timeout", "2", "--no-node"}),
                    with_plugins("fakegpu", {{"GPUKIT_FAKE_GPU_HANG", "stream_triad"}}));
  CHECK(r.exit_code == 4);
  CHECK(r.seconds < timeout + 1 + 1.5);  // + start-up and the stream_copy measured before
  CHECK(r.err.find("gpubench: warning: a deadline expired") != std::string::npos);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& b = doc["bench"];
  CHECK(b["status"] == "deadline");
  const json& gpu = b["devices"][0];
  CHECK(result(gpu, "stream_copy")["status"] == "ok");
  const json& triad = result(gpu, "stream_triad");
  CHECK(triad["status"] == "failed");
  CHECK(triad["reason"].get<std::string>().find("did not return within 2 s (a kernel or driver call hung)") !=
        std::string::npos);
  CHECK(triad["duration_s"].get<double>() <= timeout + 0.5);
  CHECK(result(gpu, "stream_dot")["status"] == "skipped");
}

TEST_CASE("gpubench: a wrong result fails validation: exit 1 and no number") {
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-fake-gpu.json"), "--device", "0", "-w", "stream,fma_fp64"}),
                    with_plugins("fakegpu", {{"GPUKIT_FAKE_GPU_BROKEN", "stream_triad"}}));
  CHECK(r.exit_code == 1);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  CHECK(doc["bench"]["status"] == "failed");
  const json& triad = result(doc["bench"]["devices"][0], "stream_triad");
  CHECK(triad["status"] == "failed");
  CHECK(triad["value"].is_null());
  CHECK(triad["validation"]["passed"] == false);
  CHECK(triad["reason"].get<std::string>().rfind("validation failed", 0) == 0);
  CHECK(result(doc["bench"]["devices"][0], "stream_add")["status"] == "ok");
}

TEST_CASE("gpubench: a device asked for that nothing can run is exit 3 naming the plugin's reason") {
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-h100-unbacked.json"), "--device", "0"}), with_plugins(""));
  CHECK(r.exit_code == 3);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("gpubench: --device: GPU-0b1e0000-0000-4000-8000-0000000000aa (NVIDIA H100 80GB HBM3): no compute "
                    "backend can run it: plugin gpukit-cuda.so: not installed (searched ",
                    0) == 0);
  auto missing = run_tool("gpubench", args({"--input", fixture("bench/node-fake-gpu.json"), "--device", "MIG-0000"}),
                          with_plugins("fakegpu"));
  CHECK(missing.exit_code == 3);
  CHECK(missing.err ==
        "gpubench: --device: MIG-0000 is not on this node (gpuprobe found 0=GPU-f4ce0000-0000-4000-8000-000000000001)\n");
}

TEST_CASE("gpubench: by default a GPU nothing can run is listed, skipped with the reason, and the CPU goes on") {
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-h100-unbacked.json"), "-w", "stream_triad"}),
                    with_plugins("abi"));
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("gpubench: warning: GPU-0b1e0000-0000-4000-8000-0000000000aa: no compute backend can run it: plugin "
                   "gpukit-cuda.so: built for backend ABI") != std::string::npos);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& b = doc["bench"];
  bool abi_reported = false;
  for (const auto& be : b["backends"])
    if (be["file"] == "gpukit-cuda.so") abi_reported = be["status"] == "abi_mismatch";
  CHECK(abi_reported);
  CHECK(b["devices"][0]["id"] == "cpu");
  CHECK(result(b["devices"][0], "stream_triad")["status"] == "ok");
  const json& h100 = b["devices"][1];
  CHECK(h100["unusable"].get<std::string>().rfind("no compute backend can run it", 0) == 0);
  CHECK(result(h100, "stream_triad")["status"] == "skipped");
  // Its peak is still known from gpuprobe's facts.
  CHECK(result(h100, "stream_triad")["peak"]["value"].get<double>() == doctest::Approx(3352.32));
}

TEST_CASE("gpubench: MIG instances are devices, and the MIG parent is skipped with the reason") {
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-mig.json"), "--device", "0,gpu", "-w", "stream_triad"}),
                    with_plugins("fakegpu"));
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& devices = doc["bench"]["devices"];
  REQUIRE(devices.size() == 3);
  CHECK(result(devices[0], "stream_triad")["reason"].get<std::string>().rfind("MIG is enabled on this GPU", 0) == 0);
  CHECK(devices[1]["kind"] == "mig");
  CHECK(result(devices[1], "stream_triad")["status"] == "ok");
  CHECK(result(devices[2], "stream_triad")["status"] == "skipped");
}

TEST_CASE("gpubench: with the CUDA plugin and no driver the tool reports why and goes on with the CPU") {
  std::string plugins = GPUKIT_TEST_PLUGINDIR;
  if (!std::filesystem::exists(plugins + "/gpukit-cuda.so") || std::filesystem::exists("/dev/nvidiactl")) {
    MESSAGE("skipped: needs gpukit-cuda.so built and no NVIDIA driver");
    return;
  }
  RunOptions o;
  o.env["GPUKIT_PLUGIN_PATH"] = plugins;
  auto r = run_tool("gpubench", args({"--input", fixture("bench/node-no-gpu.json"), "-w", "stream_triad"}), o);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  bool reported = false;
  for (const auto& be : doc["bench"]["backends"])
    if (be["file"] == "gpukit-cuda.so") {
      reported = true;
      CHECK(be["status"] == "unavailable");
      CHECK(be["reason"].get<std::string>().rfind("no usable device: CUDA driver version is insufficient", 0) == 0);
    }
  CHECK(reported);
  CHECK(doc["bench"]["devices"][0]["results"][0]["status"] == "ok");
}

namespace {

// The two fastest HEP workloads at their --quick sizes on the CPU.
const std::vector<std::string> hep_quick = {"--device", "cpu", "--quick", "--warmup", "0", "--seed", "7",
                                            "--workload", "me_eemumu,track_fit"};

std::string write_text(const std::string& name, const std::string& text) {
  std::string path = gpukit::test::temp_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The section without what scoring writes.
json without_scores(json b) {
  b.erase("scores");
  for (auto& d : b["devices"]) {
    d.erase("score");
    d.erase("workload_scores");
    for (auto& r : d["results"]) {
      r.erase("reference_value");
      r.erase("reference_ratio");
    }
  }
  return b;
}

}  // namespace

TEST_CASE("gpubench: HEP workloads on the CPU: validated throughputs, FP64/FP32 ratio and scores") {
  auto r = run_tool("gpubench", hep_quick);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& b = doc["bench"];
  const json& cpu = b["devices"][0];
  REQUIRE(cpu["results"].size() == 4);
  for (const auto& res : cpu["results"]) {
    INFO(res["workload"].get<std::string>() << " " << res["reason"]);
    CHECK(res["status"] == "ok");
    CHECK(res["family"] == "hep");
    CHECK(res["validation"]["passed"] == true);
    CHECK(res["stats"]["repetitions"] == 3);
    CHECK(res["reference_value"].get<double>() > 0);
  }
  CHECK(result(cpu, "me_eemumu_fp64")["unit"] == "events/s");
  CHECK(result(cpu, "track_fit_fp32")["unit"] == "tracks/s");
  CHECK(result(cpu, "me_eemumu_fp32")["problem_size"]["items"] == 1 << 19);
  CHECK(result(cpu, "track_fit_fp64")["problem_size"]["items"] == 1 << 14);
  const json& fp64 = result(cpu, "me_eemumu_fp64");
  CHECK(fp64["fp64_fp32_ratio"].get<double>() ==
        doctest::Approx(fp64["value"].get<double>() / result(cpu, "me_eemumu_fp32")["value"].get<double>()));
  CHECK(fp64["peak"]["fraction"].is_number());  // against the FP64 FMA peak, 462 FLOP per event
  CHECK(cpu["workload_scores"].size() == 2);
  const double score = cpu["score"].get<double>();
  CHECK(score > 0);
  const json& s = b["scores"];
  CHECK(s["benchmark_type"] == "gpukit-hep/0.1");
  CHECK(s["reference"] == "provisional-cpu-vm");
  CHECK(s["reference_provisional"] == true);
  CHECK(s["cpu_node"].get<double>() == doctest::Approx(score));
  CHECK(s["cpu_per_core"].get<double>() == doctest::Approx(score / cpu["environment"]["cores"].get<int>()));
  CHECK(s["node"].get<double>() == doctest::Approx(score));
  CHECK(s["gpu_node"].is_null());
  CHECK(s["gpu_per_device"].empty());
  CHECK(s["tool_version"] == b["generator"]["version"]);
  CHECK(s["config_hash"].get<std::string>().rfind("fnv1a64:", 0) == 0);

  // Rescoring against a reference with every value doubled halves every score
  // and changes nothing else.
  json ref = json::parse(std::ifstream(gpukit::test::fixture("../../share/gpukit/reference/provisional-cpu-vm.json")));
  for (auto& [name, w] : ref["workloads"].items())
    for (auto& [key, v] : w["values"].items()) v = v.get<double>() * 2;
  ref["name"] = "doubled";
  RunOptions o;
  o.stdin_data = r.out;
  auto re = run_tool("gpubench", {"--rescore", "--reference", write_text("doubled.json", ref.dump())}, o);
  REQUIRE(re.exit_code == 0);
  json redoc = json::parse(re.out);
  CHECK(bench_problems(redoc) == "");
  const json& rb = redoc["bench"];
  CHECK(rb["scores"]["reference"] == "doubled");
  CHECK(rb["devices"][0]["score"].get<double>() == doctest::Approx(score / 2));
  CHECK(rb["scores"]["cpu_node"].get<double>() == doctest::Approx(score / 2));
  CHECK(rb["scores"]["config_hash"] == s["config_hash"]);
  CHECK(without_scores(rb) == without_scores(b));
}

TEST_CASE("gpubench: HEP workloads on a GPU run the plugin's kernels and are validated on the host") {
  // The fake plugin runs the hep_* kernels' device functions, one work item at
  // a time, in host memory: the GPU drivers (buffers, generation then timed
  // fit, copies back, validation) run as on a real GPU.
  const std::vector<std::string> a = {"--input", fixture("bench/node-fake-gpu.json"), "--quick", "--warmup", "0",
                                      "--seed", "7", "--workload", "me_eemumu,track_fit"};
  auto r = run_tool("gpubench", a, with_plugins("fakegpu"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& gpu = doc["bench"]["devices"][1];
  REQUIRE(gpu["results"].size() == 4);
  for (const auto& res : gpu["results"]) {
    INFO(res["workload"].get<std::string>() << " " << res["reason"]);
    CHECK(res["status"] == "ok");
    CHECK(res["validation"]["passed"] == true);
    CHECK(res["details"]["speedup_vs_cpu_node"].get<double>() > 0);
  }
  const std::string me = result(gpu, "me_eemumu_fp64")["validation"]["method"];
  // 2 devices x 3 repetitions x 38 checks share the false-alarm budget: 5.87 sd each.
  CHECK(doc["bench"]["validation"]["statistical_checks"] == 228);
  CHECK(me.find("off the pole (65536 events, 5.87 sd): 10 GeV ok; 60 GeV ok; 200 GeV ok") != std::string::npos);
  CHECK(result(gpu, "track_fit_fp32")["validation"]["method"].get<std::string>().rfind("every track: phi_pos pull", 0) == 0);
  CHECK(gpu["workload_scores"].size() == 2);

  // The wrong variants of the kernels fail their validations on the GPU only,
  // and gpubench exits 1.
  for (auto [kernel, workload] : {std::pair{"hep_track_fit_fp64", "track_fit_fp64"},
                                  std::pair{"hep_me_eemumu_fp32", "me_eemumu_fp32"}}) {
    auto bad = run_tool("gpubench", a, with_plugins("fakegpu", {{"GPUKIT_FAKE_GPU_BROKEN", kernel}}));
    CHECK(bad.exit_code == 1);
    json b = json::parse(bad.out);
    CHECK(result(b["bench"]["devices"][0], workload)["status"] == "ok");
    const json& failed = result(b["bench"]["devices"][1], workload);
    CHECK(failed["status"] == "failed");
    CHECK(failed["validation"]["passed"] == false);
  }
}

TEST_CASE("gpubench: mlp_infer through the vendor GEMM beside our own kernel, unscored, and why it is missing") {
  // Our kernel at FP16 only (the fake runs it on the host), the vendor GEMM at all three.
  const std::vector<std::string> a = {"--input", fixture("bench/node-fake-gpu.json"), "--quick", "--warmup", "0",
                                      "--workload", "mlp_infer_fp16,mlp_infer_blas"};
  const std::string calls = gpukit::test::temp_dir() + "/gemm-calls.txt";
  std::remove(calls.c_str());
  auto r = run_tool("gpubench", a,
                    with_plugins("fakegpu", {{"GPUKIT_CUBLAS_LIBRARY", fake("cublas/libcublas.so.13")},
                                             {"GPUKIT_FAKE_CUBLAS_CALLS", calls}}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(bench_problems(doc) == "");
  const json& cpu = doc["bench"]["devices"][0];
  const json& gpu = doc["bench"]["devices"][1];
  CHECK(gpu["environment"]["vendor_blas"].get<std::string>().rfind("cuBLAS 13.0.0 (/", 0) == 0);
  for (const char* p : {"fp32", "fp16", "bf16"}) {
    const json& blas = result(gpu, std::string("mlp_infer_blas_") + p);
    INFO(p << " " << blas["reason"]);
    REQUIRE(blas["status"] == "ok");
    CHECK(blas["validation"]["passed"] == true);
    CHECK(blas["details"]["library"] == gpu["environment"]["vendor_blas"]);
    if (std::string(p) == "fp16") {
      CHECK(blas["details"]["vs_own_kernel"].get<double>() ==
            doctest::Approx(blas["value"].get<double>() / result(gpu, "mlp_infer_fp16")["value"].get<double>()));
      CHECK(blas["details"]["speedup_vs_cpu_node"].get<double>() ==
            doctest::Approx(blas["value"].get<double>() / result(cpu, "mlp_infer_fp16")["value"].get<double>()));
    } else {  // our kernel did not run at this precision: nothing to compare with
      CHECK(blas["details"]["vs_own_kernel"].is_null());
      CHECK(blas["details"]["speedup_vs_cpu_node"].is_null());
    }
    CHECK(blas["reference_value"].is_null());  // not part of the score
    CHECK(result(cpu, std::string("mlp_infer_blas_") + p)["reason"] ==
          "the vendor-GEMM variant of mlp_infer runs on GPUs only (cuBLAS, hipBLAS); mlp_infer is the CPU's result");
  }
  // mlp_infer is incomplete (FP16 only) and mlp_infer_blas is never scored.
  CHECK(gpu["workload_scores"] == json::object());
  // Row-major y = x W as cuBLAS's column-major y^T = W^T x^T: m = outputs,
  // n = samples, k = inputs, lda = outputs, ldb = inputs, ldc = outputs; four
  // layers per pass; an untimed first pass (handle, kernel loading) and one per
  // repetition (3), per precision (types 0, 2, 14).
  std::ifstream log(calls);
  std::map<std::string, int> seen;
  for (std::string line; std::getline(log, line);) ++seen[line];
  CHECK(seen == std::map<std::string, int>{{"256 4096 64 256 64 256 0", 4},    {"256 4096 256 256 256 256 0", 8},
                                           {"8 4096 256 8 256 8 0", 4},       {"256 4096 64 256 64 256 2", 4},
                                           {"256 4096 256 256 256 256 2", 8}, {"8 4096 256 8 256 8 2", 4},
                                           {"256 4096 64 256 64 256 14", 4},  {"256 4096 256 256 256 256 14", 8},
                                           {"8 4096 256 8 256 8 14", 4}});

  // Without a vendor GEMM the variant is skipped with the loader's reason.
  auto none = run_tool("gpubench", a, with_plugins("fakegpu"));
  REQUIRE(none.exit_code == 0);
  json n = json::parse(none.out);
  const json& g = n["bench"]["devices"][1];
  CHECK(g["environment"]["vendor_blas"].is_null());
  CHECK(g["environment"]["vendor_blas_missing"] == "no vendor GEMM on the fake GPU (GPUKIT_CUBLAS_LIBRARY names none)");
  CHECK(result(g, "mlp_infer_blas_fp16")["status"] == "skipped");
  CHECK(result(g, "mlp_infer_blas_fp16")["reason"] == "no vendor GEMM on the fake GPU (GPUKIT_CUBLAS_LIBRARY names none)");
  CHECK(result(g, "mlp_infer_fp16")["status"] == "ok");
}

TEST_CASE("gpubench: --format hepscore is the hep-workloads summary layout") {
  auto r = run_tool("gpubench", {"--device", "cpu", "--quick", "--warmup", "0", "--workload", "me_eemumu", "-f", "hepscore"});
  REQUIRE(r.exit_code == 0);
  json h = json::parse(r.out);
  CHECK(h["report"]["wl-scores"]["me_eemumu_fp64"].get<double>() > 0);
  CHECK(h["report"]["wl-stats"]["me_eemumu_fp32"]["count"] == 3);
  CHECK(h["run_info"]["copies"] == 1);
  CHECK(h["app"]["version"].is_string());
}

TEST_CASE("gpubench: a bad reference file or an even repetition count is exit 2 naming it") {
  const std::string bad = write_text("bad-reference.json", R"({"name": "x"})");
  for (const auto& a : std::vector<std::vector<std::string>>{
           {"--device", "cpu", "--workload", "me_eemumu", "--reference", bad},
           {"--rescore", "--reference", bad},
           {"--device", "cpu", "--workload", "me_eemumu", "--reference", "/nonexistent/reference.json"}}) {
    RunOptions o;
    o.stdin_data = R"({"schema":"gpukit/1"})";
    auto r = run_tool("gpubench", a, o);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(a.back()) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  auto even = run_tool("gpubench", {"--device", "cpu", "--workload", "hep", "--repetitions", "4"});
  CHECK(even.exit_code == 2);
  CHECK(even.err.find("--repetitions") != std::string::npos);
  RunOptions o;
  o.stdin_data = R"({"schema":"gpukit/1"})";
  auto none = run_tool("gpubench", {"--rescore"}, o);
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("no bench section") != std::string::npos);
}

TEST_CASE("gpubench: the real --quick CPU output feeds gpuaccount, gpucost and gpumatch") {
  auto bench = run_tool("gpubench", hep_quick);
  REQUIRE(bench.exit_code == 0);
  json doc = json::parse(bench.out);
  const double per_core = doc["bench"]["scores"]["cpu_per_core"].get<double>();
  const double node = doc["bench"]["scores"]["node"].get<double>();
  const std::string file = write_text("bench-quick.json", bench.out);

  auto account = run_tool("gpuaccount", {"--input", file, "--node", "--duration", "0.1", "--cores", "2"});
  REQUIRE(account.exit_code == 0);
  json a = json::parse(account.out)["account"]["normalised"];
  CHECK(a["source"] == "bench.scores");
  CHECK(a["cpu"]["benchmark_type"] == "gpukit-hep/0.1");
  CHECK(a["cpu"]["score_per_core"].get<double>() == doctest::Approx(per_core));

  auto cost = run_tool("gpucost", {"--input", file, "--samples", "0"});
  INFO(cost.err);
  REQUIRE(cost.exit_code == 0);
  const json cost_doc = json::parse(cost.out);
  const json& option = cost_doc["cost"]["options"][0];
  CHECK(option["per_score_hour"]["cpu"]["score"].get<double>() == doctest::Approx(doc["bench"]["scores"]["cpu_node"].get<double>()));
  CHECK(doc["bench"]["scores"]["cpu_node"].get<double>() == doctest::Approx(node));  // no GPU: the node is its CPU

  // gpumatch reads bench.scores.gpu_node and devices[].score: on this CPU-only
  // node a GPU job is a negative answer, not a complaint about the section.
  auto match = run_tool("gpumatch", {"--input", file, "--gpus", "1", "--min-score", "1"});
  INFO(match.err);
  CHECK(match.exit_code == 1);
  CHECK(match.err.find("bench") == std::string::npos);
}
