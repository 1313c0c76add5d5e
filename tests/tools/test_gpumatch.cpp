// gpumatch end to end: the binary run as a pilot or a site admin would, on the
// fixture nodes, with real and broken payloads, checking exit codes, the one
// line on stderr for each input error, golden outputs and the schemas.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace gpukit::test;
using nlohmann::json;

namespace {

std::string node(const std::string& name) { return fixture("match/" + name + ".json"); }
std::string example(const std::string& name) { return std::string(GPUKIT_TEST_SOURCE_DIR) + "/share/gpukit/examples/" + name + ".json"; }
std::string payload(const std::string& name) { return fake("payloads/" + name); }

// A test case that needs a payload calls this first, before any check: its
// "skipped:" message marks the whole test skipped in CTest
// (SKIP_REGULAR_EXPRESSION in tests/tools/CMakeLists.txt), never passed.
bool have_payload(const std::string& name) {
  if (std::filesystem::exists(payload(name))) return true;
  MESSAGE("skipped: test payload " << name << " was not built (nvcc or hipcc missing; scripts/setup installs hipcc)");
  return false;
}

RunResult gpumatch(const std::vector<std::string>& args, const RunOptions& options = {}) {
  return run_tool("gpumatch", args, options);
}

// An input error: exit 2, nothing on stdout, one line on stderr.
void check_usage_error(const RunResult& r, const std::string& expected_line) {
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == expected_line + "\n");
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = temp_dir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("gpumatch: golden verdicts of the example jobs on every fixture node") {
  const std::vector<std::pair<std::string, std::vector<int>>> nodes = {
      // adept, mig-inference, amd-fp64, cpu-job
      {"nvidia_h100x8_cuda122", {0, 1, 1, 0}}, {"nvidia_h100x8_cuda130", {0, 1, 1, 0}},
      {"nvidia_a100_mig", {1, 0, 1, 0}},       {"nvidia_mixed", {0, 1, 1, 0}},
      {"amd_mi250x", {1, 1, 0, 0}},            {"amd_mi300x", {1, 1, 0, 0}},
      {"cpu_only", {1, 1, 1, 0}}};
  const std::vector<std::string> jobs = {"adept", "mig-inference", "amd-fp64", "cpu-job"};
  for (const auto& [n, codes] : nodes) {
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      auto r = gpumatch({"--input", node(n), "--require", example(jobs[i]), "--format", "table"});
      INFO(n << " " << jobs[i] << ": " << r.err);
      CHECK(r.exit_code == codes[i]);
      CHECK(r.err.empty());
      CHECK(compare_golden("match/" + n + "." + jobs[i] + ".txt", r.out) == "");
    }
  }
}

