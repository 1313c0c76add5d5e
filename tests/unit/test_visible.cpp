#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "probe/visible.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

json load_fixture(const std::string& name) {
  return json::parse(test::read_file(test::fixture("documents/" + name)));
}

json gpus_of(const std::string& name) { return load_fixture(name)["gpus"]; }

using Env = std::map<std::string, std::string>;

std::vector<std::string> uuids(const json& visible) {
  std::vector<std::string> out;
  for (const auto& d : visible["devices"]) out.push_back(d["uuid"].get<std::string>());
  return out;
}

std::string problems_text(const json& visible) {
  std::string all;
  for (const auto& p : visible["problems"]) all += p.get<std::string>() + "\n";
  return all;
}

// Every visible section must follow the schema, whatever the input.
json checked(const json& gpus, const Env& env) {
  json v = visible_section(gpus, env);
  INFO(v.dump(2));
  CHECK(test::validate_against(v, "visible.schema.json") == "");
  return v;
}

json nvidia_gpu(int index, std::optional<int> cuda_index, const std::string& uuid, const std::string& mig_mode = "disabled",
                json instances = json::array()) {
  return json{{"index", index},
              {"cuda_index", cuda_index ? json(*cuda_index) : json(nullptr)},
              {"vendor", "nvidia"},
              {"name", "NVIDIA A100-SXM4-80GB"},
              {"uuid", uuid},
              {"mig", {{"mode", mig_mode}, {"instances", instances}}}};
}

json amd_gpu(int index, const std::string& uuid) {
  return json{{"index", index}, {"vendor", "amd"}, {"name", "AMD Instinct MI210"}, {"uuid", uuid},
              {"mig", {{"mode", "unsupported"}, {"instances", json::array()}}}};
}

// The H100 node's UUIDs, by NVML index.
const std::vector<std::string> h100 = {
    "GPU-5f0c3a52-0b7e-4b1d-9c3e-1a2b3c4d5e01", "GPU-7d21b8e4-3f6a-4c2d-8e1f-2b3c4d5e6f02",
    "GPU-9a4e6c13-5d8b-4e3f-a012-3c4d5e6f7a03", "GPU-b17f2d95-7e9c-4f40-b123-4d5e6f7a8b04",
    "GPU-c83a9e26-9fad-4051-c234-5e6f7a8b9c05", "GPU-d94bafb7-a0be-4162-d345-6f7a8b9cad06",
    "GPU-e05cb0c8-b1cf-4273-e456-7a8b9cadbe07", "GPU-f16dc1d9-c2d0-4384-f567-8b9cadbecf08"};

// The mixed node: two L4 on the lower PCI buses, two H100 PCIe, which CUDA
// lists first by default because they are faster.
const std::string l4a = "GPU-1a2b3c4d-1111-4aaa-8bbb-0c0d0e0f1a20";
const std::string l4b = "GPU-1a2b9f8e-2222-4ccc-9ddd-1e1f2a2b3c21";
const std::string hpa = "GPU-8f7e6d5c-3333-4eee-afff-2a3b4c5d6e22";
const std::string hpb = "GPU-8f7e0a1b-4444-4a0a-b1b1-3b4c5d6e7f23";

// The A100 node: GPU 0 in MIG mode (3g.20gb, 1g.5gb), GPU 1 whole.
const std::string a0 = "GPU-4c1e2a3b-5d6f-4a7b-8c9d-0e1f2a3b4c10";
const std::string a1 = "GPU-6e3a4c5d-7f80-4b9c-ad0e-1f2a3b4c5d11";
const std::string mig3 = "MIG-0caf1ce3-fcd4-59da-8564-764000e3ace9";
const std::string mig1 = "MIG-207f657b-6f50-5c1a-94f0-01d07ff4cdb0";

const std::vector<std::string> gcd = {"GPU-2f1a6b3c8d4e0f51", "GPU-2f1a6b3c8d4e0f52", "GPU-5b7c9d1e3f2a4b63",
                                      "GPU-5b7c9d1e3f2a4b64", "GPU-8e0f2a4b6c8d0e75", "GPU-8e0f2a4b6c8d0e76",
                                      "GPU-a1c3e5f7092b4d87", "GPU-a1c3e5f7092b4d88"};

}  // namespace

