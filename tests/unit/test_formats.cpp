#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/document.hpp"
#include "core/version.hpp"
#include "probe/formats.hpp"
#include "test_support.hpp"

using namespace gpukit;

namespace {

const char* const documents[] = {"nvidia_h100x8", "nvidia_a100_mig", "nvidia_mixed", "amd_mi250x", "cpu_only"};
const char* const formats[] = {"table", "classad", "nfd", "gres", "cric"};

Document load(const std::string& name) {
  std::string path = test::fixture("documents/" + name + ".json");
  auto d = Document::parse(test::read_file(path), path);
  REQUIRE_MESSAGE(d.ok(), d.error().what());
  return *d;
}

Document with_root(const json& root) {
  auto d = Document::parse(root.dump(), "test");
  REQUIRE_MESSAGE(d.ok(), d.error().what());
  return *d;
}

std::string render(const Document& d, const std::string& format, const NfdOptions& nfd = {}) {
  auto r = render_probe(d, format, nfd);
  REQUIRE_MESSAGE(r.ok(), r.error().what());
  return *r;
}

// Golden files must not change with every release.
std::string without_version(std::string text) {
  const std::string v = version();
  for (size_t at = text.find(v); at != std::string::npos; at = text.find(v, at))
    text.replace(at, v.size(), "@VERSION@");
  return text;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::map<std::string, std::string> nfd_labels(const std::string& text) {
  std::map<std::string, std::string> labels;
  for (const auto& line : lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    REQUIRE_MESSAGE(eq != std::string::npos, line);
    labels[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return labels;
}

}  // namespace

TEST_CASE("formats: the fixture node documents follow the schema") {
  for (const char* name : documents) {
    CAPTURE(name);
    CHECK(test::validate_document(load(name).root()) == "");
  }
}

TEST_CASE("formats: golden outputs for every fixture document and format") {
  for (const char* name : documents)
    for (const char* format : formats) {
      std::string golden = std::string("formats/") + name + "." + format;
      CAPTURE(golden);
      CHECK(test::compare_golden(golden, without_version(render(load(name), format))) == "");
    }
}

TEST_CASE("formats: render_probe names the accepted formats for an unknown one") {
  auto r = render_probe(load("cpu_only"), "yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::usage);
  CHECK(r.error().what() == "--format: unknown format 'yaml'; accepted: json, table, classad, nfd, gres, cric");
  Document d = load("cpu_only");
  CHECK(render(d, "json") == d.dump());
}

TEST_CASE("formats: classad lists full UUIDs, MIG instances instead of parents, one nested ad each") {
  std::string ad = render(load("nvidia_a100_mig"), "classad");
  auto l = lines(ad);
  REQUIRE(l.size() == 4);
  // The visible section selects the 3g.20gb instance and the whole GPU 1. As
  // condor_gpu_discovery: CUDA devices first, then NVML's MIG instances.
  CHECK(l[0] ==
        "DetectedGPUs=\"GPU-6e3a4c5d-7f80-4b9c-ad0e-1f2a3b4c5d11, MIG-0caf1ce3-fcd4-59da-8564-764000e3ace9\"");
  // Capability and the rest are copied from the MIG parent, so they are common.
  CHECK(l[1] == "Common=[ Capability=8.0; ClockMhz=1410.00; CoresPerCU=64; DriverVersion=12.40; ECCEnabled=true; "
                "MaxSupportedVersion=12040; NvidiaDriver=\"550.54.14\"; ]");
  // Nested ads in id order (condor keeps them in a std::map).
  CHECK(l[2].rfind("GPU_6e3a4c5d_7f80_4b9c_ad0e_1f2a3b4c5d11=[ id=\"GPU-6e3a4c5d-7f80-4b9c-ad0e-1f2a3b4c5d11\"; ", 0) == 0);
  CHECK(l[2].find("DevicePciBusId=\"0000:0F:00.0\"; ") != std::string::npos);
  // CUDA's UUID has no GPU- prefix; NVML's MIG UUID keeps its MIG- prefix.
  CHECK(l[2].find("DeviceUuid=\"6e3a4c5d-7f80-4b9c-ad0e-1f2a3b4c5d11\"; ") != std::string::npos);
  CHECK(l[3].rfind("MIG_0caf1ce3_fcd4_59da_8564_764000e3ace9=[ id=\"MIG-0caf1ce3-fcd4-59da-8564-764000e3ace9\"; ", 0) == 0);
  CHECK(l[3].find("DeviceName=\"NVIDIA A100-SXM4-40GB MIG 3g.20gb\"; ") != std::string::npos);
  CHECK(l[3].find("DeviceUuid=\"MIG-0caf1ce3-fcd4-59da-8564-764000e3ace9\"; ") != std::string::npos);
  CHECK(l[3].find("GlobalMemoryMb=19968; ") != std::string::npos);
  CHECK(l[3].find("ComputeUnits=42; ") != std::string::npos);
  CHECK(ad.find("GPU-4c1e2a3b") == std::string::npos);  // the MIG parent is no device

  // Without a visible section every device is listed; MIG instances sorted by UUID.
  json root = load("nvidia_a100_mig").root();
  root.erase("visible");
  std::string all = render(with_root(root), "classad");
  CHECK(lines(all)[0] == "DetectedGPUs=\"GPU-6e3a4c5d-7f80-4b9c-ad0e-1f2a3b4c5d11, "
                         "MIG-0caf1ce3-fcd4-59da-8564-764000e3ace9, MIG-207f657b-6f50-5c1a-94f0-01d07ff4cdb0\"");
}

TEST_CASE("formats: classad keeps AMD's gfx target out of Capability, and reports HIP's version, not amdgpu's") {
  std::string ad = render(load("amd_mi250x"), "classad");
  CHECK(ad.find("Capability") == std::string::npos);
  CHECK(ad.find("GfxTarget=\"gfx90a\"; ") != std::string::npos);
  CHECK(ad.find("TargetId=\"gfx90a:sramecc+:xnack-\"; ") != std::string::npos);
  CHECK(ad.find("xNACK=0; ") != std::string::npos);
  CHECK(ad.find("WarpSize=64; ") != std::string::npos);
  // hipDriverGetVersion's major.minor.patch, as condor's HIP path prints it.
  CHECK(ad.find("AmdDriverVersion=\"6.2.41133\"; ") != std::string::npos);
  CHECK(ad.find("Rocm=6; ") != std::string::npos);
  CHECK(ad.find("6.8.5") == std::string::npos);  // the amdgpu module version is no HIP version
  CHECK(ad.find("DeviceUuid=\"8e0f2a4b6c8d0e75\"; ") != std::string::npos);
  CHECK(lines(ad)[0] == "DetectedGPUs=\"GPU-8e0f2a4b6c8d0e75, GPU-8e0f2a4b6c8d0e76, GPU-a1c3e5f7092b4d87, "
                        "GPU-a1c3e5f7092b4d88\"");
  // Without a HIP version both attributes are left out.
  json root = load("amd_mi250x").root();
  root["drivers"]["amd"].erase("hip_version");
  std::string bare = render(with_root(root), "classad");
  CHECK(bare.find("AmdDriverVersion") == std::string::npos);
  CHECK(bare.find("Rocm") == std::string::npos);
  CHECK(render(load("cpu_only"), "classad") == "DetectedGPUs=0\n");
}

TEST_CASE("formats: classad puts everything in Common for a single device, as condor_gpu_discovery does") {
  json root = load("nvidia_h100x8").root();
  root["visible"]["devices"] = json::array({root["visible"]["devices"][5]});
  auto l = lines(render(with_root(root), "classad"));
  REQUIRE(l.size() == 3);
  CHECK(l[1].find("DeviceUuid=\"d94bafb7-a0be-4162-d345-6f7a8b9cad06\"; ") != std::string::npos);
  CHECK(l[2] == "GPU_d94bafb7_a0be_4162_d345_6f7a8b9cad06=[ id=\"GPU-d94bafb7-a0be-4162-d345-6f7a8b9cad06\"; ]");
}

TEST_CASE("formats: classad string literals cannot be ended or broken by a device name") {
  json root = load("nvidia_h100x8").root();
  root["gpus"][5]["name"] = "H100 \"x\" \\ end\nDetectedGPUs=1";
  root["visible"]["devices"] = json::array({root["visible"]["devices"][5]});
  auto l = lines(render(with_root(root), "classad"));
  REQUIRE(l.size() == 3);
  CHECK(l[1].find(R"(DeviceName="H100 \"x\" \\ end\012DetectedGPUs=1"; )") != std::string::npos);
}

TEST_CASE("formats: cric is the architectures entry PanDA's brokerage reads") {
  json cric = json::parse(render(load("nvidia_a100_mig"), "cric"));
  REQUIRE(cric["architectures"].size() == 2);
  const json& cpu = cric["architectures"][0];
  CHECK(cpu["type"] == "cpu");
  CHECK(cpu["arch"] == json::array({"x86_64"}));
  CHECK(cpu["vendor"] == json::array({"amd"}));
  CHECK(cpu["instr"] == json::array({"sse4_2", "avx", "avx2", "fma"}));
  const json& gpu = cric["architectures"][1];
  CHECK(gpu["type"] == "gpu");
  CHECK(gpu["vendor"] == json::array({"nvidia"}));
  CHECK(gpu["model"] == json::array({"a100", "nvidia a100-sxm4-40gb"}));
  CHECK(gpu["version"] == "12.4");  // the driver's CUDA version, which a task's ">=12.0" is compared with

  json amd = json::parse(render(load("amd_mi250x"), "cric"));
  CHECK(amd["architectures"][1]["model"] == json::array({"mi250x", "amd instinct mi250x"}));
  CHECK(amd["architectures"][1]["version"] == "6.2.41133");
  json mixed = json::parse(render(load("nvidia_mixed"), "cric"));
  CHECK(mixed["architectures"][1]["model"] == json::array({"l4", "nvidia l4", "h100", "nvidia h100 pcie"}));
  // A CPU-only node has no GPU entry.
  json none = json::parse(render(load("cpu_only"), "cric"));
  CHECK(none["architectures"].size() == 1);
}

TEST_CASE("formats: every nfd label is a valid Kubernetes label") {
  const std::regex key(R"(^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)/([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$)");
  const std::regex value(R"(^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$)");
  json weird = load("nvidia_mixed").root();
  weird["gpus"][0]["name"] = "NVIDIA GeForce RTX 4090 (Founders Edition) — über edition with a name far beyond sixty-three chars";
  std::vector<Document> docs;
  for (const char* name : documents) docs.push_back(load(name));
  docs.push_back(with_root(weird));
  for (const auto& d : docs) {
    for (const auto& [k, v] : nfd_labels(render(d, "nfd"))) {
      CAPTURE(k);
      CAPTURE(v);
      CHECK(std::regex_match(k, key));
      CHECK(v.size() <= 63);
      CHECK(std::regex_match(v, value));
    }
  }
  auto labels = nfd_labels(render(with_root(weird), "nfd"));
  CHECK(labels["gpukit.io/nvidia.product.NVIDIA-GeForce-RTX-4090-Founders-Edition-ber-edi"] == "1");
}

const NfdOptions vendor_names{.names = "vendor"};

TEST_CASE("formats: nfd --nfd-names vendor uses GPU Feature Discovery's labels and labels no product on a mixed node") {
  auto h100 = nfd_labels(render(load("nvidia_h100x8"), "nfd", vendor_names));
  CHECK(h100["nvidia.com/gpu.count"] == "8");
  CHECK(h100["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3");
  CHECK(h100["nvidia.com/gpu.memory"] == "81920");
  CHECK(h100["nvidia.com/gpu.family"] == "hopper");
  CHECK(h100["nvidia.com/gpu.compute.major"] == "9");
  CHECK(h100["nvidia.com/gpu.compute.minor"] == "0");
  CHECK(h100["nvidia.com/cuda.driver-version.full"] == "550.54.14");
  CHECK(h100["nvidia.com/cuda.driver-version.revision"] == "14");
  CHECK(h100["nvidia.com/cuda.runtime-version.full"] == "12.4");
  CHECK(h100["nvidia.com/mig.capable"] == "true");
  CHECK(h100["nvidia.com/mig.strategy"] == "none");  // MIG capable, not enabled

  auto mixed = nfd_labels(render(load("nvidia_mixed"), "nfd", vendor_names));
  CHECK(mixed["nvidia.com/gpu.count"] == "4");
  CHECK_FALSE(mixed.count("nvidia.com/gpu.product"));
  CHECK_FALSE(mixed.count("nvidia.com/gpu.family"));
  CHECK_FALSE(mixed.count("nvidia.com/gpu.compute.major"));  // 8 and 9
  CHECK(mixed["gpukit.io/nvidia.heterogeneous"] == "true");
  CHECK(mixed["gpukit.io/nvidia.product.NVIDIA-L4"] == "2");
  CHECK(mixed["gpukit.io/nvidia.product.NVIDIA-H100-PCIe"] == "2");

  auto mig = nfd_labels(render(load("nvidia_a100_mig"), "nfd", vendor_names));
  CHECK(mig["nvidia.com/mig.strategy"] == "mixed");
  CHECK(mig["nvidia.com/mig-3g.20gb.count"] == "1");
  CHECK(mig["nvidia.com/mig-3g.20gb.memory"] == "19968");
  CHECK(mig["nvidia.com/mig-3g.20gb.multiprocessors"] == "42");
  CHECK(mig["nvidia.com/mig-1g.5gb.product"] == "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb");
  CHECK(mig["nvidia.com/gpu.count"] == "2");

  auto amd = nfd_labels(render(load("amd_mi250x"), "nfd", vendor_names));
  CHECK(amd["amd.com/gpu.family"] == "AI");
  CHECK(amd["amd.com/gpu.device-id"] == "740c");
  CHECK(amd["amd.com/gpu.product-name"] == "AMD_Instinct_MI250X");
  CHECK(amd["amd.com/gpu.vram"] == "64G");
  CHECK(amd["amd.com/gpu.cu-count"] == "110");
  CHECK(amd["amd.com/gpu.driver-version"] == "6.8.5");
  CHECK(amd["gpukit.io/amdgpu.gfx"] == "gfx90a");
  CHECK(amd["gpukit.io/amdgpu.xnack"] == "off");
  CHECK(amd["gpukit.io/amdgpu.sramecc"] == "on");
  CHECK_FALSE(amd.count("nvidia.com/gpu.count"));

  CHECK(nfd_labels(render(load("cpu_only"), "nfd")).empty());
}

TEST_CASE("formats: nfd counts each value when AMD GPUs differ, as the AMD node labeller does") {
  json root = load("amd_mi250x").root();
  root["gpus"][7]["multiprocessors"] = 104;
  root["gpus"][7]["name"] = "AMD Instinct MI250";
  auto labels = nfd_labels(render(with_root(root), "nfd", vendor_names));
  CHECK_FALSE(labels.count("amd.com/gpu.cu-count"));
  CHECK(labels["amd.com/gpu.cu-count.110"] == "7");
  CHECK(labels["amd.com/gpu.cu-count.104"] == "1");
  CHECK(labels["amd.com/gpu.product-name.AMD_Instinct_MI250"] == "1");
}

TEST_CASE("formats: nfd labels a GPU whose driver is missing, and offers none of its GPUs") {
  json root = load("cpu_only").root();
  root["drivers"]["nvidia"]["status"] = "driver_absent";
  root["drivers"]["nvidia"]["reason"] = "NVIDIA GPU on the PCI bus but no nvidia kernel module";
  CHECK(nfd_labels(render(with_root(root), "nfd", vendor_names))["gpukit.io/nvidia.driver-status"] == "driver_absent");

  // GPUs in the inventory whose driver failed: present, not usable.
  json h100 = load("nvidia_h100x8").root();
  h100["drivers"]["nvidia"]["status"] = "init_failed";
  for (const NfdOptions& o : {NfdOptions{}, vendor_names}) {
    auto labels = nfd_labels(render(with_root(h100), "nfd", o));
    CHECK(labels["gpukit.io/nvidia.driver-status"] == "init_failed");
    CHECK(labels["gpukit.io/nvidia.gpu.unusable"] == "8");
    for (const auto& [k, v] : labels) {
      CAPTURE(k);
      CHECK(k.find("gpu.count") == std::string::npos);
      CHECK(k.find("gpu.product") == std::string::npos);
      CHECK(k.find("gpu.memory") == std::string::npos);
    }
  }
  // One GPU whose kernel module is not loaded.
  json one = load("nvidia_h100x8").root();
  one["gpus"][3]["driver_loaded"] = false;
  auto labels = nfd_labels(render(with_root(one), "nfd"));
  CHECK(labels["gpukit.io/nvidia.gpu.count"] == "7");
  CHECK(labels["gpukit.io/nvidia.gpu.unusable"] == "1");
}

TEST_CASE("formats: nfd publishes under gpukit.io by default, beside GFD's and the AMD labeller's names") {
  for (const char* name : documents) {
    CAPTURE(name);
    auto labels = nfd_labels(render(load(name), "nfd"));
    for (const auto& [k, v] : labels) {
      CAPTURE(k);
      CHECK(k.rfind("gpukit.io/", 0) == 0);
    }
    // The same facts as the vendor names, renamed.
    auto vendor = nfd_labels(render(load(name), "nfd", vendor_names));
    CHECK(labels.size() == vendor.size());
    for (const auto& [k, v] : vendor) {
      std::string renamed = k;
      if (k.rfind("nvidia.com/", 0) == 0) renamed = "gpukit.io/nvidia." + k.substr(11);
      if (k.rfind("amd.com/", 0) == 0) renamed = "gpukit.io/amd." + k.substr(8);
      CAPTURE(renamed);
      CHECK(labels[renamed] == v);
    }
  }
  auto h100 = nfd_labels(render(load("nvidia_h100x8"), "nfd"));
  CHECK(h100["gpukit.io/nvidia.gpu.product"] == "NVIDIA-H100-80GB-HBM3");
  CHECK(h100["gpukit.io/nvidia.gpu.count"] == "8");
  auto amd = nfd_labels(render(load("amd_mi250x"), "nfd"));
  CHECK(amd["gpukit.io/amd.gpu.product-name"] == "AMD_Instinct_MI250X");
}

TEST_CASE("formats: nfd mig.strategy from the node's MIG state or the option") {
  auto mixed = nfd_labels(render(load("nvidia_a100_mig"), "nfd"));
  CHECK(mixed["gpukit.io/nvidia.mig.strategy"] == "mixed");  // two profiles
  // Every GPU split into one profile: single, and the GPU labels describe it.
  json root = load("nvidia_a100_mig").root();
  for (auto& gpu : root["gpus"]) {
    gpu["mig"]["mode"] = "enabled";
    json inst = root["gpus"][0]["mig"]["instances"][0];
    gpu["mig"]["instances"] = json::array({inst, inst});
  }
  auto single = nfd_labels(render(with_root(root), "nfd", vendor_names));
  CHECK(single["nvidia.com/mig.strategy"] == "single");
  std::string profile = root["gpus"][0]["mig"]["instances"][0]["profile"];
  CHECK(single["nvidia.com/gpu.count"] == std::to_string(2 * root["gpus"].size()));
  CHECK(single["nvidia.com/gpu.product"].find("-MIG-" + profile) != std::string::npos);
  CHECK_FALSE(single.count("nvidia.com/mig-" + profile + ".count"));
  // The option: mixed on the same node keeps one resource per profile.
  NfdOptions as_mixed = vendor_names;
  as_mixed.mig_strategy = "mixed";
  auto forced = nfd_labels(render(with_root(root), "nfd", as_mixed));
  CHECK(forced["nvidia.com/mig.strategy"] == "mixed");
  CHECK(forced["nvidia.com/mig-" + profile + ".count"] == std::to_string(2 * root["gpus"].size()));
  // single on a node with two profiles cannot be: a usage error naming the option.
  NfdOptions as_single;
  as_single.mig_strategy = "single";
  auto bad = render_probe(load("nvidia_a100_mig"), "nfd", as_single);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().context == "--nfd-mig-strategy");
  NfdOptions none;
  none.mig_strategy = "none";
  auto off = nfd_labels(render(load("nvidia_a100_mig"), "nfd", none));
  CHECK(off["gpukit.io/nvidia.mig.strategy"] == "none");
  for (const auto& [k, v] : off) CHECK(k.find("mig-") == std::string::npos);
}

TEST_CASE("formats: nfd --nfd-expiry heads the labels with NFD's expiry-time directive") {
  NfdOptions o;
  o.expiry = "90m";
  o.now = 1764806400;  // 2025-12-04T00:00:00Z
  auto text = render(load("nvidia_h100x8"), "nfd", o);
  auto l = lines(text);
  REQUIRE(l.size() > 2);
  CHECK(l[1] == "# +expiry-time=2025-12-04T01:30:00Z");
  for (std::size_t i = 2; i < l.size(); ++i) CHECK(l[i][0] != '#');  // every label after it
  o.expiry = "soon";
  auto bad = render_probe(load("nvidia_h100x8"), "nfd", o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().context == "--nfd-expiry");
  o.expiry = "0s";
  CHECK_FALSE(render_probe(load("nvidia_h100x8"), "nfd", o).ok());
  // NFD options with another format are a usage error.
  NfdOptions names = vendor_names;
  auto misplaced = render_probe(load("nvidia_h100x8"), "classad", names);
  REQUIRE_FALSE(misplaced.ok());
  CHECK(misplaced.error().what().find("for --format nfd only") != std::string::npos);
}

TEST_CASE("formats: gres lines with device files, Slurm types and core indices") {
  auto h100 = lines(render(load("nvidia_h100x8"), "gres"));
  REQUIRE(h100.size() == 10);
  CHECK(h100[0] == "# Slurm gres.conf from gpukit " + std::string(version()) + " on dgx-h100-01");
  CHECK(h100[1] == "AutoDetect=off");
  CHECK(h100[2] == "Name=gpu Type=nvidia_h100_80gb_hbm3 File=/dev/nvidia0 Cores=0-55");
  CHECK(h100[9] == "Name=gpu Type=nvidia_h100_80gb_hbm3 File=/dev/nvidia7 Cores=56-111");

  std::string mig = render(load("nvidia_a100_mig"), "gres");
  CHECK(mig.find("Name=gpu Type=nvidia_a100_3g.20gb MultipleFiles=/dev/nvidia0,/dev/nvidia-caps/nvidia-cap21,"
                 "/dev/nvidia-caps/nvidia-cap22 Cores=0-31\n") != std::string::npos);
  CHECK(mig.find("# MIG-207f657b-6f50-5c1a-94f0-01d07ff4cdb0 (nvidia_a100_1g.5gb on /dev/nvidia0): nvidia-caps minors unknown") !=
        std::string::npos);
  CHECK(mig.find("gpu0/gi9/access and gpu0/gi9/ci0/access") != std::string::npos);
  CHECK(mig.find("Name=gpu Type=nvidia_a100-sxm4-40gb File=/dev/nvidia1 Cores=0-31\n") != std::string::npos);

  std::string amd = render(load("amd_mi250x"), "gres");
  CHECK(amd.find("Name=gpu Type=amd_instinct_mi250x File=/dev/dri/renderD128 Cores=48-63\n") != std::string::npos);
  CHECK(amd.find("Name=gpu Type=amd_instinct_mi250x File=/dev/dri/renderD135 Cores=32-47\n") != std::string::npos);

  CHECK(lines(render(load("cpu_only"), "gres")).back() == "# no GPUs on this node");
}

TEST_CASE("formats: gres says what it could not know") {
  json root = load("nvidia_h100x8").root();
  root["gpus"][0].erase("device_minor");
  root["cpu"]["threads"] = 160;  // not a multiple of the cores: no core mapping
  root["gpus"][1]["driver_loaded"] = false;
  auto l = lines(render(with_root(root), "gres"));
  CHECK(l[1] == "# /dev/nvidiaN: the probe did not report device minor numbers; N is the NVML index, which usually equals it");
  CHECK(l[2] == "# Cores= left out: the cpu section does not show how CPUs map to cores (Slurm wants core indices)");
  CHECK(l[3] == "# GPU-7d21b8e4-3f6a-4c2d-8e1f-2b3c4d5e6f02 (NVIDIA H100 80GB HBM3): no driver bound, so no device file");
  CHECK(l[4] == "AutoDetect=off");
  CHECK(l[5] == "Name=gpu Type=nvidia_h100_80gb_hbm3 File=/dev/nvidia0");

  root = load("amd_mi250x").root();
  root["gpus"][3].erase("drm_render_minor");
  std::string amd = render(with_root(root), "gres");
  CHECK(amd.find("# GPU-5b7c9d1e3f2a4b64 (AMD Instinct MI250X): render node unknown") != std::string::npos);
}

TEST_CASE("formats: the table shows drivers, GPUs, MIG instances and what this process may use") {
  std::string t = render(load("nvidia_a100_mig"), "table");
  CHECK(t.find("memory: 504 GiB total, 464 GiB available; memlock 64 KiB; cgroup limit 64 GiB") != std::string::npos);
  CHECK(t.find("nvidia: ok: driver 550.54.14, CUDA 12.4, 2 GPUs, via nvml") != std::string::npos);
  CHECK(t.find("  MIG 3g.20gb") != std::string::npos);
  CHECK(t.find("This process may use: CUDA_VISIBLE_DEVICES=\"MIG-0caf1ce3") != std::string::npos);

  CHECK(t.find("generator") == std::string::npos);
  CHECK(render(load("amd_mi250x"), "table").find(": 1 socket, 64 cores, 128 threads, 4 NUMA nodes;") != std::string::npos);

  std::string cpu = render(load("cpu_only"), "table");
  CHECK(cpu.find("No GPUs found.") != std::string::npos);
  CHECK(cpu.find("  no GPU\n") != std::string::npos);

  json root = load("nvidia_h100x8").root();
  root["visible"]["problems"] = json::array({"CUDA_VISIBLE_DEVICES: '9' is not a device index here."});
  CHECK(render(with_root(root), "table").find("  problem: CUDA_VISIBLE_DEVICES: '9' is not a device index here.\n") !=
        std::string::npos);
}