TEST_CASE("gpumatch: the JSON document keeps gpuprobe's sections and adds a valid match section") {
  auto r = gpumatch({"--input", node("nvidia_a100_mig"), "--require", example("mig-inference"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  json doc = json::parse(r.out);
  CHECK(validate_document(doc) == "");
  json input = json::parse(read_file(node("nvidia_a100_mig")));
  CHECK(doc["gpus"] == input["gpus"]);
  const json& m = doc["match"];
  CHECK(m["fits"] == true);
  CHECK(m["mode"] == "match");
  CHECK(m["generator"]["tool"] == "gpumatch");
  CHECK(m["jobs"][0]["placement"]["devices"][0] == "MIG-0000b002-1111-2222-3333-00000000b002");
  CHECK(m["jobs"][0]["devices"].size() == 6);

  // A negative answer is still a whole document, with exit 1.
  auto no = gpumatch({"--input", node("cpu_only"), "--gpus", "1", "--format", "json"});
  CHECK(no.exit_code == 1);
  json d2 = json::parse(no.out);
  CHECK(validate_document(d2) == "");
  CHECK(d2["match"]["fits"] == false);
  CHECK(d2["match"]["jobs"][0]["placement"]["rules"][0]["reason"] == "1 device(s) needed, 0 fitting and free (0 fit)");
}

TEST_CASE("gpumatch: a pilot evaluates the export lines") {
  auto r = gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--require", example("adept"), "--format", "env"});
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "# gpumatch placement for adept\n"
        "export CUDA_VISIBLE_DEVICES='GPU-0000a000-1111-2222-3333-00000000a000'\n"
        "export GPUKIT_CPUS='0-7'\n"
        "export GPUKIT_MEMS='0'\n"
        "export OMP_NUM_THREADS=8\n");
  auto amd = gpumatch({"--input", node("amd_mi250x"), "--require", example("amd-fp64"), "--format", "env"});
  CHECK(amd.exit_code == 0);
  CHECK(amd.out.find("export ROCR_VISIBLE_DEVICES='GPU-0000d000-1111-2222-3333-00000000d000,GPU-0000d001-1111-2222-3333-00000000d001'\n") !=
        std::string::npos);
  CHECK(amd.out.find("export GPUKIT_CPUS='0-13'\n") != std::string::npos);
  auto no = gpumatch({"--input", node("amd_mi250x"), "--require", example("adept"), "--format", "env"});
  CHECK(no.exit_code == 1);
  CHECK(no.out == "# gpumatch: adept does not fit this node\n");
}

TEST_CASE("gpumatch: two jobs placed together, and the env of one of them") {
  auto r = gpumatch({"--input", node("nvidia_h100x8_cuda122"), "--jobs", example("two-jobs"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  json m = json::parse(r.out)["match"];
  CHECK(m["mode"] == "jobs");
  const json& a = m["jobs"][0]["placement"];
  const json& b = m["jobs"][1]["placement"];
  CHECK(a["devices"].size() == 1);
  CHECK(b["devices"].size() == 2);
  for (const auto& d : b["devices"]) CHECK(d != a["devices"][0]);
  CHECK(a["cpus"] == "0-7");
  CHECK(b["cpus"] == "8-15");
  auto env = gpumatch({"--input", node("nvidia_h100x8_cuda122"), "--jobs", example("two-jobs"), "--format", "env", "--job", "simulation"});
  CHECK(env.exit_code == 0);
  CHECK(env.out.find("export OMP_NUM_THREADS=8\n") != std::string::npos);
  check_usage_error(gpumatch({"--input", node("nvidia_h100x8_cuda122"), "--jobs", example("two-jobs"), "--format", "env"}),
                    "gpumatch: --format: --format env prints one job: name it with --job");
  check_usage_error(gpumatch({"--input", node("nvidia_h100x8_cuda122"), "--jobs", example("two-jobs"), "--format", "env", "--job", "x"}),
                    "gpumatch: --job: no job named \"x\" in the list");
}

TEST_CASE("gpumatch: slot plans as HTCondor and Slurm configuration") {
  const std::vector<std::string> base = {"--input", node("nvidia_h100x8_cuda130"), "--require", example("adept"), "--plan",
                                         "--cpu-job-cores", "1", "--cpu-memory-per-core", "2GiB"};
  for (const std::string f : {"condor", "slurm", "table"}) {
    auto args = base;
    args.insert(args.end(), {"--format", f});
    auto r = gpumatch(args);
    CHECK(r.exit_code == 0);
    CHECK(compare_golden("match/plan.adept.h100." + f + ".txt", r.out) == "");
  }
  auto args = base;
  args.insert(args.end(), {"--format", "json"});
  auto j = gpumatch(args);
  REQUIRE(j.exit_code == 0);
  json doc = json::parse(j.out);
  CHECK(validate_document(doc) == "");
  CHECK(doc["match"]["plan"]["gpu_slots"] == 8);
  CHECK(doc["match"]["plan"]["cpu_slots"] == 64);
  CHECK(doc["match"]["plan"]["warnings"][0].get<std::string>().rfind("a per-core limit of 2 GiB x 8 cores", 0) == 0);
  // The memlock limit on the MIG node leaves no GPU slot: a negative answer.
  auto none = gpumatch({"--input", node("nvidia_a100_mig"), "--require", example("adept"), "--plan", "--format", "json"});
  CHECK(none.exit_code == 1);
}

TEST_CASE("gpumatch: Slurm plans name devices as Slurm does and describe the node as slurmd -C does") {
  // The recorded MIG node: one MIG type per instance, the whole GPU by its own type, shards only on it.
  auto mig = gpumatch({"--input", fixture("documents/nvidia_a100_mig.json"), "--gpus", "1", "--plan", "--format", "slurm",
                       "--share", "shard:2"});
  CHECK(mig.exit_code == 0);
  CHECK(compare_golden("match/plan.gpus1.a100_mig.shard.slurm.txt", mig.out) == "");
  CHECK(mig.out.find("Gres=gpu:nvidia_a100_3g.20gb:1,gpu:nvidia_a100-sxm4-40gb:1,shard:2 ") != std::string::npos);
  CHECK(mig.out.find("NodeName=a100-mig-03 AutoDetect=off\n") != std::string::npos);
  CHECK(mig.out.find("AutoDetect=nvml") == std::string::npos);
  auto nvml = gpumatch({"--input", fixture("documents/nvidia_a100_mig.json"), "--gpus", "1", "--plan", "--format", "slurm",
                        "--slurm-autodetect", "nvml"});
  CHECK(nvml.out.find("NodeName=a100-mig-03 AutoDetect=nvml\n") != std::string::npos);
  auto mps = gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--gpus", "1", "--plan", "--format", "slurm", "--share", "mps:200"});
  CHECK(mps.exit_code == 0);
  CHECK(mps.out.find("GresTypes=gpu,mps\n") != std::string::npos);
  CHECK(mps.out.find(" Name=mps Count=200 File=/dev/nvidia7") != std::string::npos);
  check_usage_error(gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--gpus", "1", "--plan", "--format", "slurm", "--share", "mps:50"}),
                    "gpumatch: --share: mps:50: the MPS count per GPU must be a multiple of 100");
  check_usage_error(gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--gpus", "1", "--plan", "--format", "slurm", "--share", "gpu:2"}),
                    "gpumatch: --share: \"gpu:2\" is not shard:N or mps:N (N >= 1)");
  check_usage_error(gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--gpus", "1", "--plan", "--format", "condor", "--share", "shard:2"}),
                    "gpumatch: --share: --share and --slurm-autodetect shape --plan --format slurm");
}

TEST_CASE("gpumatch: the requirement as HTCondor submit commands, a Kubernetes fragment and a DRA claim") {
  for (const std::string e : {"condor", "k8s", "k8s-dra"})
    for (const std::string job : {"adept", "mig-inference", "amd-fp64"}) {
      auto r = gpumatch({"--require", example(job), "--emit", e});
      CHECK(r.exit_code == 0);
      CHECK(compare_golden("match/emit." + job + "." + e + ".txt", r.out) == "");
    }
  auto flags = gpumatch({"--gpus", "1", "--min-cc", "8.0", "--gpu-memory", "16GiB", "--emit", "condor"});
  CHECK(flags.exit_code == 0);
  // Units written: sites with SUBMIT_REQUEST_MISSING_UNITS refuse bare numbers.
  CHECK(flags.out.find("gpus_minimum_memory = 16384MB\n") != std::string::npos);
  CHECK(flags.out.find("request_memory = ") == std::string::npos);
}

TEST_CASE("gpumatch: --emit condor keeps MIG profiles and slices, on the attributes condor advertises for MIG instances") {
  auto r = gpumatch({"--gpus", "1", "--vendor", "nvidia", "--mig-profile", "3g.20gb", "--mig-profile", "1g.10gb+me",
                     "--mig-min-slice", "2", "--emit", "condor"});
  REQUIRE(r.exit_code == 0);
  const std::string is_mig = "(DeviceUuid =!= undefined && regexp(\"^MIG-\", DeviceUuid))";
  // mig allow: whole GPUs pass, MIG instances must be of a listed profile and have 2+ slices.
  CHECK(r.out.find("require_gpus = (!" + is_mig + " || regexp(\" MIG (3g\\\\.20gb|1g\\\\.10gb\\\\+me)$\", DeviceName)) && (!" +
                   is_mig + " || regexp(\" MIG [2-9]g\\\\.\", DeviceName)) && ") != std::string::npos);
  CHECK(r.out.find("Not expressible") == std::string::npos);
  auto req = gpumatch({"--require", example("mig-inference"), "--emit", "condor"});
  REQUIRE(req.exit_code == 0);
  CHECK(req.out.find("require_gpus = " + is_mig + " && (regexp(\" MIG (1g\\\\.10gb|2g\\\\.20gb)$\", DeviceName)) && ") !=
        std::string::npos);
  auto forbid = gpumatch({"--gpus", "1", "--mig", "forbid", "--mig-profile", "3g.20gb", "--emit", "condor"});
  REQUIRE(forbid.exit_code == 0);
  CHECK(forbid.out.find("require_gpus = !" + is_mig + "\n") != std::string::npos);
}

TEST_CASE("gpumatch: --emit panda writes the task's gpu_spec and lists what PanDA cannot say") {
  for (const std::string job : {"adept", "mig-inference", "amd-fp64", "cpu-job"}) {
    auto r = gpumatch({"--require", example(job), "--emit", "panda"});
    CHECK(r.exit_code == 0);
    CHECK(compare_golden("match/emit." + job + ".panda.txt", r.out) == "");
  }
  auto strict = gpumatch({"--gpus", "1", "--cuda-runtime", "12.4", "--no-minor-version-compatibility", "--emit", "panda"});
  REQUIRE(strict.exit_code == 0);
  CHECK(strict.out.find("\n{\"gpu_spec\":{\"version\":\">=12.4\"}}\n") != std::string::npos);
  CHECK(strict.out.find("prun --architecture (it carries no version): &*\n") != std::string::npos);
}

TEST_CASE("gpumatch: --condor-share plans on shared GPUs as condor_gpu_discovery -divide / -repeat") {
  const std::vector<std::string> base = {"--input", node("nvidia_h100x8_cuda130"), "--gpus", "1", "--cores-per-gpu", "4",
                                         "--memory-per-core", "2GiB", "--gpu-memory", "30GiB", "--plan", "--format", "condor"};
  auto args = base;
  args.insert(args.end(), {"--condor-share", "divide:2"});
  auto d = gpumatch(args);
  REQUIRE(d.exit_code == 0);
  CHECK(d.out.find("GPU_DISCOVERY_EXTRA = $(GPU_DISCOVERY_EXTRA) -uuid -divide 2\n") != std::string::npos);
  CHECK(d.out.find(", gpus=16\n") != std::string::npos);  // 8 H100 x 2 shares of 40 GiB
  // A third of an 80 GiB H100 cannot hold 30 GiB: no share fits.
  args = base;
  args.insert(args.end(), {"--condor-share", "divide:3"});
  CHECK(gpumatch(args).exit_code == 1);
  args = base;
  args.insert(args.end(), {"--condor-share", "repeat:3"});
  auto r = gpumatch(args);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("-uuid -repeat 3\n") != std::string::npos);
  CHECK(r.out.find(", gpus=24\n") != std::string::npos);
  args = base;
  args.insert(args.end(), {"--condor-share", "halves"});
  check_usage_error(gpumatch(args), "gpumatch: --condor-share: \"halves\" is not repeat:N or divide:N with N from 2 to 64");
  check_usage_error(gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--gpus", "1", "--plan", "--format", "slurm",
                              "--condor-share", "repeat:2"}),
                    "gpumatch: --condor-share: --condor-share shapes an HTCondor slot plan: give it with --plan --format condor");
}

TEST_CASE("gpumatch: requirements from standard input and command-line shortcuts") {
  RunOptions in;
  in.stdin_data = R"({"gpus": 1, "mig": "require"})";
  auto r = gpumatch({"--input", node("nvidia_a100_mig"), "--require", "-", "--format", "json"}, in);
  CHECK(r.exit_code == 0);
  // A flag overrides the file's key.
  auto o = gpumatch({"--input", node("nvidia_a100_mig"), "--require", example("mig-inference"), "--gpu-memory", "30GiB",
                     "--format", "json"});
  CHECK(o.exit_code == 1);
  CHECK(json::parse(o.out)["match"]["jobs"][0]["requirements"]["gpu_memory_bytes"] == 30ULL << 30);
  // The node document can also come on standard input.
  RunOptions doc;
  doc.stdin_data = read_file(node("nvidia_mixed"));
  auto piped = gpumatch({"--gpus", "3", "--format", "json"}, doc);
  CHECK(piped.exit_code == 0);
}

TEST_CASE("gpumatch: every input error is one line and exit 2") {
  const std::string mixed = node("nvidia_mixed");
  std::string job = write_temp("job.json", R"({"gpu": 1})");
  check_usage_error(gpumatch({"--input", mixed, "--require", job}),
                    "gpumatch: " + job + ": /gpu: unknown requirement key (see gpumatch(1) for the keys)");
  std::string bad_value = write_temp("job.json", R"({"gpus": 1, "gpu_memory_bytes": "lots"})");
  check_usage_error(gpumatch({"--input", mixed, "--require", bad_value}),
                    "gpumatch: " + bad_value + ": /gpu_memory_bytes: \"lots\" is not a size (e.g. 40GiB, 512MB, 1073741824)");
  std::string not_json = write_temp("job.json", "{\"gpus\": 1,");
  check_usage_error(gpumatch({"--input", mixed, "--require", not_json}),
                    "gpumatch: " + not_json + ": /: invalid JSON at byte 12: parse error at line 1, column 12: syntax error "
                    "while parsing object key - unexpected end of input; expected string literal");
  std::string array = write_temp("job.json", "[]");
  check_usage_error(gpumatch({"--input", mixed, "--require", array}), "gpumatch: " + array + ": /: a requirement must be a JSON object");
  check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--vendor", "intel"}),
                    "gpumatch: command line: /vendor: \"intel\" is not one of nvidia, amd, any");
  // A slice count beyond int was once read with std::stoi (std::out_of_range, abort).
  for (const char* profile : {"99999999999g.5gb", "0g.5gb", "9g.5gb"})
    check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--mig", "require", "--mig-profile", profile}),
                      std::string("gpumatch: command line: /mig_profiles/0: \"") + profile +
                          "\" is not a MIG profile (e.g. 3g.40gb)");
  check_usage_error(gpumatch({"--input", mixed, "--require", example("adept"), "--min-cc", "x"}),
                    "gpumatch: " + example("adept") + " + flags: /min_compute_capability: \"x\" is not a version such as \"12.4\"");
  check_usage_error(gpumatch({"--input", mixed, "--require", "/nonexistent.json"}),
                    "gpumatch: /nonexistent.json: cannot open: No such file or directory");
  std::string jobs = write_temp("jobs.json", R"({"jobs": [{"gpus": 1}, {"cores": 0}]})");
  check_usage_error(gpumatch({"--input", mixed, "--jobs", jobs}), "gpumatch: " + jobs + ": /jobs/1/cores: must be between 1 and 65536");

  // Combinations that make no sense.
  check_usage_error(gpumatch({"--input", mixed, "--require", example("adept"), "--jobs", example("two-jobs")}),
                    "gpumatch: --jobs: give --require or --jobs, not both");
  check_usage_error(gpumatch({"--input", mixed, "--jobs", example("two-jobs"), "--gpus", "1"}),
                    "gpumatch: --jobs: requirement flags apply to --require, not to a --jobs list");
  check_usage_error(gpumatch({"--input", mixed, "--jobs", example("two-jobs"), "--plan"}),
                    "gpumatch: --plan: --plan takes one job profile (--require or flags), not --jobs");
  check_usage_error(gpumatch({"--jobs", example("two-jobs"), "--emit", "condor"}),
                    "gpumatch: --emit: --emit translates one requirement, not a --jobs list");
  check_usage_error(gpumatch({"--require", "-"}),
                    "gpumatch: --require: --require - reads standard input, so the node document must come from --input FILE");
  check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--format", "condor"}),
                    "gpumatch: --format: --format condor writes slot configuration and needs --plan (for submit commands use --emit condor)");
  check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--plan", "--format", "env"}),
                    "gpumatch: --format: --format env prints a placement, not a plan");
  check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--job", "a"}), "gpumatch: --job: --job selects from a --jobs list");
  check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--plan", "--cpu-job-cores", "0"}), "gpumatch: --cpu-job-cores: must be >= 1");
  check_usage_error(gpumatch({"--input", mixed, "--gpus", "1", "--plan", "--cpu-memory-per-core", "many"}),
                    "gpumatch: --cpu-memory-per-core: \"many\" is not a size");
  auto flag = gpumatch({"--input", mixed, "--emit", "slurm"});
  CHECK(flag.exit_code == 2);
  CHECK(flag.out.empty());

  // A node document of the wrong shape names the path.
  json doc = json::parse(read_file(mixed));
  doc["gpus"][1]["memory_bytes"] = "24GB";
  std::string bad_doc = write_temp("node.json", doc.dump());
  check_usage_error(gpumatch({"--input", bad_doc, "--gpus", "1"}),
                    "gpumatch: " + bad_doc + ": /gpus/1/memory_bytes: expected an integer >= 0 or null, found a string");
  doc = json::parse(read_file(mixed));
  doc["cpu"]["allowed"]["cpus"] = "0-x";
  std::string bad_cpus = write_temp("node.json", doc.dump());
  check_usage_error(gpumatch({"--input", bad_cpus, "--gpus", "1"}),
                    "gpumatch: " + bad_cpus + ": /cpu/allowed/cpus: \"0-x\" is not a CPU list");
}