TEST_CASE("visible: with no variable set every device is visible, in CUDA's fastest-first order") {
  json v = checked(gpus_of("nvidia_mixed.json"), {});
  CHECK(uuids(v) == std::vector<std::string>{hpa, hpb, l4a, l4b});
  CHECK_FALSE(v["restricted"].get<bool>());
  CHECK(v["environment"].empty());
  CHECK(v["problems"].empty());
  for (size_t i = 0; i < v["devices"].size(); ++i) {
    CHECK(v["devices"][i]["runtime_index"] == i);
    CHECK(v["devices"][i]["selected_by"].is_null());
    CHECK(v["devices"][i]["kind"] == "gpu");
  }
  CHECK(v["devices"][0]["gpu_index"] == 2);  // position in the gpus section
}

TEST_CASE("visible: CUDA_DEVICE_ORDER=PCI_BUS_ID enumerates in PCI order, and indices follow the order") {
  json gpus = gpus_of("nvidia_mixed.json");
  CHECK(uuids(checked(gpus, {{"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}})) == std::vector<std::string>{l4a, l4b, hpa, hpb});
  CHECK(uuids(checked(gpus, {{"CUDA_VISIBLE_DEVICES", "0"}})) == std::vector<std::string>{hpa});
  CHECK(uuids(checked(gpus, {{"CUDA_VISIBLE_DEVICES", "0"}, {"CUDA_DEVICE_ORDER", "PCI_BUS_ID"}})) ==
        std::vector<std::string>{l4a});
  CHECK(uuids(checked(gpus, {{"CUDA_VISIBLE_DEVICES", "0"}, {"CUDA_DEVICE_ORDER", "FASTEST_FIRST"}})) ==
        std::vector<std::string>{hpa});
  // Without cuda_index on every GPU the fastest-first order is unknown: PCI order.
  gpus[3]["cuda_index"] = nullptr;
  CHECK(uuids(checked(gpus, {})) == std::vector<std::string>{l4a, l4b, hpa, hpb});
}

TEST_CASE("visible: CUDA_VISIBLE_DEVICES indices select devices in the order of the tokens") {
  json v = checked(gpus_of("nvidia_h100x8.json"), {{"CUDA_VISIBLE_DEVICES", "3, 1"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[3], h100[1]});
  CHECK(v["devices"][0]["runtime_index"] == 0);
  CHECK(v["devices"][1]["runtime_index"] == 1);
  CHECK(v["devices"][0]["selected_by"] == "3");
  CHECK(v["devices"][1]["gpu_index"] == 1);
  CHECK(v["restricted"].get<bool>());
  CHECK(v["environment"] == json{{"CUDA_VISIBLE_DEVICES", "3, 1"}});
  CHECK(v["problems"].empty());
}

TEST_CASE("visible: full GPU UUIDs and unique prefixes, always reported in full") {
  json v = checked(gpus_of("nvidia_h100x8.json"), {{"CUDA_VISIBLE_DEVICES", h100[1] + ",GPU-c83a,gpu-E05CB0C8"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[1], h100[4], h100[6]});
  CHECK(v["devices"][1]["selected_by"] == "GPU-c83a");
  CHECK(v["problems"].empty());
}

TEST_CASE("visible: an ambiguous prefix is a problem and the CUDA runtime stops at it") {
  json v = checked(gpus_of("nvidia_mixed.json"), {{"CUDA_VISIBLE_DEVICES", "2,GPU-1a2b,0"}});
  CHECK(uuids(v) == std::vector<std::string>{l4a});
  REQUIRE(v["problems"].size() == 1);
  std::string p = v["problems"][0];
  CHECK(p.find("CUDA_VISIBLE_DEVICES: 'GPU-1a2b' is ambiguous") == 0);
  CHECK(p.find(l4a) != std::string::npos);
  CHECK(p.find(l4b) != std::string::npos);
  CHECK(p.find("ignores '0'") != std::string::npos);
}

TEST_CASE("visible: parsing stops at the first invalid token, as documented for CUDA (0,2,-1,1 shows 0 and 2)") {
  json gpus = gpus_of("nvidia_h100x8.json");
  json v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "0,2,-1,1"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[0], h100[2]});
  REQUIRE(v["problems"].size() == 1);
  CHECK(v["problems"][0] ==
        "CUDA_VISIBLE_DEVICES: '-1' is neither a device index nor a GPU-/MIG- UUID; the CUDA runtime stops there and "
        "ignores '1'.");

  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "0,9,1"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[0]});
  CHECK(v["problems"][0] ==
        "CUDA_VISIBLE_DEVICES: '9' is not a device index here (the devices are 0-7); the CUDA runtime stops there and "
        "ignores '1'.");

  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "GPU-deadbeef"}});
  CHECK(v["devices"].empty());
  CHECK(v["problems"][0] == "CUDA_VISIBLE_DEVICES: 'GPU-deadbeef' matches no device UUID here; the CUDA runtime stops there.");

  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "1,,2"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[1]});
  CHECK(problems_text(v).find("'' is an empty entry") != std::string::npos);
}