TEST_CASE("gpumatch: payloads listed alone, malformed and truncated ones rejected") {
  std::string text = write_temp("run.sh", "#!/bin/sh\nexit 0\n");
  check_usage_error(gpumatch({"--payload", text}), "gpumatch: " + text + ": not an ELF file, a fatbin or an offload bundle");
  std::string empty = write_temp("empty", "");
  check_usage_error(gpumatch({"--payload", empty}), "gpumatch: " + empty + ": empty file");
  check_usage_error(gpumatch({"--payload", "/nonexistent"}), "gpumatch: /nonexistent: cannot open: No such file or directory");
  auto sh = gpumatch({"--payload", "/bin/sh", "--format", "json"});
  CHECK(sh.exit_code == 0);
  CHECK(validate_against(json::parse(sh.out), "payloads.schema.json") == "");
  // Not regular files: refused at once, never waited on (a FIFO with no writer
  // would block open() forever; /dev/zero never ends).
  std::string fifo = temp_dir() + "/payload.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  RunOptions quick;
  quick.timeout_s = 10;
  check_usage_error(gpumatch({"--payload", fifo}, quick), "gpumatch: " + fifo + ": not a regular file");
  check_usage_error(gpumatch({"--payload", "/dev/zero"}, quick), "gpumatch: /dev/zero: not a regular file");
  check_usage_error(gpumatch({"--payload", "/tmp"}, quick), "gpumatch: /tmp: not a regular file");
}

TEST_CASE("gpumatch: nvcc and hipcc payloads listed, and truncated and corrupted copies rejected") {
  if (!have_payload("multi") || !have_payload("hip_gfx90a_xnack_off")) return;
  auto r = gpumatch({"--payload", payload("multi"), "--payload", payload("hip_gfx90a_xnack_off"), "--format", "json"});
  REQUIRE(r.exit_code == 0);
  json listing = json::parse(r.out);
  CHECK(validate_against(listing, "payloads.schema.json") == "");
  CHECK(listing["payloads"][0]["cuda"].size() >= 3);
  CHECK(listing["payloads"][1]["hip"][0]["target_id"] == "gfx90a:xnack-");

  // Truncated copies of a real binary: exit 2, never a crash.
  std::string bytes = read_file(payload("multi"));
  for (std::size_t n : {std::size_t(16), std::size_t(200), bytes.size() / 3, bytes.size() - 1}) {
    std::string cut = write_temp("cut", bytes.substr(0, n));
    auto c = gpumatch({"--payload", cut});
    INFO("cut at " << n << ": " << c.err);
    CHECK(c.exit_code == 2);
    CHECK(c.out.empty());
    CHECK(c.err.rfind("gpumatch: " + cut + ": ", 0) == 0);
  }
  // A corrupted fatbin header inside an intact ELF.
  auto at = bytes.find(std::string("\x50\xed\x55\xba", 4));
  REQUIRE(at != std::string::npos);
  std::string broken = bytes;
  broken[at + 8] = '\xff';
  broken[at + 12] = '\x7f';
  std::string bad = write_temp("bad", broken);
  auto b = gpumatch({"--payload", bad});
  CHECK(b.exit_code == 2);
  CHECK(b.err.find(": .nv_fatbin: fatbin size") != std::string::npos);
}