TEST_CASE("visible: a device named twice is a problem and counts once") {
  json v = checked(gpus_of("nvidia_h100x8.json"), {{"CUDA_VISIBLE_DEVICES", "1,1,GPU-7d21,2"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[1], h100[2]});
  REQUIRE(v["problems"].size() == 2);
  CHECK(v["problems"][0] == "CUDA_VISIBLE_DEVICES: '1' selects " + h100[1] +
                                " again (already selected by '1'); it counts once.");
  CHECK(std::string(v["problems"][1]).find("'GPU-7d21' selects " + h100[1] + " again") != std::string::npos);
  CHECK(v["devices"][1]["runtime_index"] == 1);
}

TEST_CASE("visible: an empty CUDA_VISIBLE_DEVICES hides every device") {
  json v = checked(gpus_of("nvidia_h100x8.json"), {{"CUDA_VISIBLE_DEVICES", ""}});
  CHECK(v["devices"].empty());
  CHECK(v["restricted"].get<bool>());
  CHECK(v["problems"].empty());
  CHECK(v["environment"]["CUDA_VISIBLE_DEVICES"] == "");
  // On a node without GPUs nothing is narrowed.
  CHECK_FALSE(checked(json::array(), {{"CUDA_VISIBLE_DEVICES", ""}})["restricted"].get<bool>());
}

TEST_CASE("visible: a GPU in MIG mode is replaced by its MIG instances") {
  json v = checked(gpus_of("nvidia_a100_mig.json"), {});
  CHECK(uuids(v) == std::vector<std::string>{mig3, mig1, a1});
  CHECK(v["devices"][0]["kind"] == "mig");
  CHECK(v["devices"][0]["parent_uuid"] == a0);
  CHECK(v["devices"][0]["gpu_index"] == 0);
  CHECK(v["devices"][2]["kind"] == "gpu");
  CHECK(v["devices"][2]["parent_uuid"].is_null());
  CHECK(v["devices"][2]["runtime_index"] == 2);
  CHECK_FALSE(v["restricted"].get<bool>());

  // MIG mode without instances: no device at all.
  json gpus = json::array({nvidia_gpu(0, std::nullopt, a0, "enabled"), nvidia_gpu(1, 0, a1)});
  CHECK(uuids(checked(gpus, {})) == std::vector<std::string>{a1});
}

TEST_CASE("visible: MIG- UUIDs, indices over the MIG-expanded list, and the legacy MIG-GPU-<uuid>/<gi>/<ci> form") {
  json gpus = gpus_of("nvidia_a100_mig.json");
  json v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", mig3 + ",2"}});
  CHECK(uuids(v) == std::vector<std::string>{mig3, a1});
  CHECK(v["devices"][0]["selected_by"] == mig3);

  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "MIG-GPU-" + a0.substr(4) + "/9/0"}});
  CHECK(uuids(v) == std::vector<std::string>{mig1});
  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "MIG-GPU-4c1e2a3b/2/0,1"}});  // a unique prefix of the parent
  CHECK(uuids(v) == std::vector<std::string>{mig3, mig1});

  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "MIG-GPU-" + a0.substr(4) + "/5/0,0"}});
  CHECK(v["devices"].empty());
  CHECK(v["problems"][0] == "CUDA_VISIBLE_DEVICES: 'MIG-GPU-" + a0.substr(4) + "/5/0' names no MIG instance: " + a0 +
                                " has no GPU instance 5 with compute instance 0; the CUDA runtime stops there and "
                                "ignores '0'.");
  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "MIG-GPU-" + a0.substr(4) + "/2"}});
  CHECK(problems_text(v).find("is not of the form MIG-GPU-<uuid>/<gpu instance>/<compute instance>") != std::string::npos);
  v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "MIG-GPU-" + a1.substr(4) + "/1/0"}});
  CHECK(problems_text(v).find("names no GPU in MIG mode here") != std::string::npos);
}