TEST_CASE("gpumatch: real payloads matched against the H100 and AMD nodes") {
  if (!have_payload("multi") || !have_payload("ptx80") || !have_payload("sm80") || !have_payload("hip_gfx90a_xnack_off") ||
      !have_payload("hip_gfx1030"))
    return;
  // Built by CUDA 13: a 535 driver (CUDA 12.2) cannot run it, a 580 driver can.
  auto old_driver = gpumatch({"--input", node("nvidia_h100x8_cuda122"), "--payload", payload("multi"), "--format", "json"});
  CHECK(old_driver.exit_code == 1);
  auto new_driver = gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--payload", payload("multi"), "--format", "json"});
  CHECK(new_driver.exit_code == 0);
  json m = json::parse(new_driver.out)["match"];
  CHECK(m["jobs"][0]["requirements"]["gpus"] == 1);  // implied by the payload's GPU code
  // PTX-only compute_80 JIT-compiles on the H100 under CUDA 13.0.
  auto jit = gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--payload", payload("ptx80"), "--format", "json"});
  CHECK(jit.exit_code == 0);
  CHECK(jit.out.find("JIT-compiles under driver 580.65.06 provides CUDA 13.0") != std::string::npos);
  auto no_jit = gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--payload", payload("ptx80"), "--no-ptx-jit"});
  CHECK(no_jit.exit_code == 1);
  // sm_80 SASS does not run on sm_90.
  auto sass = gpumatch({"--input", node("nvidia_h100x8_cuda130"), "--payload", payload("sm80"), "--format", "table"});
  CHECK(sass.exit_code == 1);
  CHECK(sass.out.find("no SASS for sm_90 (has sm_80)") != std::string::npos);
  // HIP: gfx90a:xnack- loads on the MI250X (xnack-), not on the MI300X; gfx1030 on neither.
  CHECK(gpumatch({"--input", node("amd_mi250x"), "--payload", payload("hip_gfx90a_xnack_off")}).exit_code == 0);
  CHECK(gpumatch({"--input", node("amd_mi300x"), "--payload", payload("hip_gfx90a_xnack_off")}).exit_code == 1);
  auto rdna = gpumatch({"--input", node("amd_mi250x"), "--payload", payload("hip_gfx1030"), "--format", "table"});
  CHECK(rdna.exit_code == 1);
  CHECK(rdna.out.find("gfx1030 is for gfx1030, the device is gfx90a") != std::string::npos);
  // CUDA code on AMD GPUs.
  CHECK(gpumatch({"--input", node("amd_mi250x"), "--payload", payload("multi")}).exit_code == 1);
}