TEST_CASE("visible: the UUID of a GPU in MIG mode selects nothing and says why") {
  json v = checked(gpus_of("nvidia_a100_mig.json"), {{"CUDA_VISIBLE_DEVICES", a0 + "," + a1}});
  CHECK(v["devices"].empty());
  CHECK(problems_text(v).find("names a GPU in MIG mode, which is no device itself; name its MIG- instances instead") !=
        std::string::npos);
}

TEST_CASE("visible: NVIDIA_VISIBLE_DEVICES all, none, void, empty and lists") {
  json gpus = gpus_of("nvidia_h100x8.json");
  CHECK(checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "all"}})["devices"].size() == 8);
  CHECK_FALSE(checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "all"}})["restricted"].get<bool>());
  for (const char* none : {"none", "void", ""}) {
    json v = checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", none}});
    CHECK(v["devices"].empty());
    CHECK(v["restricted"].get<bool>());
  }
  json v = checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "6," + h100[2]}});
  CHECK(uuids(v) == std::vector<std::string>{h100[2], h100[6]});  // the container sees them in bus order
  CHECK(v["devices"][1]["selected_by"] == "6");
  // CUDA_VISIBLE_DEVICES counts within what the container runtime exposed.
  v = checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "2,3"}, {"CUDA_VISIBLE_DEVICES", "1"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[3]});
  v = checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "2,3"}, {"CUDA_VISIBLE_DEVICES", h100[5]}});
  CHECK(v["devices"].empty());
  v = checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "1,12,1"}});
  CHECK(uuids(v) == std::vector<std::string>{h100[1]});
  CHECK(v["problems"][0] == "NVIDIA_VISIBLE_DEVICES: '12' matches no GPU or MIG instance on this node; it exposes nothing.");
  CHECK(std::string(v["problems"][1]).find("already exposed") != std::string::npos);
}

TEST_CASE("visible: NVIDIA_VISIBLE_DEVICES with MIG instances and MIG-enabled GPUs") {
  json gpus = gpus_of("nvidia_a100_mig.json");
  CHECK(uuids(checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "0:1"}})) == std::vector<std::string>{mig1});
  CHECK(uuids(checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", mig3 + ",1"}})) == std::vector<std::string>{mig3, a1});
  CHECK(uuids(checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "0"}})) == std::vector<std::string>{mig3, mig1});
  CHECK(uuids(checked(gpus, {{"NVIDIA_VISIBLE_DEVICES", "MIG-" + a0 + "/9/0"}})) == std::vector<std::string>{mig1});
}

TEST_CASE("visible: ROCR_VISIBLE_DEVICES applies first, HIP_VISIBLE_DEVICES indexes within what it left") {
  json gpus = gpus_of("amd_mi250x.json");
  json v = checked(gpus, {{"ROCR_VISIBLE_DEVICES", "4,5,6,7"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[4], gcd[5], gcd[6], gcd[7]});
  CHECK(v["devices"][0]["runtime_index"] == 0);
  CHECK(v["devices"][0]["vendor"] == "amd");
  CHECK(v["restricted"].get<bool>());

  v = checked(gpus, {{"ROCR_VISIBLE_DEVICES", "4,5,6,7"}, {"HIP_VISIBLE_DEVICES", "3,1"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[7], gcd[5]});
  CHECK(v["devices"][0]["selected_by"] == "3");
  CHECK(v["devices"][1]["runtime_index"] == 1);

  v = checked(gpus, {{"ROCR_VISIBLE_DEVICES", gcd[5] + ",0"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[5], gcd[0]});

  v = checked(gpus, {{"ROCR_VISIBLE_DEVICES", "4,5,6,7"}, {"HIP_VISIBLE_DEVICES", "0,5"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[4]});
  CHECK(v["problems"][0] ==
        "HIP_VISIBLE_DEVICES: '5' is not a device index here (the devices are 0-3); the HIP runtime stops there.");
  v = checked(gpus, {{"ROCR_VISIBLE_DEVICES", "GPU-ffff,3"}});
  CHECK(v["devices"].empty());
  CHECK(v["problems"][0] ==
        "ROCR_VISIBLE_DEVICES: 'GPU-ffff' matches no device UUID here; the ROCr runtime stops there and ignores '3'.");
}

TEST_CASE("visible: GPU_DEVICE_ORDINAL acts like HIP_VISIBLE_DEVICES, which takes precedence over it") {
  json gpus = gpus_of("amd_mi250x.json");
  json v = checked(gpus, {{"GPU_DEVICE_ORDINAL", "0,2"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[0], gcd[2]});
  CHECK(v["devices"][1]["selected_by"] == "2");
  v = checked(gpus, {{"GPU_DEVICE_ORDINAL", "0,2"}, {"HIP_VISIBLE_DEVICES", "7"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[7]});
  v = checked(gpus, {{"ROCR_VISIBLE_DEVICES", "6,7"}, {"GPU_DEVICE_ORDINAL", "1"}});
  CHECK(uuids(v) == std::vector<std::string>{gcd[7]});
}

TEST_CASE("visible: CUDA_VISIBLE_DEVICES steers HIP only on a node without NVIDIA GPUs") {
  json amd_only = gpus_of("amd_mi250x.json");
  CHECK(uuids(checked(amd_only, {{"CUDA_VISIBLE_DEVICES", "1"}})) == std::vector<std::string>{gcd[1]});

  json both = json::array({nvidia_gpu(0, 0, a1), amd_gpu(0, "GPU-00000000000000a0"), amd_gpu(1, "GPU-00000000000000a1")});
  json v = checked(both, {{"CUDA_VISIBLE_DEVICES", "0"}});
  CHECK(uuids(v) == std::vector<std::string>{a1, "GPU-00000000000000a0", "GPU-00000000000000a1"});
  CHECK(v["devices"][1]["runtime_index"] == 0);  // HIP numbers its own devices
  CHECK(v["devices"][2]["runtime_index"] == 1);
  v = checked(both, {{"CUDA_VISIBLE_DEVICES", ""}, {"HIP_VISIBLE_DEVICES", "1"}});
  CHECK(uuids(v) == std::vector<std::string>{"GPU-00000000000000a1"});
  CHECK(v["restricted"].get<bool>());
}

TEST_CASE("visible: GPUs without a loaded driver are no runtime devices") {
  json gpus = json::array({nvidia_gpu(0, 0, a0), nvidia_gpu(1, 1, a1)});
  gpus[0]["driver_loaded"] = false;
  json v = checked(gpus, {{"CUDA_VISIBLE_DEVICES", "0"}});
  CHECK(uuids(v) == std::vector<std::string>{a1});
  CHECK(v["devices"][0]["gpu_index"] == 1);
}

TEST_CASE("visible: the fixture documents' visible sections are what visible_section computes") {
  for (const char* name : {"nvidia_h100x8.json", "nvidia_a100_mig.json", "nvidia_mixed.json", "amd_mi250x.json",
                           "cpu_only.json"}) {
    CAPTURE(name);
    json doc = load_fixture(name);
    Env env;
    for (const auto& [k, value] : doc["visible"]["environment"].items()) env[k] = value.get<std::string>();
    json computed = checked(doc["gpus"], env);
    json expected = doc["visible"];
    computed.erase("generator");
    expected.erase("generator");
    CHECK(computed == expected);
  }
}

TEST_CASE("visible: visible_environment reads the six variables and nothing else") {
  const char* names[] = {"CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES",
                         "HIP_VISIBLE_DEVICES",  "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL"};
  std::map<std::string, std::optional<std::string>> saved;
  for (const char* n : names) {
    const char* v = std::getenv(n);
    saved[n] = v ? std::optional<std::string>(v) : std::nullopt;
    unsetenv(n);
  }
  setenv("CUDA_VISIBLE_DEVICES", "GPU-1a2b", 1);
  setenv("ROCR_VISIBLE_DEVICES", "", 1);
  setenv("ZE_AFFINITY_MASK", "0", 1);
  auto env = visible_environment();
  for (const auto& [n, v] : saved) {
    if (v) setenv(n.c_str(), v->c_str(), 1);
    else unsetenv(n.c_str());
  }
  unsetenv("ZE_AFFINITY_MASK");
  CHECK(env == Env{{"CUDA_VISIBLE_DEVICES", "GPU-1a2b"}, {"ROCR_VISIBLE_DEVICES", ""}});
}
